#include "model/process.h"

#include <string.h>


namespace memtrace {

std::optional<int> ProcessRecord::exit_code() const
{
    if (!wait_status)
        return std::nullopt;
    int st = *wait_status;
    if ((st & 0x7f) == 0)
        return (st >> 8) & 0xff;
    return 128 + (st & 0x7f);
}

std::optional<int> ProcessRecord::exit_signal() const
{
    if (!wait_status || (*wait_status & 0x7f) == 0)
        return std::nullopt;
    return *wait_status & 0x7f;
}

std::string signal_name(int sig)
{
    const char *abbrev = sigabbrev_np(sig);
    return abbrev ? std::string("SIG") + abbrev : "signal " + std::to_string(sig);
}

void apply_figures(ProcessRecord &rec, const ProcessRecord &figures)
{
    const uint32_t ppid = rec.ppid;
    const std::string comm = rec.comm, cmdline = rec.cmdline;
    const std::optional<int> wait_status = rec.wait_status;
    const std::optional<uint64_t> kernel_maxrss = rec.kernel_maxrss;
    const bool exited = rec.exited;
    const std::optional<double> end_s = rec.end_s;
    rec = figures;
    if (!rec.ppid)
        rec.ppid = ppid;
    if (rec.comm.empty())
        rec.comm = comm;
    rec.cmdline = cmdline;
    rec.kernel_maxrss = kernel_maxrss;
    if (!figures.exited) {
        rec.exited = exited;
        rec.wait_status = wait_status;
        rec.end_s = end_s;
    }
}

} // namespace memtrace
