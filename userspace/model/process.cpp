#include "model/process.h"

#include <string.h>

#include <algorithm>


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

uint64_t highest_peak(const ProcessRecord &rec)
{
    uint64_t peak = rec.peak_rss;
    for (const ProcessRecord &e : rec.earlier_programs)
        peak = std::max(peak, e.peak_rss);
    return peak;
}

std::string signal_name(int sig)
{
    const char *abbrev = sigabbrev_np(sig);
    return abbrev ? std::string("SIG") + abbrev : "signal " + std::to_string(sig);
}

void apply_figures(ProcessRecord &rec, const ProcessRecord &figures)
{
    const uint32_t ppid = rec.ppid;
    const std::string comm = rec.comm, cmdline = rec.cmdline, exe = rec.exe;
    std::vector<ProcessRecord> earlier = std::move(rec.earlier_programs);
    const uint64_t earlier_not_kept = rec.earlier_programs_not_kept;
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
    rec.exe = exe;
    rec.earlier_programs = std::move(earlier);
    rec.earlier_programs_not_kept = earlier_not_kept;
    rec.kernel_maxrss = kernel_maxrss;
    if (!figures.exited) {
        rec.exited = exited;
        rec.wait_status = wait_status;
        rec.end_s = end_s;
    }
}

} // namespace memtrace
