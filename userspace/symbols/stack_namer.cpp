#include "symbols/stack_namer.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>

namespace memtrace {

std::string folded_safe(std::string name)
{
    for (char &c : name) {
        if (c == ';')
            c = ':';
        else if (c == '\n' || c == '\r')
            c = ' ';
    }
    return name.empty() ? "[unknown]" : name;
}

StackNamer::StackNamer(const ModuleIndex &index, Symbolizer &symbols, const KernelSymbols *kernel,
                       const std::string &perf_map_dir)
    : index_(index), symbols_(symbols), kernel_(kernel), perf_map_dir_(perf_map_dir)
{
}

const PerfMap &StackNamer::perf_map(pid_t pid)
{
    auto it = perf_maps_.find(pid);
    if (it == perf_maps_.end()) {
        const std::string path = perf_map_dir_ + "/perf-" + std::to_string(pid) + ".map";
        auto uid = uids_.find(static_cast<uint32_t>(pid));
        it = perf_maps_
                 .emplace(pid, uid == uids_.end() ? PerfMap::load(path) : PerfMap::load(path, uid->second))
                 .first;
    }
    return it->second;
}

void StackNamer::forget_process(pid_t pid)
{
    perf_maps_.erase(pid);
    uids_.erase(static_cast<uint32_t>(pid));
}

void StackNamer::forget_files(const std::set<const ModuleFile *> &files)
{
    for (const ModuleFile *file : files) {
        auto first = named_.lower_bound(std::make_tuple(file, uint64_t{0}, uint64_t{0}));
        auto last = first;
        while (last != named_.end() && std::get<0>(last->first) == file)
            ++last;
        named_.erase(first, last);
        symbols_.forget(file->open_path);
    }
}

void StackNamer::name_in_file(const ModuleFile &file, uint64_t offset, uint64_t lookup,
                              std::vector<NamedFrame> &out)
{
    auto key = std::make_tuple(&file, offset, lookup);
    auto named = named_.find(key);
    if (named == named_.end()) {
        std::vector<NamedFrame> names;
        name_uncached(file, offset, lookup, names);
        if (named_.size() >= kNamedKept)
            named_.clear();
        named = named_.emplace(key, std::move(names)).first;
    }
    out.insert(out.end(), named->second.begin(), named->second.end());
}

void StackNamer::name_uncached(const ModuleFile &file, uint64_t offset, uint64_t lookup,
                               std::vector<NamedFrame> &out)
{
    const FrameSource source{file.path, file.build_id, lookup, "", 0};
    std::string name = symbols_.function_at(file.open_path, file.path, lookup);
    if (!name.empty()) {
        files_seen_.emplace(file.open_path, file.path);
        for (std::string &inlined : symbols_.inlined_at(file.open_path, file.path, lookup))
            out.push_back({inlined + " [inlined]", source});
        out.push_back({std::move(name), source});
        return;
    }
    if (!symbols_.loaded_offset(file.open_path, file.path, offset)) {
        out.push_back({"[unknown]", {}}); // not code of this file: a broken frame-pointer chain
        return;
    }
    files_seen_.emplace(file.open_path, file.path);
    char text[64];
    std::snprintf(text, sizeof(text), "+0x%llx]", static_cast<unsigned long long>(offset));
    out.push_back({"[" + std::filesystem::path(file.path).filename().string() + text, source});
}

std::vector<std::string> StackNamer::user_frames(pid_t pid, const std::vector<RawUserFrame> &frames)
{
    std::vector<std::string> names;
    for (NamedFrame &f : named_user_frames(pid, frames))
        names.push_back(std::move(f.name));
    return names;
}

std::vector<NamedFrame> StackNamer::named_user_frames(pid_t pid, const std::vector<RawUserFrame> &frames)
{
    std::vector<NamedFrame> names;
    std::vector<RawUserFrame> python;
    for (size_t i = 0; i < frames.size(); ++i) {
        const RawUserFrame &f = frames[i];
        if (f.kind == RawUserFrame::Python) {
            python.push_back(f);
            continue;
        }
        // Every frame but the innermost holds a return address: the call is one byte before.
        uint64_t back = i == 0 ? 0 : 1;
        if (f.kind == RawUserFrame::Marker) {
            names.push_back({f.name, {}});
            continue;
        }
        if (f.kind == RawUserFrame::File && f.file) {
            name_in_file(*f.file, f.value, f.value - back, names);
            continue;
        }
        if (f.kind == RawUserFrame::BuildId) {
            if (const ModuleFile *file = index_.by_build_id(f.build_id)) {
                name_in_file(*file, f.value, f.value - back, names);
            } else {
                char text[96];
                std::snprintf(text, sizeof(text), "[build-id %.12s+0x%llx]", f.build_id.c_str(),
                              static_cast<unsigned long long>(f.value));
                names.push_back({text, {"", f.build_id, f.value - back, "", 0}});
            }
            continue;
        }
        std::string jit = perf_map(pid).name_at(f.value - back);
        if (!jit.empty()) {
            names.push_back({jit, {}});
            continue;
        }
        MappedAddress where = index_.find(pid, f.value);
        if (where.file)
            name_in_file(*where.file, where.file_offset, where.file_offset - back, names);
        else if (!where.region.empty())
            names.push_back({where.region[0] == '[' ? where.region : "[" + where.region + "]", {}});
        else
            names.push_back({"[unknown]", {}});
    }
    if (!python.empty())
        merge_python_frames(names, python);
    std::reverse(names.begin(), names.end());
    for (auto &n : names)
        n.name = folded_safe(std::move(n.name));
    return names;
}

FrameSource python_frame_source(const std::string &text)
{
    FrameSource source;
    const size_t open = text.find(" ("); // qualnames have no spaces; file names may
    const size_t colon = text.rfind(':');
    if (open == std::string::npos || colon == std::string::npos || colon < open || text.back() != ')')
        return source;
    int64_t line = 0;
    for (size_t i = colon + 1; i + 1 < text.size(); ++i) {
        if (text[i] < '0' || text[i] > '9' || line > 100000000)
            return source;
        line = line * 10 + (text[i] - '0');
    }
    source.file = text.substr(open + 2, colon - open - 2);
    source.line = line;
    return source;
}

void merge_python_frames(std::vector<std::string> &native, const std::vector<RawUserFrame> &python)
{
    std::vector<NamedFrame> frames;
    for (std::string &name : native)
        frames.push_back({std::move(name), {}});
    merge_python_frames(frames, python);
    native.clear();
    for (NamedFrame &f : frames)
        native.push_back(std::move(f.name));
}

void merge_python_frames(std::vector<NamedFrame> &native, const std::vector<RawUserFrame> &python)
{
    std::vector<std::vector<NamedFrame>> calls(1); // one per _PyEval_EvalFrameDefault, leaf first
    for (const RawUserFrame &f : python) {
        calls.back().push_back({f.name, python_frame_source(f.name)});
        if (f.value & 1)
            calls.emplace_back();
    }
    if (calls.back().empty())
        calls.pop_back();
    std::vector<NamedFrame> merged;
    size_t next = 0;
    size_t after_last = 0; // where the Python frames put in place end
    for (NamedFrame &name : native) {
        if (name.name == "_PyEval_EvalFrameDefault" && next < calls.size()) {
            merged.insert(merged.end(), calls[next].begin(), calls[next].end());
            after_last = merged.size();
            ++next;
        } else {
            merged.push_back(std::move(name));
        }
    }
    // Left over (the native stack was cut short, or more calls were read than
    // found): right outside the last ones put in place, else at the root side
    // (before a [cut short] frame).
    auto where = merged.begin() + static_cast<std::ptrdiff_t>(after_last);
    if (next == 0) {
        const bool cut = !merged.empty() && merged.back().name.rfind("[cut short", 0) == 0;
        where = cut ? merged.end() - 1 : merged.end();
    }
    for (; next < calls.size(); ++next) {
        where = merged.insert(where, calls[next].begin(), calls[next].end());
        where += static_cast<std::ptrdiff_t>(calls[next].size());
    }
    native = std::move(merged);
}

namespace {

// The frames of memtrace's own tracing (the tracepoint calling its BPF
// program) sit at the kernel leaf: they are the tool, not the program.
bool tracing_frame(const std::string &name)
{
    for (const char *prefix : {"bpf_", "__bpf_", "__traceiter_", "perf_trace_", "trace_event_"})
        if (name.rfind(prefix, 0) == 0)
            return true;
    return name == "mm_trace_rss_stat";
}

} // namespace

std::vector<std::string> StackNamer::kernel_frames(const std::vector<uint64_t> &ips)
{
    std::vector<std::string> names;
    bool at_leaf = true;
    for (size_t i = 0; i < ips.size(); ++i) {
        uint64_t ip = ips[i] - (i == 0 ? 0 : 1);
        std::string name = kernel_ ? kernel_->name_at(ip) : "";
        if (at_leaf && tracing_frame(name))
            continue;
        at_leaf = false;
        names.push_back(folded_safe(name.empty() ? "[kernel]" : name));
    }
    std::reverse(names.begin(), names.end());
    return names;
}

} // namespace memtrace
