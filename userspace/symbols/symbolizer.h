// Addresses in files to function names, with elfutils' libdwfl: .symtab,
// .dynsym, separate debug files (build-id, debuglink) and MiniDebugInfo
// (.gnu_debugdata). One cached module per file.
#pragma once

#include <sys/stat.h>

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace memtrace {

class Symbolizer {
public:
    explicit Symbolizer(const std::vector<std::string> &debug_dirs = {"/usr/lib/debug"});
    ~Symbolizer();
    Symbolizer(const Symbolizer &) = delete;
    Symbolizer &operator=(const Symbolizer &) = delete;

    // The demangled name of the function at `file_offset` in the ELF file read
    // at `open_path` (a kept descriptor, say), or "" when no symbol covers it.
    // `path` is where the file lives: debug files are looked for beside it.
    std::string function_at(const std::string &open_path, const std::string &path,
                            uint64_t file_offset);
    // The functions inlined at `file_offset` (from DWARF debug info, when the
    // file or its debug file has it), innermost first; empty when none.
    std::vector<std::string> inlined_at(const std::string &open_path, const std::string &path,
                                        uint64_t file_offset);
    // --lines. The source line of the instruction at `file_offset`, in the
    // function that holds it: where code of a function inlined into it runs,
    // the line of the inlined call. Nullopt without DWARF line information.
    struct SourceLine {
        std::string file; // absolute when the debug info allows
        int line = 0;
    };
    std::optional<SourceLine> source_line(const std::string &open_path, const std::string &path,
                                          uint64_t file_offset);
    // The lines of the function at `vaddr` (its address in the ELF file):
    // its declaration's file and line, and the last line of that file its
    // code comes from. Nullopt without DWARF debug info.
    struct FunctionSource {
        std::string file;
        int first_line = 0, last_line = 0;
    };
    std::optional<FunctionSource> function_source(const std::string &open_path, const std::string &path,
                                                  uint64_t vaddr);
    // Whether `file_offset` lies in a loaded segment of the file (a frame
    // pointer chain through code without frame pointers yields wild ones).
    bool loaded_offset(const std::string &open_path, const std::string &path,
                       uint64_t file_offset);
    // What was read of the file at `open_path` goes (the path may name
    // another file next: a descriptor number reused).
    void forget(const std::string &open_path);

private:
    struct Module;
    Module *module(const std::string &open_path, const std::string &path);
    std::vector<std::string> debug_dirs_; // each module's userdata points here
    std::string debuginfo_path_;
    char *debuginfo_ptr_ = nullptr; // libdwfl's callbacks take a char **
    std::map<std::string, std::unique_ptr<Module>> modules_;
};

// Kernel frames: /proc/kallsyms (needs root to see addresses).
class KernelSymbols {
public:
    explicit KernelSymbols(const std::string &kallsyms = "/proc/kallsyms");
    std::string name_at(uint64_t address) const; // "" if unknown
    bool empty() const { return symbols_.empty(); }

private:
    std::vector<std::pair<uint64_t, std::string>> symbols_; // sorted by address
};

// Whether a perf map may name the frames of a process run by `process_uid`
// (unknown once it has exited): owned by that user or by root, and writable by
// no one else, as perf asks. Anyone can write /tmp/perf-PID.map first.
bool perf_map_trusted(const struct stat &st, std::optional<uid_t> process_uid);

// JIT code: /tmp/perf-PID.map ("START SIZE name", hex), written by JITs for perf.
class PerfMap {
public:
    static constexpr size_t kMaxPerfMapBytes = size_t{64} << 20; // larger: ignored
    // Empty if missing, not a regular file, a symlink, too large or not
    // trusted (perf_map_trusted) for a process run by `process_uid`.
    static PerfMap load(const std::string &path, std::optional<uid_t> process_uid);
    // The same, the process found by the pid in the name ("perf-PID.map").
    static PerfMap load(const std::string &path);
    // Why load(path) ignores an existing file ("" if it does not, or none is there);
    // with the process's uid if it was noted while the process lived.
    static std::string ignored_because(const std::string &path,
                                       std::optional<uid_t> process_uid = std::nullopt);
    static PerfMap parse(const std::string &text);
    std::string name_at(uint64_t address) const; // "" if not in any entry
    bool empty() const { return entries_.empty(); }

private:
    struct Entry {
        uint64_t start, size;
        std::string name;
    };
    std::vector<Entry> entries_; // sorted by start
};

} // namespace memtrace
