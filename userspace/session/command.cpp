#include "session/command.h"

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "error.h"

namespace memtrace {
namespace {

struct ChildFailure {
    int stage; // 0: exec, 1: dropping privileges
    int err;
};

[[noreturn]] void child_fail(int fd, int stage)
{
    ChildFailure failure{stage, errno};
    ssize_t ignored = write(fd, &failure, sizeof(failure));
    (void)ignored;
    _exit(127);
}

// Both ends of a new pipe, closed on exec.
struct Pipe {
    UniqueFd read_end, write_end;
};

Pipe make_pipe()
{
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0)
        throw Error(std::string("cannot create a pipe: ") + std::strerror(errno));
    return {UniqueFd(fds[0]), UniqueFd(fds[1])};
}

// A user or group id as sudo sets it: decimal digits, below (uid_t)-1. Anything
// else would run the command as root by mistake, so it is refused.
uint32_t sudo_id(const char *name, const char *text)
{
    std::string value = text ? text : "";
    bool digits = !value.empty() && value.size() <= 10 &&
                  value.find_first_not_of("0123456789") == std::string::npos;
    unsigned long long id = digits ? std::strtoull(value.c_str(), nullptr, 10) : 0;
    if (!digits || id >= 0xffffffffULL)
        throw Error(std::string(name) + (text ? " is not a user or group id" : " is not set") +
                    ": refusing to run the command as root (fix it, or use --as-root)");
    return static_cast<uint32_t>(id);
}

} // namespace

std::optional<RunAs> sudo_invoker()
{
    const char *uid_text = getenv("SUDO_UID");
    const char *gid_text = getenv("SUDO_GID");
    if (geteuid() != 0 || (!uid_text && !gid_text))
        return std::nullopt;
    RunAs who;
    who.uid = static_cast<uid_t>(sudo_id("SUDO_UID", uid_text));
    who.gid = static_cast<gid_t>(sudo_id("SUDO_GID", gid_text));
    if (who.uid == 0)
        return std::nullopt;
    if (passwd *pw = getpwuid(who.uid)) {
        who.user = pw->pw_name;
        int count = 64;
        std::vector<gid_t> groups(static_cast<size_t>(count));
        if (getgrouplist(pw->pw_name, who.gid, groups.data(), &count) < 0) {
            groups.resize(static_cast<size_t>(count));
            getgrouplist(pw->pw_name, who.gid, groups.data(), &count);
        }
        groups.resize(static_cast<size_t>(count));
        who.groups = groups;
    } else {
        who.groups = {who.gid};
    }
    return who;
}

HeldCommand::HeldCommand(const std::vector<std::string> &argv, const std::string &path,
                         std::optional<RunAs> run_as)
    : name_(argv.empty() ? path : argv.front())
{
    Pipe go = make_pipe();
    Pipe err = make_pipe();
    // Everything the child needs is prepared before fork: after it, only
    // async-signal-safe calls.
    std::vector<char *> args;
    for (const auto &a : argv)
        args.push_back(const_cast<char *>(a.c_str()));
    args.push_back(nullptr);

    // Its orphans (a shell's background jobs) become memtrace's children, not
    // init's: -d can still find and end them, and memtrace reaps them.
    prctl(PR_SET_CHILD_SUBREAPER, 1);
    pid_ = fork();
    if (pid_ < 0) {
        int e = errno;
        throw Error(std::string("cannot fork: ") + std::strerror(e));
    }
    if (pid_ == 0) {
        // Undo what memtrace changed for itself: blocked and ignored signals.
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, nullptr);
        for (int sig : {SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGQUIT})
            signal(sig, SIG_DFL);
        char byte = 0;
        ssize_t n;
        do
            n = read(go.read_end.get(), &byte, 1);
        while (n < 0 && errno == EINTR);
        if (n != 1)
            _exit(127); // memtrace went away before releasing us
        if (run_as) {
            if (setgroups(run_as->groups.size(), run_as->groups.data()) != 0 ||
                setgid(run_as->gid) != 0 || setuid(run_as->uid) != 0)
                child_fail(err.write_end.get(), 1);
        }
        execv(path.c_str(), args.data());
        child_fail(err.write_end.get(), 0);
    }
    // The child's ends are the child's: the error pipe reads end-of-file at its exec.
    go.read_end.reset();
    err.write_end.reset();
    go_fd_ = std::move(go.write_end);
    error_fd_ = std::move(err.read_end);
}

HeldCommand::~HeldCommand()
{
    if (!released_)
        abandon();
}

void HeldCommand::abandon()
{
    if (pid_ <= 0)
        return;
    kill(pid_, SIGKILL);
    while (waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
}

void HeldCommand::release()
{
    char go = 1;
    if (write(go_fd_.get(), &go, 1) != 1)
        throw Error(std::string("cannot release the command: ") + std::strerror(errno));
    go_fd_.reset();
    released_ = true;

    ChildFailure failure{};
    ssize_t n;
    do
        n = read(error_fd_.get(), &failure, sizeof(failure));
    while (n < 0 && errno == EINTR);
    error_fd_.reset();
    if (n == 0)
        return; // exec succeeded: the pipe closed on exec
    while (waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
    if (n != sizeof(failure))
        throw Error("the command failed to start");
    if (failure.stage == 1)
        throw Error("cannot switch to the invoking user to run '" + name_ +
                    "': " + std::strerror(failure.err) + " (use --as-root to run it as root)");
    throw Error("cannot run '" + name_ + "': " + std::strerror(failure.err));
}

} // namespace memtrace
