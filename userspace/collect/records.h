// Decodes the BPF ring-buffer records (include/memtrace/abi.h) in one place.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <variant>

#include "memtrace/abi.h"
#include "unwind/dwarf_unwinder.h"

namespace memtrace {

static_assert(sizeof(mt_proc) == 256, "mt_proc layout changed: update BPF and userspace together");
static_assert(sizeof(mt_rec_hdr) == 16);
static_assert(sizeof(mt_rec_exec) == 16 + 8 + MT_COMM_LEN + MT_ARGS_LEN + 8 + MT_PATH_LEN);
static_assert(sizeof(mt_hold_name) == 8 + MT_HOLD_NAME_LEN);
static_assert(sizeof(mt_file_id) == 16);
static_assert(sizeof(mt_rec_mapping) == 16 + 24 + 16 + 8 + 2 * MT_MAP_PATH);
static_assert(sizeof(mt_rec_exit) == 16 + sizeof(mt_proc));
static_assert(sizeof(mt_stats) == 28 * 8);
static_assert(sizeof(mt_config) == 3 * 8 + 18 * 4);
static_assert(sizeof(mt_rec_stack) == 16 + 64 + 8 + MT_PY_FRAMES * 24);
static_assert(sizeof(mt_rec_sample) == 16 + 32);
static_assert(sizeof(mt_rec_range) == 16 + 40);
static_assert(sizeof(mt_py_proc) == 8 + 20 * 2);
static_assert(sizeof(mt_py_frame) == 24);
static_assert(sizeof(mt_py_code) == MT_PY_NAME + MT_PY_FILE + 24 + MT_PY_LINETABLE);
static_assert(sizeof(mt_unwind_hint) == 8 + 2 * 8 * MT_HINT_RANGES + 8);
static_assert(sizeof(mt_rec_retsite) == 16 + 16);
static_assert(sizeof(mt_func_stats) == 15 * 8);
static_assert(sizeof(mt_rec_point) == 16 + 16);
static_assert(sizeof(mt_rec_mark) == 16 + 48);
static_assert(sizeof(mt_thread_frames) == 16 + MT_MAX_FRAMES * 48);
static_assert(sizeof(mt_py_pattern) == 8 + 2 * MT_PY_PATTERN_LEN + MT_PY_CLASSES * 32);
static_assert(sizeof(mt_py_thread) ==
              32 + sizeof(mt_thread_frames) + 2 * 8 * MT_MAX_FRAMES + 20 * MT_PY_ANCHORS + 8);

struct ExecRecord {
    uint32_t pid = 0;
    uint32_t ppid = 0;
    uint64_t ts_ns = 0;
    std::string comm;
    std::string cmdline; // argv joined by spaces
    bool held = false;   // stopped for -f probes: resume it (SIGCONT) once they are attached
    std::string exe;     // the file exec'd, as execve was given it
};

struct ExitRecord {
    uint64_t ts_ns = 0;
    mt_proc proc{};
};

// A traced process mapped executable code: its mappings should be read again.
struct ExecMapRecord {
    uint32_t pid = 0;
};

// An executable file mapping, read by the kernel side as it was made (--folded).
struct MappingRecord {
    uint32_t pid = 0;
    uint64_t ts_ns = 0;
    uint64_t start = 0, end = 0, offset = 0;
    uint64_t dev = 0, ino = 0; // dev as the kernel encodes it (MAJOR << 20 | MINOR)
    std::string path;          // "" when the kernel side could not read it whole
};

// A timeline interval of one process ended (pages, ktime).
struct PointRecord {
    uint32_t pid = 0;
    uint64_t ts_ns = 0; // the interval's end
    uint64_t rss_end = 0;
    uint64_t rss_max = 0;
};

// A traced call ended (pages, ktime).
struct MarkRecord {
    uint32_t pid = 0, tid = 0, func = 0;
    uint64_t entry_ns = 0, exit_ns = 0;
    uint64_t base = 0, peak = 0, rss_end = 0;
    bool returned = false;
};

// Probe `ret_addr` in process `pid`: calls of `func` return there by tail call.
struct RetsiteRecord {
    uint32_t pid = 0, func = 0;
    uint64_t ret_addr = 0;
};

// A sampled user stack to unwind (--unwind dwarf|auto).
// One Python frame of a sample: its code object, and where in its bytecode.
struct PyFrameRef {
    uint64_t code = 0;
    uint64_t names = 0; // with code: which code object (an address can be reused)
    uint32_t instr = 0; // bytes from the bytecode's start; UINT32_MAX: not known
    bool entry = false; // the outermost frame of one _PyEval_EvalFrameDefault call
};

inline constexpr uint32_t kPythonTruncated = MT_PY_TRUNCATED;

struct StackRecord {
    StackSnapshot snapshot;
    std::vector<PyFrameRef> python; // innermost first
    uint32_t python_status = 0;     // MT_PY_*
    uint64_t weight = 0;       // bytes the sample stands for
    uint64_t rss_pages = 0;    // the process's RSS when it was taken
    int32_t kernel_stack = -1; // id in the kernel stack map, or < 0
    uint32_t label_tid = 0;    // 0 unless per-thread stacks
    uint64_t ts_ns = 0;        // when it was taken
    uint64_t addr = 0;         // --stacks peak|end: the page its fault brought in, 0: none
};

// --stacks peak|end: a touch sample walked by frame pointers, with its page.
struct SampleRecord {
    uint32_t pid = 0, tid = 0;
    uint64_t ts_ns = 0;
    int32_t user_stack = -1, kernel_stack = -1;
    uint64_t weight = 0;
    uint64_t addr = 0; // 0: growth without a user fault
};

// --stacks peak|end: pages of a process that left RSS or moved (MT_RANGE_*).
struct RangeRecord {
    uint32_t pid = 0;
    uint32_t kind = 0;
    uint64_t ts_ns = 0;
    uint64_t start = 0, len = 0, to = 0, new_len = 0;
};

struct MalformedRecord {
    std::string why;
};

using Record = std::variant<ExecRecord, ExitRecord, ExecMapRecord, PointRecord, MarkRecord,
                            RetsiteRecord, StackRecord, SampleRecord, RangeRecord, MappingRecord,
                            MalformedRecord>;

// The kernel side's path (names leaf first, each NUL-terminated) as a path.
std::string path_from_names(std::string_view leaf_first);

Record decode_record(std::span<const std::byte> bytes);

// A fixed-size, maybe unterminated kernel string.
std::string comm_string(const char (&comm)[MT_COMM_LEN]);
// NUL-separated argv (as /proc/PID/cmdline) to one line, arguments joined by spaces.
std::string join_cmdline(std::string_view nul_separated);

} // namespace memtrace
