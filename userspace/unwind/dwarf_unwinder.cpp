#include "unwind/dwarf_unwinder.h"

#include <dwarf.h>
#include <elfutils/libdwfl.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "symbols/debug_file.h"
#include "symbols/elf_file.h"
#include "symbols/elfutils.h"
#include "symbols/go_functions.h"
#include "symbols/regular_file.h"

namespace memtrace {

namespace {

// x86-64 DWARF register numbers (System V psABI).
constexpr int kDwarfRbp = 6;
constexpr int kDwarfRsp = 7;
// Bytes above the copy still taken for the stack: reads there mean the copy was short.
constexpr uint64_t kStackReach = 8u << 20;
// Address spaces kept ready (LRU): each holds its modules' parsed CFI and
// symbol tables (libLLVM's are megabytes), so -a on a busy machine keeps few.
constexpr size_t kMaxProcesses = 16;

// A module's userdata: the file's Elf, which every process's Dwfl shares
// (one mapping of cc1plus, not one per process), and where its debug file
// is searched (nullptr: not searched).
struct ModuleData {
    Elf *elf = nullptr;
    const std::string *path = nullptr; // where debug files are searched by debuglink
    const std::vector<std::string> *debug_dirs = nullptr;
};

ModuleData *module_data(void **userdata)
{
    return userdata ? static_cast<ModuleData *>(*userdata) : nullptr;
}

int find_shared_elf(Dwfl_Module *, void **userdata, const char *, Dwarf_Addr, char **file_name, Elf **elfp)
{
    if (ModuleData *d = module_data(userdata); d && d->elf) {
        *elfp = elf_begin(-1, ELF_C_READ_MMAP, d->elf); // one more reference to it
        if (*elfp && file_name && d->path)
            *file_name = strdup(d->path->c_str()); // libdwfl frees it
    }
    return -1;
}

int find_debuginfo_unless_eh_frame(Dwfl_Module *mod, void **userdata, const char *modname,
                                   Dwarf_Addr base, const char *file_name, const char *debuglink_file,
                                   GElf_Word debuglink_crc, char **debuginfo_file_name)
{
    ModuleData *d = module_data(userdata);
    if (!d || !d->debug_dirs)
        return -1;
    void *dirs = const_cast<std::vector<std::string> *>(d->debug_dirs);
    return find_debuginfo_nonblocking(mod, &dirs, modname, base, file_name, debuglink_file,
                                      debuglink_crc, debuginfo_file_name);
}

// Where libdwfl expects a module whose file is loaded at `bias`: from its
// first PT_LOAD (aligned down) to the end of its last.
std::optional<std::pair<uint64_t, uint64_t>> module_range(Elf *elf, uint64_t bias)
{
    size_t phnum = 0;
    if (elf_getphdrnum(elf, &phnum) != 0)
        return std::nullopt;
    std::optional<uint64_t> start;
    uint64_t end = 0;
    for (size_t i = 0; i < phnum; ++i) {
        GElf_Phdr ph;
        if (!gelf_getphdr(elf, static_cast<int>(i), &ph) || ph.p_type != PT_LOAD)
            continue;
        if (!start)
            start = ph.p_vaddr & -(ph.p_align ? ph.p_align : 1);
        end = std::max<uint64_t>(end, ph.p_vaddr + ph.p_memsz);
    }
    if (!start)
        return std::nullopt;
    return std::make_pair(*start + bias, end + bias);
}

// Entry stubs (_start, ld.so's _start/_dl_start_user) are the outermost code
// of a thread; some have no CFI saying so.
bool at_entry_point(Dwfl_Module *mod, Dwarf_Addr pc)
{
    Dwarf_Addr bias = 0;
    Elf *elf = dwfl_module_getelf(mod, &bias);
    GElf_Ehdr ehdr;
    if (!elf || !gelf_getehdr(elf, &ehdr) || ehdr.e_entry == 0)
        return false;
    Dwarf_Addr entry = ehdr.e_entry + bias;
    return pc >= entry && pc < entry + 256;
}

// Is pc the first instruction of a function (a symbol's start, or the
// DT_INIT/DT_FINI code that crti.o brings without CFI)? There nothing is
// pushed yet: the return address is at [sp], whatever the function's CFI.
bool at_function_start(Dwfl_Module *mod, Dwarf_Addr pc)
{
    GElf_Off offset = 0;
    GElf_Sym sym;
    if (dwfl_module_addrinfo(mod, pc, &offset, &sym, nullptr, nullptr, nullptr) && offset == 0)
        return true;
    Dwarf_Addr bias = 0;
    Elf *elf = dwfl_module_getelf(mod, &bias);
    Elf_Scn *scn = nullptr;
    while (elf && (scn = elf_nextscn(elf, scn))) {
        GElf_Shdr shdr;
        if (!gelf_getshdr(scn, &shdr) || shdr.sh_type != SHT_DYNAMIC)
            continue;
        Elf_Data *data = elf_getdata(scn, nullptr);
        for (size_t i = 0; data && shdr.sh_entsize && i < shdr.sh_size / shdr.sh_entsize; ++i) {
            GElf_Dyn dyn;
            if (gelf_getdyn(data, static_cast<int>(i), &dyn) &&
                (dyn.d_tag == DT_INIT || dyn.d_tag == DT_FINI) && dyn.d_un.d_ptr + bias == pc)
                return true;
        }
    }
    return false;
}

// Does the module's CFI (.eh_frame or .debug_frame) cover pc?
bool has_cfi_for(Dwfl_Module *mod, Dwarf_Addr pc)
{
    for (bool eh : {true, false}) {
        Dwarf_Addr bias = 0;
        Dwarf_CFI *cfi = eh ? dwfl_module_eh_cfi(mod, &bias) : dwfl_module_dwarf_cfi(mod, &bias);
        Dwarf_Frame *frame = nullptr;
        if (cfi && dwarf_cfi_addrframe(cfi, pc - bias, &frame) == 0) {
            free(frame);
            return true;
        }
    }
    return false;
}

// The snapshot one frame out: as if the function at ip had returned at once.
StackSnapshot caller_of_function_start(const StackSnapshot &s)
{
    StackSnapshot out;
    out.pid = s.pid;
    out.tid = s.tid;
    std::memcpy(&out.ip, s.stack.data(), sizeof(out.ip));
    out.sp = s.sp + sizeof(uint64_t);
    out.bp = s.bp;
    out.stack.assign(s.stack.begin() + sizeof(uint64_t), s.stack.end());
    out.ended_early = s.ended_early;
    return out;
}

} // namespace

const char *unwind_end_name(UnwindEnd end)
{
    switch (end) {
    case UnwindEnd::Complete:
        return "complete";
    case UnwindEnd::NoCfi:
        return "no CFI";
    case UnwindEnd::StackTooShort:
        return "stack copy too short";
    case UnwindEnd::UnknownCode:
        return "code in no mapped file";
    case UnwindEnd::TooDeep:
        return "too deep";
    case UnwindEnd::Failed:
        return "CFI not applicable";
    case UnwindEnd::OtherStack:
        return "frame chain leaves the copied stack";
    }
    return "?";
}

// One address space as libdwfl sees it: the files the process mapped, at
// their addresses, with the current snapshot as its only thread.
struct DwarfUnwinder::Process {
    DwarfUnwinder *owner = nullptr;
    pid_t pid = 0;
    Dwfl_Callbacks callbacks{}; // before dwfl, which points to it
    DwflPtr dwfl;
    uint64_t generation = 0;
    uint64_t last_use = 0;
    std::map<const ModuleFile *, uint64_t> modules; // reported to dwfl, at their load bias
    std::map<const ModuleFile *, ModuleData> data;  // their userdata
    // the unwind in progress
    const StackSnapshot *snapshot = nullptr;
    std::vector<uint64_t> *pcs = nullptr;
    size_t max_frames = 0;
    bool beyond_copy = false;
    bool too_deep = false;
    bool no_cfi = false; // stopped at a frame libdwfl has no CFI for

    static pid_t next_thread(Dwfl *, void *dwfl_arg, void **thread_argp)
    {
        auto *self = static_cast<Process *>(dwfl_arg);
        if (*thread_argp)
            return 0; // one thread: the sampled one
        *thread_argp = self;
        return self->tid();
    }

    static bool get_thread(Dwfl *, pid_t, void *dwfl_arg, void **thread_argp)
    {
        *thread_argp = dwfl_arg;
        return true;
    }

    static bool memory_read(Dwfl *, Dwarf_Addr address, Dwarf_Word *result, void *dwfl_arg)
    {
        auto *self = static_cast<Process *>(dwfl_arg);
        const StackSnapshot &s = *self->snapshot;
        if (address >= s.sp && address - s.sp <= s.stack.size() &&
            s.stack.size() - (address - s.sp) >= sizeof(*result)) {
            std::memcpy(result, s.stack.data() + (address - s.sp), sizeof(*result));
            return true;
        }
        if (address >= s.sp && address - s.sp < s.stack.size() + kStackReach) {
            // the stack, but not copied: unless the copy reached its top
            self->beyond_copy = !s.ended_early;
            return false;
        }
        uint64_t word = 0;
        if (!self->owner->read_file_word(address, self->pid, &word))
            return false;
        *result = word;
        return true;
    }

    static bool set_initial_registers(Dwfl_Thread *thread, void *thread_arg)
    {
        const StackSnapshot &s = *static_cast<Process *>(thread_arg)->snapshot;
        static_assert(kDwarfRsp == kDwarfRbp + 1);
        const Dwarf_Word regs[2] = {s.bp, s.sp};
        if (!dwfl_thread_state_registers(thread, kDwarfRbp, 2, regs))
            return false;
        dwfl_thread_state_register_pc(thread, s.ip);
        return true;
    }

    static int on_frame(Dwfl_Frame *frame, void *arg)
    {
        auto *self = static_cast<Process *>(arg);
        Dwarf_Addr pc = 0;
        bool activation = false;
        if (!dwfl_frame_pc(frame, &pc, &activation))
            return DWARF_CB_ABORT;
        self->pcs->push_back(pc);
        // Where libdwfl has no CFI for the code (no module there, or one
        // without CFI) it guesses the caller from the frame pointer: wrong in
        // code built without them, which skips the real caller. Stop here;
        // the report says why.
        Dwarf_Addr bias = 0;
        Dwfl_Module *mod = dwfl_addrmodule(self->dwfl.get(), activation ? pc : pc - 1);
        if (!mod || (!dwfl_module_eh_cfi(mod, &bias) && !dwfl_module_dwarf_cfi(mod, &bias))) {
            self->no_cfi = true;
            return DWARF_CB_ABORT;
        }
        if (self->pcs->size() >= self->max_frames) {
            self->too_deep = true;
            return DWARF_CB_ABORT;
        }
        return DWARF_CB_OK;
    }

    pid_t tid() const { return snapshot && snapshot->tid ? static_cast<pid_t>(snapshot->tid) : pid; }
};

DwarfUnwinder::DwarfUnwinder(const ModuleIndex &index, const std::vector<std::string> &debug_dirs,
                             size_t max_frames)
    : index_(index), debug_dirs_(debug_dirs), max_frames_(max_frames)
{
    debuginfo_path_ = dwfl_debuginfo_path(debug_dirs);
    debuginfo_ptr_ = debuginfo_path_.data();
}

DwarfUnwinder::~DwarfUnwinder()
{
    processes_.clear(); // their modules hold references to the shared Elfs
}

void DwarfUnwinder::forget(pid_t pid)
{
    processes_.erase(pid);
}

void DwarfUnwinder::forget_files(const std::set<const ModuleFile *> &files)
{
    if (files.empty())
        return;
    processes_.clear(); // rebuilt from the mappings at their next sample
    for (const ModuleFile *file : files) {
        elves_.erase(file);
        layouts_.erase(file);
        fds_.erase(file);
        go_files_.erase(file);
    }
}

bool DwarfUnwinder::read_file_word(uint64_t address, pid_t pid, uint64_t *out)
{
    const auto *mappings = index_.mappings(pid);
    if (!mappings)
        return false;
    for (const ModuleIndex::Mapping &m : *mappings) {
        if (address < m.start || address + sizeof(*out) > m.end || !m.file)
            continue;
        auto [it, fresh] = fds_.try_emplace(m.file);
        if (fresh)
            it->second = open_regular_file(m.file->open_path).fd;
        if (!it->second)
            return false;
        off_t at = static_cast<off_t>(address - m.start + m.offset);
        return pread(it->second.get(), out, sizeof(*out), at) == static_cast<ssize_t>(sizeof(*out));
    }
    return false;
}

const DwarfUnwinder::FileLayout &DwarfUnwinder::layout(const ModuleFile *file)
{
    auto [it, fresh] = layouts_.try_emplace(file);
    if (fresh) {
        // Unreadable or not ELF: no segments, never reported, whatever the reason.
        if (ElfOpen elf = ElfFile::try_open(file->open_path); elf.file) {
            it->second.segments = elf.file->segments();
            it->second.eh_frame = elf.file->section(".eh_frame").has_value();
        }
    }
    return it->second;
}

std::optional<uint64_t> DwarfUnwinder::load_bias(const ModuleIndex::Mapping &m)
{
    const std::vector<LoadSegment> &segments = layout(m.file).segments;
    // where the mapped file offset sits against its segment's address
    for (const LoadSegment &seg : segments) {
        uint64_t page_offset = seg.offset & ~uint64_t{0xfff};
        if (m.offset >= page_offset && m.offset < seg.offset + seg.filesz)
            return m.start - (seg.vaddr - (seg.offset - m.offset));
    }
    return std::nullopt;
}

std::map<const ModuleFile *, uint64_t> DwarfUnwinder::modules_of(const std::vector<ModuleIndex::Mapping> &mappings)
{
    std::map<const ModuleFile *, uint64_t> modules;
    for (const ModuleIndex::Mapping &m : mappings)
        if (m.file && !modules.count(m.file))
            if (std::optional<uint64_t> bias = load_bias(m))
                modules.emplace(m.file, *bias);
    return modules;
}

Elf *DwarfUnwinder::shared_elf(const ModuleFile &file)
{
    auto [it, fresh] = elves_.try_emplace(&file);
    if (fresh) {
        it->second.fd = open_regular_file(file.open_path).fd;
        if (it->second.fd)
            it->second.elf.reset(elf_begin(it->second.fd.get(), ELF_C_READ_MMAP, nullptr));
    }
    return it->second.elf.get();
}

void DwarfUnwinder::report(Process &p, const ModuleFile &file, uint64_t bias)
{
    Elf *elf = p.owner->shared_elf(file);
    auto range = elf ? module_range(elf, bias) : std::nullopt;
    if (!range)
        return;
    // Named by its real path: debug files are searched beside it.
    Dwfl_Module *mod = dwfl_report_module(p.dwfl.get(), file.path.c_str(), range->first, range->second);
    void **userdata = nullptr;
    if (!mod || !dwfl_module_info(mod, &userdata, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr) ||
        !userdata)
        return;
    // A file with .eh_frame unwinds by it: its debug file (libc's is 30 MiB
    // here), which libdwfl would open for .debug_frame at a thread's outermost
    // frame and for .symtab, stays closed.
    const bool eh_frame = p.owner->layout(&file).eh_frame;
    ModuleData &data = p.data[&file];
    data = {elf, &file.path, eh_frame ? nullptr : &p.owner->debug_dirs_};
    *userdata = &data;
}

DwarfUnwinder::Process *DwarfUnwinder::process(pid_t pid)
{
    uint64_t generation = index_.generation(pid);
    auto found = processes_.find(pid);
    if (found != processes_.end() && found->second->generation == generation) {
        found->second->last_use = ++uses_;
        return found->second.get();
    }
    const auto *mappings = index_.mappings(pid);
    if (!mappings) {
        if (found != processes_.end())
            processes_.erase(found);
        return nullptr;
    }
    std::map<const ModuleFile *, uint64_t> modules = modules_of(*mappings);
    if (found != processes_.end()) {
        Process &p = *found->second;
        // Code only added since (ld.so loading libraries, dlopen): the new files
        // join the same Dwfl, where the CFI already parsed stays. Code gone or
        // moved: report all again.
        bool only_added = std::all_of(p.modules.begin(), p.modules.end(), [&](const auto &known) {
            auto now = modules.find(known.first);
            return now != modules.end() && now->second == known.second;
        });
        if (only_added) {
            dwfl_report_begin_add(p.dwfl.get());
            for (const auto &[file, bias] : modules)
                if (!p.modules.count(file))
                    report(p, *file, bias);
            dwfl_report_end(p.dwfl.get(), nullptr, nullptr);
            p.modules = std::move(modules);
            p.generation = generation;
            p.last_use = ++uses_;
            return &p;
        }
        processes_.erase(found);
    }
    if (processes_.size() >= kMaxProcesses) {
        auto oldest = processes_.begin();
        for (auto it = processes_.begin(); it != processes_.end(); ++it)
            if (it->second->last_use < oldest->second->last_use)
                oldest = it;
        processes_.erase(oldest);
    }

    auto p = std::make_unique<Process>();
    p->owner = this;
    p->pid = pid;
    p->generation = generation;
    p->last_use = ++uses_;
    p->callbacks.find_elf = find_shared_elf;
    p->callbacks.find_debuginfo = find_debuginfo_unless_eh_frame;
    p->callbacks.debuginfo_path = &debuginfo_ptr_;
    p->dwfl.reset(dwfl_begin(&p->callbacks));
    if (!p->dwfl)
        return nullptr;
    dwfl_report_begin(p->dwfl.get());
    for (const auto &[file, bias] : modules)
        report(*p, *file, bias);
    dwfl_report_end(p->dwfl.get(), nullptr, nullptr);
    p->modules = std::move(modules);
    static const Dwfl_Thread_Callbacks thread_callbacks = {
        Process::next_thread, Process::get_thread, Process::memory_read,
        Process::set_initial_registers, nullptr, nullptr,
    };
    if (!dwfl_attach_state(p->dwfl.get(), nullptr, pid, &thread_callbacks, p.get()))
        return nullptr;
    Process *raw = p.get();
    processes_[pid] = std::move(p);
    return raw;
}

// Walks the frame pointer chain in the copied stack: Go code keeps frame
// pointers and has little CFI (none when stripped).
static UnwoundStack walk_frame_pointers(const StackSnapshot &s, size_t max_frames)
{
    UnwoundStack out;
    out.pcs.push_back(s.ip);
    uint64_t bp = s.bp;
    while (true) {
        if (bp == 0) {
            out.end = UnwindEnd::Complete; // the outermost frame clears it
            return out;
        }
        if (bp < s.sp || bp - s.sp > s.stack.size() || s.stack.size() - (bp - s.sp) < 16) {
            out.end = s.ended_early && bp >= s.sp ? UnwindEnd::Complete : UnwindEnd::StackTooShort;
            return out;
        }
        uint64_t next = 0, ret = 0;
        std::memcpy(&next, s.stack.data() + (bp - s.sp), 8);
        std::memcpy(&ret, s.stack.data() + (bp - s.sp) + 8, 8);
        if (ret == 0) {
            out.end = UnwindEnd::Complete;
            return out;
        }
        if (out.pcs.size() >= max_frames) {
            out.end = UnwindEnd::TooDeep;
            return out;
        }
        out.pcs.push_back(ret);
        if (next != 0 && next <= bp) {
            out.end = UnwindEnd::OtherStack; // up the stack, or to another one (morestack, systemstack)
            return out;
        }
        bp = next;
    }
}

bool DwarfUnwinder::in_go_code(const StackSnapshot &snapshot)
{
    MappedAddress where = index_.find(static_cast<pid_t>(snapshot.pid), snapshot.ip);
    if (!where.file)
        return false;
    auto [it, fresh] = go_files_.try_emplace(where.file, false);
    if (fresh)
        if (ElfOpen elf = ElfFile::try_open(where.file->open_path); elf.file)
            it->second = is_go_program(*elf.file);
    return it->second;
}

UnwoundStack DwarfUnwinder::unwind(const StackSnapshot &snapshot)
{
    if (in_go_code(snapshot))
        return walk_frame_pointers(snapshot, max_frames_);
    // A sample at a function's first instruction (its code faulted in) in code
    // without CFI, such as a library's _init from crti.o: the caller is at [sp].
    Process *p = snapshot.stack.size() >= sizeof(uint64_t) ? process(static_cast<pid_t>(snapshot.pid)) : nullptr;
    Dwfl_Module *mod = p ? dwfl_addrmodule(p->dwfl.get(), snapshot.ip) : nullptr;
    if (!mod || has_cfi_for(mod, snapshot.ip) || !at_function_start(mod, snapshot.ip))
        return unwind_once(snapshot);
    UnwoundStack outer = unwind_once(caller_of_function_start(snapshot));
    if (outer.pcs.empty() || outer.pcs.front() == 0)
        return unwind_once(snapshot);
    // the caller's pc is a return address: after the leaf it is read as one (pc - 1)
    outer.pcs.insert(outer.pcs.begin(), snapshot.ip);
    return outer;
}

UnwoundStack DwarfUnwinder::unwind_once(const StackSnapshot &snapshot)
{
    UnwoundStack out;
    Process *p = process(static_cast<pid_t>(snapshot.pid));
    if (!p) {
        out.pcs.push_back(snapshot.ip);
        out.end = UnwindEnd::UnknownCode;
        return out;
    }
    p->snapshot = &snapshot;
    p->pcs = &out.pcs;
    p->max_frames = max_frames_;
    p->beyond_copy = false;
    p->too_deep = false;
    p->no_cfi = false;
    int rc = dwfl_getthread_frames(p->dwfl.get(), p->tid(), Process::on_frame, p);
    p->snapshot = nullptr;
    p->pcs = nullptr;
    while (out.pcs.size() > 1 && out.pcs.back() == 0)
        out.pcs.pop_back(); // a zero return address ends some stacks
    if (out.pcs.empty())
        out.pcs.push_back(snapshot.ip);
    if (p->too_deep) {
        out.end = UnwindEnd::TooDeep;
    } else if (p->beyond_copy) {
        out.end = UnwindEnd::StackTooShort; // libdwfl may take the unreadable frame for the last
    } else if (rc == 0 && !p->no_cfi) {
        out.end = UnwindEnd::Complete;
    } else {
        // Why the last frame could not be unwound: the code it is in.
        Dwarf_Addr pc = out.pcs.back() - (out.pcs.size() > 1 ? 1 : 0);
        Dwfl_Module *mod = dwfl_addrmodule(p->dwfl.get(), pc);
        Dwarf_Addr bias = 0;
        if (!mod)
            out.end = UnwindEnd::UnknownCode;
        else if (at_entry_point(mod, pc))
            out.end = UnwindEnd::Complete; // the program's (or ld.so's) first code: nothing calls it
        else if (!dwfl_module_eh_cfi(mod, &bias) && !dwfl_module_dwarf_cfi(mod, &bias))
            out.end = UnwindEnd::NoCfi;
        else
            out.end = UnwindEnd::Failed;
    }
    return out;
}

} // namespace memtrace
