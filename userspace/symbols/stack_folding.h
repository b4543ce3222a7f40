// Stack samples as the kernel side counted them, and their folding into named
// stacks: the root frame is the process (comm, or comm-PID), then a thread
// frame when asked, the user frames, and kernel frames below a "-" frame.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "model/folded.h"
#include "symbols/stack_namer.h"

namespace memtrace {

struct RawStackSample {
    uint32_t tgid = 0;
    uint32_t tid = 0;       // 0 unless per-thread
    int32_t user_id = -1;   // < 0: the stack was not captured
    int32_t kernel_id = -1; // < 0: none
    uint64_t bytes = 0;
    uint64_t ts_ns = 0;     // --stacks peak|end: when it was taken
    uint64_t page = 0;      // ... the page its fault brought in; 0: none
};

struct RawStacks {
    std::vector<RawStackSample> samples;
    std::map<int32_t, std::vector<RawUserFrame>> user;   // leaf first
    std::map<int32_t, std::vector<uint64_t>> kernel;      // leaf first
    std::map<uint32_t, std::string> thread_names;
};

struct FoldOptions {
    bool per_pid = false;
    bool per_thread = false;
    std::function<std::string(uint32_t)> comm_of; // process name by pid
    // --unwind auto mixes frame-pointer stacks, which stop at libc's frame
    // that called main (or the thread function), with DWARF ones, which go on
    // to _start (clone3): cut the latter there too, so one path is one tower.
    bool trim_to_frame_pointer_roots = false;
};

// The frames where a frame-pointer walk through Debian's libc stops.
bool frame_pointer_root(const std::string &frame);

FoldedStacks fold_stacks(const RawStacks &raw, StackNamer &namer, const FoldOptions &options);
// The same, added to `into` (stacks folded earlier, of other samples).
void fold_stacks(const RawStacks &raw, StackNamer &namer, const FoldOptions &options, FoldedStacks &into);

} // namespace memtrace
