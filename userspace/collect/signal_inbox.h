// SIGINT/SIGTERM/SIGHUP/SIGQUIT arrive on a file descriptor instead of killing
// memtrace, so results are still written. They stay blocked until exit (a
// command memtrace runs unblocks them before its exec). SIGCHLD comes there
// too: memtrace is the command's subreaper, and reaps the orphans it inherits.
#pragma once

#include <signal.h>

#include <cstdint>
#include <optional>

namespace memtrace {

class SignalInbox {
public:
    SignalInbox();
    ~SignalInbox();
    SignalInbox(const SignalInbox &) = delete;
    SignalInbox &operator=(const SignalInbox &) = delete;

    int fd() const { return fd_; }
    std::optional<int> take(); // the signal waiting, if any (SIGCHLD is noted, not returned)
    bool take_child_ended();   // a SIGCHLD came since the last call

private:
    sigset_t set_{};
    int fd_ = -1;
    bool child_ended_ = false;
};

// Reaps every ended child but `keep` (the command, reaped with its rusage
// later): orphans of the command that memtrace inherited as its subreaper.
void reap_orphans(pid_t keep);

// CLOCK_MONOTONIC in ns: the clock of bpf_ktime_get_ns().
uint64_t monotonic_ns();

// A pidfd for `pid` (-1 if it is gone already).
int open_pidfd(pid_t pid);

// Waits up to timeout_ms for a pidfd to become readable (its process ended).
// Returns early, with false, if a signal other than SIGCHLD arrives.
bool wait_for_end(int pidfd, int timeout_ms, SignalInbox &signals);

} // namespace memtrace
