// Many uprobes in one file as one BPF link (BPF_TRACE_UPROBE_MULTI, Linux
// 6.6+). Each uprobe link released on its own waits for the kernel to retire
// it (~0.15 s here, one after another whatever the threads): 1,000 probes took
// minutes to remove. One link per file and program is released with one wait.
// libbpf 1.1 has no API for it: the link is made with the bpf() syscall.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "unique_fd.h"

namespace memtrace {

// Does the running kernel have uprobe_multi links? (Its BTF names their type.)
bool kernel_has_uprobe_multi();

// The attach type programs must be loaded with to be attached this way.
inline constexpr int kUprobeMultiAttachType = 48; // BPF_TRACE_UPROBE_MULTI

// Probes `prog_fd` at each file offset of `path` with its cookie, in process
// `pid` (-1: every process). Returns the link, or an invalid fd with errno set.
UniqueFd attach_uprobe_multi(int prog_fd, const std::string &path, const std::vector<uint64_t> &offsets,
                             const std::vector<uint64_t> &cookies, pid_t pid);

} // namespace memtrace
