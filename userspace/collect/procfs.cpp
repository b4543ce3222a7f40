#include "collect/procfs.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "collect/records.h"

namespace memtrace {
namespace {

constexpr unsigned long kPfKthread = 0x00200000; // include/linux/sched.h

} // namespace

std::optional<std::string> ProcFs::read(pid_t pid, const char *file) const
{
    std::ifstream in(root_ + "/" + std::to_string(pid) + "/" + file, std::ios::binary);
    if (!in)
        return std::nullopt;
    std::ostringstream text;
    text << in.rdbuf();
    if (in.bad())
        return std::nullopt;
    return text.str();
}

std::vector<pid_t> ProcFs::live_descendants(pid_t ancestor) const
{
    std::multimap<pid_t, std::pair<pid_t, bool>> children; // parent -> (pid, ended)
    std::error_code ec;
    for (const auto &entry : std::filesystem::directory_iterator(root_, ec)) {
        const std::string name = entry.path().filename().string();
        if (name.find_first_not_of("0123456789") != std::string::npos)
            continue;
        auto stat = read(static_cast<pid_t>(std::stol(name)), "stat");
        size_t close = stat ? stat->rfind(')') : std::string::npos;
        if (close == std::string::npos)
            continue; // gone meanwhile
        std::istringstream fields(stat->substr(close + 1));
        std::string state;
        pid_t ppid = 0;
        fields >> state >> ppid;
        children.emplace(ppid, std::make_pair(static_cast<pid_t>(std::stol(name)),
                                              state == "Z" || state == "X"));
    }
    std::vector<pid_t> live, queue{ancestor};
    while (!queue.empty()) {
        const pid_t parent = queue.back();
        queue.pop_back();
        auto [first, last] = children.equal_range(parent);
        for (auto it = first; it != last; ++it) {
            queue.push_back(it->second.first);
            if (!it->second.second)
                live.push_back(it->second.first);
        }
    }
    return live;
}

PidInfo ProcFs::inspect(pid_t pid) const
{
    PidInfo info;
    auto stat = read(pid, "stat");
    if (!stat)
        return info;
    // "pid (comm) S ppid pgrp session tty tpgid flags ...": comm may hold spaces and ')'.
    size_t open = stat->find('(');
    size_t close = stat->rfind(')');
    if (open == std::string::npos || close == std::string::npos || close < open)
        return info;
    info.comm = stat->substr(open + 1, close - open - 1);
    std::istringstream fields(stat->substr(close + 1));
    std::string state;
    long ppid = 0, pgrp = 0, session = 0, tty = 0, tpgid = 0;
    unsigned long flags = 0;
    fields >> state >> ppid >> pgrp >> session >> tty >> tpgid >> flags;
    if (!fields)
        return info;

    info.tgid = pid;
    if (auto status = read(pid, "status")) {
        std::istringstream lines(*status);
        std::string line;
        while (std::getline(lines, line))
            if (line.rfind("Tgid:", 0) == 0)
                info.tgid = static_cast<pid_t>(std::stol(line.substr(5)));
    }
    if (flags & kPfKthread)
        info.kind = PidKind::KernelThread;
    else if (state == "Z" || state == "X")
        info.kind = PidKind::Zombie;
    else if (info.tgid != pid)
        info.kind = PidKind::Thread;
    else
        info.kind = PidKind::Process;
    return info;
}

std::optional<std::string> ProcFs::cmdline(pid_t pid) const
{
    auto raw = read(pid, "cmdline");
    if (!raw || raw->empty())
        return std::nullopt;
    return join_cmdline(*raw);
}

std::optional<std::string> ProcFs::exe(pid_t pid) const
{
    std::error_code ec;
    std::filesystem::path target =
        std::filesystem::read_symlink(root_ + "/" + std::to_string(pid) + "/exe", ec);
    if (ec || target.empty())
        return std::nullopt;
    return target.string();
}

std::optional<std::string> ProcFs::environ_value(pid_t pid, const std::string &name) const
{
    auto raw = read(pid, "environ");
    if (!raw)
        return std::nullopt;
    std::string prefix = name + "=";
    size_t start = 0;
    while (start < raw->size()) {
        size_t end = raw->find('\0', start);
        if (end == std::string::npos)
            end = raw->size();
        if (raw->compare(start, prefix.size(), prefix) == 0)
            return raw->substr(start + prefix.size(), end - start - prefix.size());
        start = end + 1;
    }
    return std::nullopt;
}

std::optional<uint64_t> ProcFs::status_kib(pid_t pid, const std::string &field) const
{
    auto status = read(pid, "status");
    if (!status)
        return std::nullopt;
    std::istringstream lines(*status);
    std::string line;
    while (std::getline(lines, line)) {
        if (line.rfind(field + ":", 0) == 0) {
            std::istringstream value(line.substr(field.size() + 1));
            uint64_t kib = 0;
            if (value >> kib)
                return kib;
        }
    }
    return std::nullopt;
}

std::optional<double> ProcFs::cpu_seconds(pid_t pid) const
{
    std::optional<std::string> stat = read(pid, "stat");
    if (!stat)
        return std::nullopt;
    // after "(comm)", which may hold spaces and parentheses: state is field 3,
    // utime and stime fields 14 and 15
    const size_t close = stat->rfind(')');
    if (close == std::string::npos)
        return std::nullopt;
    std::istringstream rest(stat->substr(close + 1));
    std::string field;
    unsigned long long utime = 0, stime = 0;
    for (int n = 3; n <= 13 && rest >> field; ++n) {
    }
    if (!(rest >> utime >> stime))
        return std::nullopt;
    return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

} // namespace memtrace
