// --lines: memory_profiler's line-by-line table of a traced function, from
// stack samples. Each sample stands for `bytes` brought in while its thread
// ran the line (the innermost frame of the function on the sample's stack) and
// carries the process's RSS at that moment; a line's figures add its samples.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace memtrace {

// What the samples taken on one line add up to.
struct LineTally {
    uint64_t bytes = 0;    // brought into RSS while the line ran (sum of sample weights)
    uint64_t samples = 0;  // stack samples taken on the line
    uint64_t peak_rss = 0; // the highest process RSS at one of them (bytes)

    LineTally &operator+=(const LineTally &other);
};

struct LineRow {
    int line = 0;
    LineTally tally;               // all zero: the line brought nothing in
    std::optional<std::string> text; // the source line, when the file was read
};

struct FunctionLines {
    uint32_t pid = 0;
    std::string function;    // demangled name, or a Python qualname
    std::string module;      // the ELF file (native), "" for Python
    bool python = false;
    std::string source_file; // "" when no line information was found
    std::string source_note; // why the text is missing ("source not found: PATH"), or ""
    int first_line = 0;      // the function's lines in source_file (0: not known)
    int last_line = 0;
    std::vector<LineRow> rows; // by line: the function's whole body when known
    LineTally total;           // every sample with the function on the stack
    uint64_t unplaced_bytes = 0; // ... whose line is not known (no line table there)
    // Lines of other files: code of the function's file that #include'd
    // another, or a line table that says another file.
    std::map<std::string, LineTally> other_files; // "file:LINE" -> tally
};

// The rows of a function: every line from first to last (when known), with
// the tallies of `lines` (lines outside that range are added too), and the
// source text of each when `source` (the file's lines, line 1 first) has it.
std::vector<LineRow> line_rows(const std::map<int, LineTally> &lines, int first, int last,
                               const std::vector<std::string> *source);

// The last line of the Python function (or class) whose def is at `first`
// (a decorator's line counts as first): the lines that follow it indented
// deeper than it, or blank. 0 if `first` is not in `source`.
int python_block_end(const std::vector<std::string> &source, int first);

// A file's text as lines (without their '\n').
std::vector<std::string> split_lines(const std::string &text);

} // namespace memtrace
