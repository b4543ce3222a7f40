#include "collect/kernel_figures.h"

#include <algorithm>
#include <map>

#include "collect/records.h"

namespace memtrace {

static_assert(TraceStats::kOpenCallsPerThread == MT_MAX_FRAMES);
static_assert(TraceStats::kOpenCallsPerProcess == MT_CALL_SLOTS);

namespace {

uint64_t non_negative(int64_t pages)
{
    return pages > 0 ? static_cast<uint64_t>(pages) : 0;
}

} // namespace

uint64_t rss_pages(const mt_proc &proc)
{
    return non_negative(proc.pages[MT_RSS_FILE]) + non_negative(proc.pages[MT_RSS_ANON]) +
           non_negative(proc.pages[MT_RSS_SHMEM]);
}

ProcessRecord figures_of(const mt_proc &proc, const KernelUnits &units)
{
    const uint64_t page = units.page_size;
    ProcessRecord rec;
    rec.pid = proc.tgid;
    rec.ppid = proc.ppid;
    rec.comm = comm_string(proc.comm);
    rec.start_rss = proc.start_rss * page;
    rec.final_rss = rss_pages(proc) * page;
    rec.peak_rss = proc.peak_rss * page;
    rec.peak_anon = proc.peak_split[MT_RSS_ANON] * page;
    rec.peak_file = proc.peak_split[MT_RSS_FILE] * page;
    rec.peak_shmem = proc.peak_split[MT_RSS_SHMEM] * page;
    rec.final_swap = non_negative(proc.pages[MT_RSS_SWAP]) * page;
    rec.final_anon = non_negative(proc.pages[MT_RSS_ANON]) * page;
    rec.final_file = non_negative(proc.pages[MT_RSS_FILE]) * page;
    rec.final_shmem = non_negative(proc.pages[MT_RSS_SHMEM]) * page;
    rec.final_vm = proc.vm * page;
    rec.peak_vm = proc.peak_vm * page;
    rec.page_faults = proc.faults;
    rec.touched = proc.touched * page;
    rec.mapped = proc.mapped * page;
    rec.unmapped = proc.unmapped * page;
    rec.touched_before_exec = proc.touched_before_exec * page;
    rec.mapped_before_exec = proc.mapped_before_exec * page;
    rec.start_s = units.seconds(proc.start_ns);
    rec.peak_s = units.seconds(proc.peak_ns);
    rec.attached = proc.flags & MT_PROC_ATTACHED;
    rec.forked = proc.flags & MT_PROC_FORKED;
    rec.execed = proc.flags & MT_PROC_EXECED;
    if (proc.kernel_hwm)
        rec.kernel_hwm = proc.kernel_hwm * page;
    if (proc.flags & MT_PROC_REPLACED) {
        rec.replaced = true;
        rec.end_s = units.seconds(proc.exit_ns);
    }
    if (proc.flags & MT_PROC_EXITED) {
        rec.exited = true;
        rec.wait_status = proc.exit_code;
        rec.end_s = units.seconds(proc.exit_ns);
    }
    return rec;
}

std::vector<ProcessRecord> figures_of(const std::vector<mt_proc> &procs, const KernelUnits &units)
{
    std::vector<ProcessRecord> out;
    out.reserve(procs.size());
    for (const mt_proc &p : procs)
        out.push_back(figures_of(p, units));
    return out;
}

TraceStats stats_from(const mt_stats &kernel, uint64_t malformed_records)
{
    TraceStats s;
    s.ringbuf_drops = kernel.ringbuf_drops;
    s.procs_not_traced = kernel.procs_full;
    s.mm_not_owned = kernel.mm_full;
    s.percpu_misses = kernel.percpu_misses;
    s.malformed_records = malformed_records;
    s.frames_overflow = kernel.frames_overflow;
    s.slots_full = kernel.slots_full;
    // -f py: Python functions past MT_PY_FUNCS, threads past the thread map
    s.func_stats_full = kernel.func_stats_full + kernel.py_funcs_full;
    s.threads_full = kernel.threads_full + kernel.py_threads_full;
    s.retsites_wanted = kernel.retsites;
    s.stack_samples = kernel.stack_samples;
    s.user_stacks_lost = kernel.user_stacks_lost;
    s.kernel_stacks_lost = kernel.kernel_stacks_lost;
    s.stack_bytes_full = kernel.stack_bytes_full;
    s.stack_copies = kernel.stack_copies;
    s.stack_copy_drops = kernel.stack_copy_drops;
    s.python_stacks = kernel.py_stacks;
    s.python_codes_full = kernel.py_codes_full;
    s.samples_dropped = kernel.samples_dropped;
    s.ranges_dropped = kernel.ranges_dropped;
    s.rss_events = kernel.rss_events;
    s.fault_events = kernel.fault_events;
    s.vm_events = kernel.vm_events;
    s.execs = kernel.execs;
    s.forks = kernel.forks;
    s.exits = kernel.exits;
    return s;
}

std::vector<FunctionTotals> function_totals(
    const std::vector<std::pair<mt_func_key, mt_func_stats>> &stats, const KernelUnits &units)
{
    const uint64_t page = units.page_size;
    std::vector<FunctionTotals> out;
    for (const auto &[key, s] : stats) {
        FunctionTotals t;
        t.pid = key.tgid;
        t.func = key.func;
        t.calls = s.calls;
        t.returned = s.returned;
        t.unreturned = s.unreturned;
        t.folded = s.folded;
        t.dropped = s.dropped;
        t.entry_hits = s.entry_hits;
        t.return_hits = s.return_hits;
        t.max_peak_increment = s.max_peak_inc * page;
        t.max_peak_rss = s.max_peak_rss * page;
        t.total_net = s.total_net * static_cast<int64_t>(page);
        t.max_tid = s.max_tid;
        t.max_base = s.max_base * page;
        if (s.max_exit_ns) {
            t.max_start_s = units.seconds(s.max_entry_ns);
            t.max_end_s = units.seconds(s.max_exit_ns);
        }
        t.marks_dropped = s.marks_dropped;
        out.push_back(t);
    }
    return out;
}

std::vector<OpenCall> open_calls(const std::vector<std::pair<uint32_t, mt_thread_frames>> &frames,
                                 const std::vector<std::pair<uint32_t, mt_call_slots>> &slots,
                                 const std::vector<mt_proc> &procs, const KernelUnits &units)
{
    std::map<uint32_t, const mt_call_slots *> slots_of;
    for (const auto &[tgid, cs] : slots)
        slots_of[tgid] = &cs;
    std::map<uint32_t, uint64_t> rss;
    for (const mt_proc &p : procs)
        rss[p.tgid] = rss_pages(p);
    std::vector<OpenCall> out;
    for (const auto &[tid, fr] : frames) {
        for (uint32_t i = 0; i < fr.depth && i < MT_MAX_FRAMES; ++i) {
            const mt_frame &f = fr.f[i];
            if (f.folded)
                continue; // a recursive call: its outermost call stands for it
            uint64_t peak = std::max<uint64_t>(f.base, rss.count(fr.tgid) ? rss[fr.tgid] : 0);
            auto cs = slots_of.find(fr.tgid);
            if (f.slot < MT_CALL_SLOTS && cs != slots_of.end() && ((cs->second->used >> f.slot) & 1))
                peak = std::max<uint64_t>(peak, cs->second->peak[f.slot]);
            out.push_back({fr.tgid, tid, f.func, f.base * units.page_size, peak * units.page_size,
                           units.seconds(f.entry_ns)});
        }
    }
    return out;
}

} // namespace memtrace
