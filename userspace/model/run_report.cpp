#include "model/run_report.h"

namespace memtrace {

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
    s.func_stats_full = kernel.func_stats_full;
    s.threads_full = kernel.threads_full;
    s.retsites_wanted = kernel.retsites;
    s.stack_samples = kernel.stack_samples;
    s.user_stacks_lost = kernel.user_stacks_lost;
    s.kernel_stacks_lost = kernel.kernel_stacks_lost;
    s.stack_bytes_full = kernel.stack_bytes_full;
    s.stack_copies = kernel.stack_copies;
    s.stack_copy_drops = kernel.stack_copy_drops;
    s.rss_events = kernel.rss_events;
    s.fault_events = kernel.fault_events;
    s.vm_events = kernel.vm_events;
    s.execs = kernel.execs;
    s.forks = kernel.forks;
    s.exits = kernel.exits;
    return s;
}

} // namespace memtrace
