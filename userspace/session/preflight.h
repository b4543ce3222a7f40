// Checks made before anything is loaded, so bad input fails with one clear
// line and nothing attached.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace memtrace {

class ProcFs;

// Root, or CAP_BPF + CAP_PERFMON (or CAP_SYS_ADMIN). `cap_eff` is /proc/self/status CapEff.
void check_privileges();
// Whether memtrace runs with CAP_SYS_ADMIN (this kernel creates uprobes for it only).
bool has_sys_admin();
bool capabilities_allow_tracing(uint64_t cap_eff);

void check_kernel_btf(const std::string &path = "/sys/kernel/btf/vmlinux");

// Syscall tracepoints need tracefs. Mounts it at /sys/kernel/tracing when no
// tracefs is reachable; returns true if memtrace mounted it.
bool ensure_tracefs();
// Whether the kernel has tracepoint GROUP:EVENT (tracefs mounted): a look at
// tracefs, where asking libbpf means parsing the kernel's BTF (~15 ms).
bool kernel_has_tracepoint(const std::string &group, const std::string &event);

// The file execvp() would run for `name` (searched in PATH when it has no '/').
std::string resolve_command(const std::string &name, const std::string &path_env);

// -p arguments as process ids: threads become their process, errors for the rest.
// `notes` receives one line per adjustment made (thread -> process).
std::vector<pid_t> resolve_pids(const std::vector<pid_t> &pids, const ProcFs &procfs,
                                std::vector<std::string> &notes);

} // namespace memtrace
