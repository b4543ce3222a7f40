#include "session/preflight.h"

#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "error.h"
#include "collect/procfs.h"

namespace memtrace {
namespace {

constexpr int kCapSysAdmin = 21;
constexpr int kCapPerfmon = 38;
constexpr int kCapBpf = 39;

bool has_cap(uint64_t caps, int cap)
{
    return caps & (uint64_t{1} << cap);
}

bool is_dir(const char *path)
{
    struct stat st {};
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

} // namespace

bool capabilities_allow_tracing(uint64_t cap_eff)
{
    return has_cap(cap_eff, kCapSysAdmin) ||
           (has_cap(cap_eff, kCapBpf) && has_cap(cap_eff, kCapPerfmon));
}

uint64_t effective_capabilities()
{
    std::ifstream status("/proc/self/status");
    std::string line;
    uint64_t cap_eff = 0;
    while (std::getline(status, line))
        if (line.rfind("CapEff:", 0) == 0)
            cap_eff = std::stoull(line.substr(7), nullptr, 16);
    return cap_eff;
}

bool has_sys_admin()
{
    return has_cap(effective_capabilities(), kCapSysAdmin);
}

void check_privileges()
{
    const uint64_t cap_eff = effective_capabilities();
    if (capabilities_allow_tracing(cap_eff))
        return;
    std::string missing;
    if (!has_cap(cap_eff, kCapBpf))
        missing = "CAP_BPF";
    if (!has_cap(cap_eff, kCapPerfmon))
        missing += missing.empty() ? "CAP_PERFMON" : " and CAP_PERFMON";
    throw Error("memtrace needs root, or the capabilities CAP_BPF and CAP_PERFMON (" + missing +
                " missing): run it with sudo");
}

void check_kernel_btf(const std::string &path)
{
    if (access(path.c_str(), R_OK) != 0)
        throw Error("this kernel has no BTF (" + path +
                    " is missing): memtrace needs Linux >= 5.8 built with CONFIG_DEBUG_INFO_BTF=y");
}

bool ensure_tracefs()
{
    // libbpf looks in /sys/kernel/debug/tracing first, then /sys/kernel/tracing.
    if (is_dir("/sys/kernel/debug/tracing/events") || is_dir("/sys/kernel/tracing/events"))
        return false;
    struct stat st {};
    if (stat("/sys/kernel/tracing/events", &st) != 0 && errno == EACCES)
        throw Error("cannot read tracefs at /sys/kernel/tracing (it is root's): not as root, "
                    "memtrace needs CAP_DAC_READ_SEARCH too, besides CAP_BPF and CAP_PERFMON");
    if (mount("tracefs", "/sys/kernel/tracing", "tracefs", 0, nullptr) != 0) {
        int err = errno;
        throw Error(std::string("tracefs is not mounted and mounting it failed (") +
                    std::strerror(err) +
                    "): mount it with 'mount -t tracefs tracefs /sys/kernel/tracing'");
    }
    return true;
}

bool kernel_has_tracepoint(const std::string &group, const std::string &event)
{
    for (const char *root : {"/sys/kernel/tracing/events/", "/sys/kernel/debug/tracing/events/"})
        if (is_dir((root + group + "/" + event).c_str()))
            return true;
    return false;
}

std::string resolve_command(const std::string &name, const std::string &path_env)
{
    auto check = [&](const std::string &file) -> int {
        struct stat st {};
        if (stat(file.c_str(), &st) != 0)
            return errno;
        if (S_ISDIR(st.st_mode))
            return EISDIR;
        if (access(file.c_str(), X_OK) != 0)
            return errno;
        return 0;
    };
    if (name.empty())
        throw Error("the command is an empty string");
    if (name.find('/') != std::string::npos) {
        if (int err = check(name))
            throw Error("cannot run '" + name + "': " + std::strerror(err));
        return name;
    }
    int first_error = ENOENT;
    std::istringstream dirs(path_env.empty() ? "/usr/local/bin:/usr/bin:/bin" : path_env);
    std::string dir;
    while (std::getline(dirs, dir, ':')) {
        std::string file = (dir.empty() ? "." : dir) + "/" + name;
        int err = check(file);
        if (err == 0)
            return file;
        if (err != ENOENT && err != ENOTDIR && first_error == ENOENT)
            first_error = err;
    }
    if (first_error == ENOENT)
        throw Error("command not found: '" + name + "' (not in PATH; give a path like ./" + name +
                    ")");
    throw Error("cannot run '" + name + "': " + std::strerror(first_error));
}

std::vector<pid_t> resolve_pids(const std::vector<pid_t> &pids, const ProcFs &procfs,
                                std::vector<std::string> &notes)
{
    std::vector<pid_t> out;
    for (pid_t pid : pids) {
        PidInfo info = procfs.inspect(pid);
        std::string name = "pid " + std::to_string(pid);
        switch (info.kind) {
        case PidKind::Missing:
            throw Error("no process with " + name + " (check it with ps -p " + std::to_string(pid) +
                        ")");
        case PidKind::KernelThread:
            throw Error(name + " (" + info.comm +
                        ") is a kernel thread: it has no user memory to trace");
        case PidKind::Zombie:
            throw Error(name + " (" + info.comm + ") has already exited");
        case PidKind::Thread:
            notes.push_back(std::to_string(pid) + " is a thread of process " +
                            std::to_string(info.tgid) + ": tracing process " +
                            std::to_string(info.tgid));
            out.push_back(info.tgid);
            break;
        case PidKind::Process:
            out.push_back(pid);
            break;
        }
    }
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
}

} // namespace memtrace
