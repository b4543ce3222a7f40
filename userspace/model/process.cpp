#include "model/process.h"

#include <string.h>

#include "collect/records.h"

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

namespace {

uint64_t non_negative(int64_t pages)
{
    return pages > 0 ? static_cast<uint64_t>(pages) : 0;
}

double seconds_since(uint64_t ns, uint64_t start_ns)
{
    return (static_cast<double>(ns) - static_cast<double>(start_ns)) / 1e9;
}

} // namespace

uint64_t rss_pages(const mt_proc &proc)
{
    return non_negative(proc.pages[MT_RSS_FILE]) + non_negative(proc.pages[MT_RSS_ANON]) +
           non_negative(proc.pages[MT_RSS_SHMEM]);
}

void apply_figures(ProcessRecord &rec, const mt_proc &proc, uint64_t page_size,
                   uint64_t trace_start_ns)
{
    rec.pid = proc.tgid;
    if (proc.ppid)
        rec.ppid = proc.ppid;
    std::string comm = comm_string(proc.comm);
    if (!comm.empty())
        rec.comm = comm;

    rec.start_rss = proc.start_rss * page_size;
    rec.final_rss = rss_pages(proc) * page_size;
    rec.peak_rss = proc.peak_rss * page_size;
    rec.peak_anon = proc.peak_split[MT_RSS_ANON] * page_size;
    rec.peak_file = proc.peak_split[MT_RSS_FILE] * page_size;
    rec.peak_shmem = proc.peak_split[MT_RSS_SHMEM] * page_size;
    rec.final_swap = non_negative(proc.pages[MT_RSS_SWAP]) * page_size;
    rec.final_vm = proc.vm * page_size;
    rec.peak_vm = proc.peak_vm * page_size;
    rec.page_faults = proc.faults;
    rec.touched = proc.touched * page_size;
    rec.mapped = proc.mapped * page_size;
    rec.unmapped = proc.unmapped * page_size;

    rec.start_s = seconds_since(proc.start_ns, trace_start_ns);
    rec.peak_s = seconds_since(proc.peak_ns, trace_start_ns);
    rec.attached = proc.flags & MT_PROC_ATTACHED;
    rec.forked = proc.flags & MT_PROC_FORKED;
    rec.execed = proc.flags & MT_PROC_EXECED;
    if (proc.flags & MT_PROC_EXITED) {
        rec.exited = true;
        rec.wait_status = proc.exit_code;
        rec.end_s = seconds_since(proc.exit_ns, trace_start_ns);
    }
}

} // namespace memtrace
