// Stack frames to names, for folded stacks: "function" where a symbol covers
// the address, "[module+0xoffset]" where none does, "[unknown]" where not even
// the module is known. Return addresses are moved back one byte first, so a
// frame names the function of the call, not of what follows it.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "model/folded.h"
#include "symbols/module_index.h"
#include "symbols/symbolizer.h"

namespace memtrace {

// One frame of a user stack: as the kernel recorded it (struct
// bpf_stack_build_id: a build-id or an address), or as the DWARF unwinder
// placed it (a file it knows and an offset in it).
struct RawUserFrame {
    // Python: a Python frame's text in `name`; value 1 if it is the outermost
    // frame of one _PyEval_EvalFrameDefault call.
    enum Kind { BuildId, Ip, File, Marker, Python } kind = Ip;
    std::string build_id;             // hex, for BuildId
    std::string name;                 // for Marker and Python: shown as is ("[cut short: ...]")
    const ModuleFile *file = nullptr; // for File
    uint64_t value = 0;               // file offset (BuildId, File) or address (Ip)
};

// A frame's name, and where its code is (module, build-id, offset; Python:
// source file and line).
struct NamedFrame {
    std::string name;
    FrameSource source;
};

class StackNamer {
public:
    StackNamer(const ModuleIndex &index, Symbolizer &symbols, const KernelSymbols *kernel,
               const std::string &perf_map_dir = "/tmp");

    // Leaf first in, root first out.
    std::vector<std::string> user_frames(pid_t pid, const std::vector<RawUserFrame> &leaf_first);
    std::vector<NamedFrame> named_user_frames(pid_t pid, const std::vector<RawUserFrame> &leaf_first);
    std::vector<std::string> kernel_frames(const std::vector<uint64_t> &leaf_first);

    // Files that frames came from (open path -> path shown), for the
    // frame-pointer check.
    const std::map<std::string, std::string> &files_seen() const { return files_seen_; }

    // The user each process ran as, noted while it lived: its perf map is
    // trusted if that user owns it, after the process is gone (or its pid reused).
    void set_process_uids(std::map<uint32_t, uid_t> uids) { uids_ = std::move(uids); }
    void set_process_uid(uint32_t pid, uid_t uid) { uids_[pid] = uid; }
    // -a: a process whose stacks are named (its perf map, its user), and files
    // the module index lets go (frames named in them: their pointers dangle next).
    void forget_process(pid_t pid);
    void forget_files(const std::set<const ModuleFile *> &files);
    // The files frames came from since the last call (open path -> path
    // shown), for the frame-pointer check: taken before their files go.
    std::map<std::string, std::string> take_files_seen() { return std::exchange(files_seen_, {}); }

private:
    // The frame's function, and before it (leaf side) the functions inlined
    // there, "name [inlined]".
    void name_in_file(const ModuleFile &file, uint64_t offset, uint64_t lookup_offset,
                      std::vector<NamedFrame> &leaf_first);
    void name_uncached(const ModuleFile &file, uint64_t offset, uint64_t lookup_offset,
                       std::vector<NamedFrame> &leaf_first);
    const PerfMap &perf_map(pid_t pid);

    const ModuleIndex &index_;
    Symbolizer &symbols_;
    const KernelSymbols *kernel_;
    std::string perf_map_dir_;
    std::map<pid_t, PerfMap> perf_maps_;
    std::map<uint32_t, uid_t> uids_;
    std::map<std::string, std::string> files_seen_;
    // Frames already named, by (file, offset, lookup offset): the same libc
    // frames come in thousands of processes, and inlined frames cost a walk of
    // the debug information each. Emptied when full.
    std::map<std::tuple<const ModuleFile *, uint64_t, uint64_t>, std::vector<NamedFrame>> named_;
    static constexpr size_t kNamedKept = 1 << 16;
};

// The native frames (leaf first) with each _PyEval_EvalFrameDefault frame
// replaced by the Python frames it runs (`python`: leaf first, split after
// each frame marked as a call's outermost). Python frames left over go right
// outside the last ones put in place (or, with none, to the root side before
// a [cut short] frame).
void merge_python_frames(std::vector<NamedFrame> &native, const std::vector<RawUserFrame> &python);
void merge_python_frames(std::vector<std::string> &native, const std::vector<RawUserFrame> &python);

// A Python frame's text, "qualname (file.py:LINE)", as a source: file and line.
FrameSource python_frame_source(const std::string &text);

// A frame name safe for the folded format: ';' separates frames and a newline
// ends the line, so both are replaced.
std::string folded_safe(std::string name);

} // namespace memtrace
