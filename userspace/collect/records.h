// Decodes the BPF ring-buffer records (include/memtrace/abi.h) in one place.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <variant>

#include "memtrace/abi.h"

namespace memtrace {

static_assert(sizeof(mt_proc) == 208, "mt_proc layout changed: update BPF and userspace together");
static_assert(sizeof(mt_rec_hdr) == 16);
static_assert(sizeof(mt_rec_exec) == 16 + 8 + MT_COMM_LEN + MT_ARGS_LEN);
static_assert(sizeof(mt_rec_exit) == 16 + sizeof(mt_proc));
static_assert(sizeof(mt_stats) == 18 * 8);
static_assert(sizeof(mt_func_stats) == 14 * 8);
static_assert(sizeof(mt_thread_frames) == 16 + MT_MAX_FRAMES * 48);

struct ExecRecord {
    uint32_t pid = 0;
    uint32_t ppid = 0;
    uint64_t ts_ns = 0;
    std::string comm;
    std::string cmdline; // argv joined by spaces
};

struct ExitRecord {
    uint64_t ts_ns = 0;
    mt_proc proc{};
};

// A traced process mapped executable code: its mappings should be read again.
struct ExecMapRecord {
    uint32_t pid = 0;
};

struct MalformedRecord {
    std::string why;
};

using Record = std::variant<ExecRecord, ExitRecord, ExecMapRecord, MalformedRecord>;

Record decode_record(std::span<const std::byte> bytes);

// A fixed-size, maybe unterminated kernel string.
std::string comm_string(const char (&comm)[MT_COMM_LEN]);
// NUL-separated argv (as /proc/PID/cmdline) to one line, arguments joined by spaces.
std::string join_cmdline(std::string_view nul_separated);

} // namespace memtrace
