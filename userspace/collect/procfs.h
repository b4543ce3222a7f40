// What memtrace reads of other processes in /proc. The root is a parameter so
// unit tests can point it at a fixture tree.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace memtrace {

enum class PidKind { Missing, KernelThread, Zombie, Thread, Process };

struct PidInfo {
    PidKind kind = PidKind::Missing;
    pid_t tgid = 0;   // the process a thread id belongs to
    std::string comm;
};

class ProcFs {
public:
    explicit ProcFs(std::string root = "/proc") : root_(std::move(root)) {}

    PidInfo inspect(pid_t pid) const;
    std::optional<std::string> cmdline(pid_t pid) const; // argv joined by spaces
    std::optional<std::string> exe(pid_t pid) const;     // the program's file (link target)
    std::optional<uint64_t> status_kib(pid_t pid, const std::string &field) const; // "VmHWM"
    std::optional<std::string> environ_value(pid_t pid, const std::string &name) const;
    // CPU time the process has used, all threads, user + system (the kernel's
    // handling of its probe hits included), in seconds; /proc/PID/stat.
    std::optional<double> cpu_seconds(pid_t pid) const;
    // Processes below `ancestor` (children, theirs, ...) that have not ended.
    std::vector<pid_t> live_descendants(pid_t ancestor) const;

private:
    std::optional<std::string> read(pid_t pid, const char *file) const;
    std::string root_;
};

} // namespace memtrace
