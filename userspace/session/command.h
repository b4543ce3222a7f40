// Runs the command to trace: forked early (while memtrace is small), held on a
// pipe until every probe is attached, then released to exec, so nothing it does
// is missed.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "unique_fd.h"

namespace memtrace {

// Who the command runs as: under sudo, the invoking user, never silently root.
struct RunAs {
    uid_t uid = 0;
    gid_t gid = 0;
    std::vector<gid_t> groups;
    std::string user;
};

// The invoking user when memtrace runs as root under sudo (SUDO_UID/SUDO_GID).
std::optional<RunAs> sudo_invoker();

class HeldCommand {
public:
    // Forks; the child waits. `path` is what to exec, `argv` its arguments.
    HeldCommand(const std::vector<std::string> &argv, const std::string &path,
                std::optional<RunAs> run_as);
    ~HeldCommand(); // a child never released is killed and reaped
    HeldCommand(const HeldCommand &) = delete;
    HeldCommand &operator=(const HeldCommand &) = delete;

    pid_t pid() const { return pid_; }
    // Lets the child exec. Throws Error (and reaps it) if exec or dropping
    // privileges failed.
    void release();

private:
    void abandon();

    pid_t pid_ = -1;
    UniqueFd go_fd_;    // write end: one byte releases the child
    UniqueFd error_fd_; // read end: errno from the child if exec failed (CLOEXEC)
    bool released_ = false;
    std::string name_;
};

} // namespace memtrace
