#include "collect/line_samples.h"

#include <sys/stat.h>

#include <set>

#include "python/function_match.h"

namespace memtrace {

namespace {

std::optional<std::pair<dev_t, ino_t>> identity(const std::string &path)
{
    struct stat st {};
    if (path.empty() || stat(path.c_str(), &st) != 0)
        return std::nullopt;
    return std::make_pair(st.st_dev, st.st_ino);
}

} // namespace

LineSampler::LineSampler(std::vector<TracedFunction> functions, std::vector<std::string> python_patterns,
                         uint64_t page_size)
    : page_size_(page_size)
{
    evidence_.functions = std::move(functions);
    evidence_.python_patterns = std::move(python_patterns);
}

const LineSampler::FileFunctions &LineSampler::functions_in(const ModuleFile &file)
{
    auto [it, fresh] = files_.try_emplace(&file);
    if (!fresh)
        return it->second;
    // the same file, whatever path led to it (symlinks, /proc/PID/root)
    const auto id = identity(file.open_path);
    for (uint32_t i = 0; i < evidence_.functions.size(); ++i)
        if (id && identity(evidence_.functions[i].file) == id)
            it->second.ids.push_back(i);
    if (!it->second.ids.empty()) {
        ElfOpen elf = ElfFile::try_open(file.open_path);
        if (elf.file)
            it->second.elf = std::move(elf.file);
        else
            it->second.ids.clear();
    }
    return it->second;
}

void LineSampler::add(const LineSample &sample, PythonTargets *python)
{
    if (sample.native && !evidence_.functions.empty())
        add_native(sample);
    if (sample.python && python && !evidence_.python_patterns.empty())
        add_python(sample, *python);
}

void LineSampler::add_native(const LineSample &sample)
{
    const LineTally tally{sample.bytes, 1, sample.rss_pages * page_size_};
    std::set<uint32_t> seen; // each function at its innermost frame only
    const std::vector<RawUserFrame> &frames = *sample.native;
    for (size_t i = 0; i < frames.size(); ++i) {
        const RawUserFrame &f = frames[i];
        if (f.kind != RawUserFrame::File || !f.file)
            continue;
        const FileFunctions &in = functions_in(*f.file);
        if (in.ids.empty())
            continue;
        // a return address: the call is the byte before it
        const uint64_t lookup = i == 0 || f.value == 0 ? f.value : f.value - 1;
        const std::optional<uint64_t> vaddr = in.elf->vaddr_of(lookup);
        if (!vaddr)
            continue;
        for (uint32_t id : in.ids) {
            const TracedFunction &fn = evidence_.functions[id];
            if (*vaddr < fn.address || *vaddr >= fn.address + fn.size || !seen.insert(id).second)
                continue;
            evidence_.native[{sample.pid, id, f.file, lookup}] += tally;
        }
    }
}

void LineSampler::add_python(const LineSample &sample, PythonTargets &python)
{
    const LineTally tally{sample.bytes, 1, sample.rss_pages * page_size_};
    std::set<std::pair<std::string, int>> seen; // (file, def line): innermost frame only
    for (const PyFrameRef &ref : *sample.python) {
        const PythonCode *code = python.code(sample.pid, ref);
        if (!code)
            continue;
        bool wanted = false;
        for (const std::string &pattern : evidence_.python_patterns)
            wanted |= python_function_matches(pattern, code->qualname, code->filename);
        if (!wanted || !seen.emplace(code->filename, code->firstlineno).second)
            continue;
        auto &fn = evidence_.python[{sample.pid, code->filename, code->firstlineno, code->qualname}];
        fn.qualname = code->qualname;
        fn.filename = code->filename;
        fn.firstlineno = code->firstlineno;
        fn.lines[python.line(sample.pid, ref)] += tally;
    }
}

} // namespace memtrace
