// The files whose functions -f can name: a running process's executable
// mappings, or a program and the libraries it will load.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

namespace memtrace {

struct Module {
    std::string path;      // as the process sees it (shown to users)
    std::string open_path; // where memtrace reads and attaches it (/proc/PID/root/..., map_files)
    bool main = false;     // the program itself
};

// Where ld.so would look for a library.
struct LibrarySearch {
    std::vector<std::string> ld_library_path; // LD_LIBRARY_PATH of the target
    std::vector<std::string> cache;           // files listed by `ldconfig -p` (this machine's arch)
    std::vector<std::string> default_dirs = {"/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu",
                                             "/lib64", "/usr/lib64", "/lib", "/usr/lib"};
    static LibrarySearch from_environment(const std::string &ld_library_path);
};

// Executable file mappings of process `pid`, main program first, in map order.
std::vector<Module> process_modules(pid_t pid, const std::string &proc_root = "/proc");

// `executable` and the libraries it needs (DT_NEEDED, transitively), found as
// ld.so finds them (RPATH/RUNPATH with $ORIGIN, LD_LIBRARY_PATH, cache, defaults).
// Libraries that cannot be found are left out.
std::vector<Module> program_modules(const std::string &executable, const LibrarySearch &search);

// A library by file name ("libfoo.so.1") or short name ("libfoo", "libfoo.so"),
// in `extra_dirs` first, then the search path.
std::optional<std::string> find_library(const std::string &name, const LibrarySearch &search,
                                        const std::vector<std::string> &extra_dirs = {});

// The file mapped at `address` in process `pid`, and the offset in it: what a
// uprobe at that address attaches to. nullopt for anonymous memory or a gone process.
struct FileOffset {
    std::string open_path; // through /proc/PID/root (or map_files/ for a deleted file)
    std::string path;      // as the process sees it
    uint64_t offset = 0;
};
std::optional<FileOffset> file_offset_at(pid_t pid, uint64_t address,
                                         const std::string &proc_root = "/proc");

// "/proc/PID/maps" lines: "start-end perms offset dev inode path"; parsed here so
// tests can feed fixtures.
struct MapsEntry {
    uint64_t start = 0, end = 0, offset = 0;
    std::string perms;
    std::string path;
    bool deleted = false;
};
std::vector<MapsEntry> parse_maps(const std::string &text);

// Where memtrace reads the file a maps entry of `proc_dir` ("/proc/PID") names:
// through map_files/ when it was deleted or replaced, else as the process sees
// it (its mount namespace, PROC_DIR/root/...).
std::string mapped_file_path(const std::string &proc_dir, const MapsEntry &e);

// Does a module name (a -f pattern's MODULE part) name this file? A path names its file; a short name
// matches the file name exactly or as "NAME.so*" / "NAME-*.so*" ("libc" -> libc.so.6).
bool module_matches(const std::string &module, const std::string &path);

} // namespace memtrace
