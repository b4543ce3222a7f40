#include "collect/signal_inbox.h"

#include <poll.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <utility>

#include "error.h"

namespace memtrace {

SignalInbox::SignalInbox()
{
    sigemptyset(&set_);
    for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGCHLD})
        sigaddset(&set_, sig);
    sigprocmask(SIG_BLOCK, &set_, nullptr);
    fd_ = signalfd(-1, &set_, SFD_CLOEXEC | SFD_NONBLOCK);
    if (fd_ < 0)
        throw Error(std::string("cannot create a signalfd: ") + std::strerror(errno));
}

SignalInbox::~SignalInbox()
{
    close(fd_);
}

std::optional<int> SignalInbox::take()
{
    signalfd_siginfo info{};
    while (read(fd_, &info, sizeof(info)) == static_cast<ssize_t>(sizeof(info))) {
        if (info.ssi_signo != SIGCHLD)
            return static_cast<int>(info.ssi_signo);
        child_ended_ = true;
    }
    return std::nullopt;
}

bool SignalInbox::take_child_ended()
{
    return std::exchange(child_ended_, false);
}

void reap_orphans(pid_t keep)
{
    for (;;) {
        siginfo_t info{};
        if (waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT) != 0 || info.si_pid == 0 ||
            info.si_pid == keep)
            return; // none ended, or the command first: the trace is ending anyway
        waitpid(info.si_pid, nullptr, WNOHANG);
    }
}

uint64_t monotonic_ns()
{
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

int open_pidfd(pid_t pid)
{
    // glibc 2.36's <sys/pidfd.h> lacks extern "C" for C++: call the kernel directly.
    return static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
}

bool wait_for_end(int pidfd, int timeout_ms, SignalInbox &signals)
{
    if (pidfd < 0)
        return true;
    pollfd fds[2] = {{pidfd, POLLIN, 0}, {signals.fd(), POLLIN, 0}};
    const uint64_t deadline = monotonic_ns() + static_cast<uint64_t>(timeout_ms) * 1000000ull;
    for (;;) {
        const uint64_t now = monotonic_ns();
        if (now >= deadline)
            return false;
        const int left = static_cast<int>((deadline - now) / 1000000ull) + 1;
        const int n = poll(fds, 2, left);
        if (n < 0 && errno != EINTR)
            return false;
        if (fds[0].revents)
            return true;
        if (fds[1].revents && signals.take())
            return false;
    }
}

} // namespace memtrace
