#include "collect/python_targets.h"

#include <cstdio>
#include <utility>

namespace memtrace {
namespace {

void append_utf8(std::string &out, uint32_t c)
{
    if (c < 0x80) {
        out += static_cast<char>(c);
    } else if (c < 0x800) {
        out += static_cast<char>(0xc0 | (c >> 6));
        out += static_cast<char>(0x80 | (c & 63));
    } else if (c < 0x10000) {
        out += static_cast<char>(0xe0 | (c >> 12));
        out += static_cast<char>(0x80 | ((c >> 6) & 63));
        out += static_cast<char>(0x80 | (c & 63));
    } else if (c < 0x110000) {
        out += static_cast<char>(0xf0 | (c >> 18));
        out += static_cast<char>(0x80 | ((c >> 12) & 63));
        out += static_cast<char>(0x80 | ((c >> 6) & 63));
        out += static_cast<char>(0x80 | (c & 63));
    } else {
        out += "\xef\xbf\xbd"; // U+FFFD
    }
}

// CPython's compact text: `kind` bytes per character (latin-1, UCS-2, UCS-4).
std::string text_of(const char *data, size_t capacity, uint32_t length, uint8_t kind)
{
    if (kind != 1 && kind != 2 && kind != 4)
        return "";
    std::string out;
    for (size_t i = 0; i < length && (i + 1) * kind <= capacity; ++i) {
        uint32_t c = 0;
        for (size_t b = 0; b < kind; ++b)
            c |= static_cast<uint32_t>(static_cast<uint8_t>(data[i * kind + b])) << (8 * b);
        append_utf8(out, c);
    }
    return out;
}

} // namespace

PythonCode python_code_of(const mt_py_code &copy)
{
    PythonCode code;
    code.qualname = text_of(copy.qualname, sizeof(copy.qualname), copy.qualname_len, copy.qualname_kind);
    code.filename = text_of(copy.filename, sizeof(copy.filename), copy.filename_len, copy.filename_kind);
    code.firstlineno = copy.firstlineno;
    const uint32_t n = copy.linetable_len < MT_PY_LINETABLE ? copy.linetable_len : MT_PY_LINETABLE;
    code.linetable.assign(copy.linetable, copy.linetable + n);
    return code;
}

void PythonTargets::unsupported(const ModuleFile &file, const PythonVersion &version)
{
    const std::string v = std::to_string(version.major) + "." + std::to_string(version.minor);
    if (!warned_.insert(v).second)
        return;
    progress_.warning(file.path + ": Python " + v + " is not supported (" + supported_python_versions() +
                      (functions_only_ ? " are): -f py: cannot trace its functions"
                                       : " are): its stacks show the interpreter's C frames, not Python's"));
}

const PythonTargets::Interpreter &PythonTargets::interpreter_in(const ModuleFile &file)
{
    auto [it, fresh] = files_.try_emplace(&file);
    if (!fresh)
        return it->second;
    Interpreter &in = it->second;
    ElfOpen elf = ElfFile::try_open(file.open_path);
    if (elf.file) {
        in.binary = find_python(*elf.file);
        in.segments = elf.file->segments();
    }
    if (in.binary) {
        in.layout = python_layout(in.binary->version);
        if (!in.layout)
            unsupported(file, in.binary->version);
    } else if (std::optional<PythonVersion> named = python_version_of_name(file.path)) {
        // before 3.11 (no Py_Version) the runtime cannot be found: say so; a
        // 3.11+ program whose runtime is in its libpython is found there
        if (named->major == 3 && named->minor < 11)
            unsupported(file, *named);
    }
    return in;
}

void PythonTargets::examine(uint32_t pid, const std::vector<ModuleIndex::Mapping> &mappings, bool copies)
{
    for (const ModuleIndex::Mapping &m : mappings) {
        if (!m.file)
            continue;
        const Interpreter &in = interpreter_in(*m.file);
        if (!in.binary || !in.layout)
            continue;
        if (!copies) {
            if (!std::exchange(told_fp_, true))
                progress_.warning(m.file->path + ": Python frames come with stack copies: use "
                                  "--unwind auto (the default) or dwarf; --unwind fp shows the "
                                  "interpreter's C frames");
            return;
        }
        // where the file is loaded: its mapped offset against its segment's address
        for (const LoadSegment &seg : in.segments) {
            const uint64_t page_offset = seg.offset & ~uint64_t{0xfff};
            if (m.offset < page_offset || m.offset >= seg.offset + seg.filesz)
                continue;
            const uint64_t bias = m.start - (seg.vaddr - (seg.offset - m.offset));
            const uint64_t runtime = bias + in.binary->runtime_vaddr;
            auto known = registered_.find(pid);
            if (known != registered_.end() && known->second.first == runtime)
                return;
            const PythonLayout &l = *in.layout;
            mt_py_proc py{};
            py.runtime = runtime;
            py.rt_interp_head = l.rt_interp_head;
            py.rt_tstate_current = l.rt_tstate_current;
            py.is_threads_head = l.is_threads_head;
            py.ts_next = l.ts_next;
            py.ts_thread_id = l.ts_thread_id;
            py.ts_cframe = l.ts_cframe;
            py.current_frame = l.current_frame;
            py.fr_code = l.fr_code;
            py.fr_previous = l.fr_previous;
            py.fr_instr = l.fr_instr;
            py.fr_is_entry = l.fr_is_entry;
            py.fr_owner = l.fr_owner;
            py.co_qualname = l.co_qualname;
            py.co_filename = l.co_filename;
            py.co_firstlineno = l.co_firstlineno;
            py.co_linetable = l.co_linetable;
            py.co_code = l.co_code;
            py.str_ascii_data = l.str_ascii_data;
            py.str_compact_data = l.str_compact_data;
            kernel_.set_python(pid, py);
            processes_ += registered_.count(pid) == 0;
            registered_[pid] = {runtime, l};
            return;
        }
    }
}

const PythonCode *PythonTargets::code(uint32_t pid, const PyFrameRef &ref)
{
    auto [it, fresh] = codes_.try_emplace({pid, ref.code, ref.names});
    if (fresh)
        if (std::optional<mt_py_code> copy = kernel_.read_py_code(pid, ref.code, ref.names))
            it->second = python_code_of(*copy);
    return it->second ? &*it->second : nullptr;
}

uint32_t PythonTargets::call_instr(uint32_t pid, uint32_t instr) const
{
    auto known = registered_.find(pid);
    const bool instr_is_next = known != registered_.end() && known->second.second.instr_is_next;
    if (instr_is_next && instr != UINT32_MAX && instr >= 2)
        instr -= 2; // the call in progress, not what follows it
    return instr;
}

int PythonTargets::line(uint32_t pid, const PyFrameRef &ref)
{
    const PythonCode *c = code(pid, ref);
    if (!c || ref.instr == UINT32_MAX)
        return -1;
    return c ? python_line(*c, call_instr(pid, ref.instr)) : -1;
}

std::vector<RawUserFrame> PythonTargets::frames(uint32_t pid, const std::vector<PyFrameRef> &refs,
                                                bool truncated)
{
    std::vector<RawUserFrame> out;
    for (const PyFrameRef &ref : refs) {
        RawUserFrame f;
        f.kind = RawUserFrame::Python;
        f.value = ref.entry ? 1 : 0;
        if (const PythonCode *c = code(pid, ref)) {
            f.name = python_frame_text(*c, call_instr(pid, ref.instr));
        } else {
            char text[64];
            std::snprintf(text, sizeof(text), "[python code 0x%llx]",
                          static_cast<unsigned long long>(ref.code));
            f.name = text;
        }
        out.push_back(std::move(f));
    }
    if (truncated && !out.empty()) {
        // the outer frames were not read: said where they would be
        out.back().value = 1;
        RawUserFrame more;
        more.kind = RawUserFrame::Python;
        more.name = "[more Python frames]";
        more.value = 1;
        out.push_back(std::move(more));
    }
    return out;
}

void PythonTargets::forget(uint32_t pid)
{
    registered_.erase(pid);
    codes_.erase(codes_.lower_bound({pid, 0, 0}), codes_.lower_bound({pid + 1, 0, 0}));
}

} // namespace memtrace
