#include "collect/line_naming.h"

#include <filesystem>
#include <set>

#include "python/function_match.h"

namespace memtrace {

namespace {

std::string basename_of(const std::string &path)
{
    return std::filesystem::path(path).filename().string();
}

// The rows of a function whose lines are in `file`, `first` to `last`.
void fill_rows(FunctionLines &out, const std::map<int, LineTally> &lines, SourceFiles &sources)
{
    const std::vector<std::string> *text = nullptr;
    if (!out.source_file.empty()) {
        const SourceText &src = sources.read(out.source_file);
        if (src.lines)
            text = &*src.lines;
        else
            out.source_note = src.why;
    }
    out.rows = line_rows(lines, out.first_line, out.last_line, text);
}

FunctionLines native_lines(const LineEvidence &ev, uint32_t pid, uint32_t id, Symbolizer &symbols,
                           SourceFiles &sources)
{
    const TracedFunction &fn = ev.functions[id];
    FunctionLines out;
    out.pid = pid;
    out.function = fn.demangled.empty() ? fn.symbol : fn.demangled;
    out.module = fn.module;
    if (auto src = symbols.function_source(fn.file, fn.module, fn.address)) {
        out.source_file = src->file;
        out.first_line = src->first_line;
        out.last_line = src->last_line;
    }
    std::map<int, LineTally> lines;
    for (auto it = ev.native.lower_bound({pid, id, nullptr, 0});
         it != ev.native.end() && std::get<0>(it->first) == pid && std::get<1>(it->first) == id; ++it) {
        const ModuleFile *file = std::get<2>(it->first);
        const LineTally &tally = it->second;
        out.total += tally;
        auto line = symbols.source_line(file->open_path, file->path, std::get<3>(it->first));
        if (!line)
            out.unplaced_bytes += tally.bytes;
        else if (out.source_file.empty() || line->file == out.source_file)
            lines[line->line] += tally;
        else
            out.other_files[basename_of(line->file) + ":" + std::to_string(line->line)] += tally;
    }
    if (out.source_file.empty() && lines.empty())
        out.source_note = "no DWARF line information for " + basename_of(fn.module) +
                          ": build it with -g, or install its debug file (/usr/lib/debug, --debuginfo-dir)";
    fill_rows(out, lines, sources);
    return out;
}

FunctionLines python_lines(uint32_t pid, const LineEvidence::PythonFunction &fn, SourceFiles &sources)
{
    FunctionLines out;
    out.pid = pid;
    out.python = true;
    out.function = fn.qualname;
    out.source_file = fn.filename;
    out.first_line = fn.firstlineno;
    std::map<int, LineTally> lines;
    for (const auto &[line, tally] : fn.lines) {
        out.total += tally;
        if (line < 0)
            out.unplaced_bytes += tally.bytes;
        else
            lines[line] += tally;
    }
    const SourceText &src = sources.read(fn.filename);
    // without the text, the body is not known: the def line and the sampled lines
    out.last_line = src.lines ? python_block_end(*src.lines, fn.firstlineno) : fn.firstlineno;
    fill_rows(out, lines, sources);
    return out;
}

} // namespace

std::vector<FunctionLines> name_lines(const LineEvidence &ev, Symbolizer &symbols, SourceFiles &sources)
{
    std::vector<FunctionLines> out;
    std::set<uint32_t> sampled;
    std::set<std::pair<uint32_t, uint32_t>> done;
    for (const auto &[key, tally] : ev.native) {
        const auto [pid, id, file, offset] = key;
        sampled.insert(id);
        if (done.emplace(pid, id).second)
            out.push_back(native_lines(ev, pid, id, symbols, sources));
    }
    for (uint32_t id = 0; id < ev.functions.size(); ++id)
        if (!sampled.count(id))
            out.push_back(native_lines(ev, 0, id, symbols, sources));
    std::set<std::string> matched;
    for (const auto &[key, fn] : ev.python) {
        out.push_back(python_lines(std::get<0>(key), fn, sources));
        for (const std::string &pattern : ev.python_patterns)
            if (python_function_matches(pattern, fn.qualname, fn.filename))
                matched.insert(pattern);
    }
    for (const std::string &pattern : ev.python_patterns)
        if (!matched.count(pattern)) {
            FunctionLines none;
            none.python = true;
            none.function = pattern;
            none.source_note = "no sampled stack ran a Python function py:" + pattern +
                               " names (never called, or it brought in less than one sample)";
            out.push_back(std::move(none));
        }
    return out;
}

} // namespace memtrace
