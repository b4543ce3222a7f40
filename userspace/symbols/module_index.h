// Which file a stack frame's build-id names, and what a process had mapped
// where: gathered from /proc/PID/maps while processes are alive, so frames can
// be named after they exit (design.md section 6).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "symbols/modules.h"
#include "unique_fd.h"

namespace memtrace {

struct ModuleFile {
    std::string path;      // as the process saw it (shown in frames)
    std::string open_path; // where memtrace reads it: a descriptor it keeps open
    std::string build_id;  // hex, "" if none
};

// An address in a process: the file mapped there and the file offset.
struct MappedAddress {
    const ModuleFile *file = nullptr; // nullptr: anonymous memory ([heap], JIT, ...)
    std::string region;               // maps name for anonymous regions: "[vdso]", ""
    uint64_t file_offset = 0;
};

class ModuleIndex {
public:
    explicit ModuleIndex(std::string proc_root = "/proc") : proc_root_(std::move(proc_root)) {}
    ModuleIndex(const ModuleIndex &) = delete;
    ModuleIndex &operator=(const ModuleIndex &) = delete;

    // Reads the process's executable mappings (again after dlopen: the new
    // ones replace those they overlap; the others stay, for samples taken
    // before code was unmapped). False if the process is gone.
    bool snapshot(pid_t pid);
    // An executable mapping the kernel side reported as it was made
    // (--folded: the process may be gone by now). `path` as the kernel read
    // it; the file is the one with that identity (dev as the kernel encodes
    // it: MAJOR << 20 | MINOR, and inode): opened through the process while it
    // lives, else by path, else a file already known.
    struct KernelMapping {
        uint64_t start = 0, end = 0, offset = 0;
        std::string path;
        uint64_t dev = 0, ino = 0;
    };
    void add_mapping(pid_t pid, const KernelMapping &mapping);
    // The file of such a mapping, found as add_mapping finds it (kept from
    // now on like any other), without recording the mapping: nullptr if none.
    const ModuleFile *file_of(pid_t pid, const KernelMapping &mapping);
    // The process runs another program (exec), or ended (-a, its stacks unwound):
    // its mappings go (frames are kept by file, which stays).
    void forget(pid_t pid);
    // A file known otherwise (the program memtrace runs, its DT_NEEDED): kept
    // to the end.
    void add_file(const std::string &path);
    // Last resort for build-ids no snapshot saw: the files in these directories.
    void scan_directories(const std::vector<std::string> &dirs);

    // An executable mapping of a process, as its last snapshot saw it.
    struct Mapping {
        uint64_t start = 0, end = 0, offset = 0;
        const ModuleFile *file = nullptr;
        std::string region;
    };
    // The process's executable mappings (nullptr: never read), and a number
    // that changes with every snapshot of it (caches built on them compare it;
    // 0 while none is known).
    const std::vector<Mapping> *mappings(pid_t pid) const;
    uint64_t generation(pid_t pid) const;

    const ModuleFile *by_build_id(const std::string &hex) const;
    const ModuleFile *by_kernel_id(uint64_t dev, uint64_t ino) const; // dev as the kernel side encodes it
    MappedAddress find(pid_t pid, uint64_t address) const;
    bool has_snapshot(pid_t pid) const { return maps_.count(pid) != 0; }
    size_t files() const { return files_.size(); }

    // -a: the files no process's mappings hold (nor add_file), and that are
    // not in `needed`: what can be let go once nothing else refers to them.
    std::set<const ModuleFile *> unused_files(const std::set<const ModuleFile *> &needed) const;
    // The file was deleted (or replaced) since it was opened: no program can map it again.
    bool deleted(const ModuleFile *file) const;
    // Closes these files and forgets them: their ModuleFile pointers dangle
    // (drop what is kept by them first). A file mapped again later is read anew.
    void release(const std::set<const ModuleFile *> &files);

private:
    // `expected`: the file must be this one (kernel dev, inode), checked on
    // the descriptor opened (not on a name that could be swapped meanwhile).
    const ModuleFile *remember(const std::string &path, const std::string &open_path,
                               const std::pair<uint64_t, uint64_t> *expected = nullptr);
    void merge(pid_t pid, std::vector<Mapping> fresh);

    std::string proc_root_;
    // Every file known, with the descriptor that reads it after it is deleted
    // and after its processes exit, and the keys it is found by.
    struct KeptFile {
        std::unique_ptr<ModuleFile> file;
        UniqueFd fd;
        std::string identity; // path + device and inode
        std::pair<uint64_t, uint64_t> kernel_id;
        bool pinned = false; // add_file: kept to the end
    };
    std::map<const ModuleFile *, KeptFile> files_;
    std::map<std::string, const ModuleFile *> by_id_;
    std::map<std::string, const ModuleFile *> by_path_; // path + inode identity
    std::map<std::pair<uint64_t, uint64_t>, const ModuleFile *> by_kernel_id_; // (dev, inode)
    std::map<pid_t, std::vector<Mapping>> maps_;
    std::map<pid_t, uint64_t> generations_;
    uint64_t next_generation_ = 1;
};

} // namespace memtrace
