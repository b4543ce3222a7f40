#include "report/json_writer.h"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

namespace memtrace {
namespace {

using json = nlohmann::ordered_json;

double rounded(double seconds)
{
    return std::round(seconds * 1e6) / 1e6;
}

const char *mode_name(TraceMode mode)
{
    switch (mode) {
    case TraceMode::Command:
        return "command";
    case TraceMode::Pids:
        return "pids";
    case TraceMode::All:
        return "all";
    }
    return "?";
}

const char *origin(const ProcessRecord &p, const RunReport &r)
{
    if (r.mode == TraceMode::Command && p.pid == r.command_pid)
        return "command";
    if (p.forked)
        return "forked";
    return "attached";
}

json process_json(const ProcessRecord &p, const RunReport &r)
{
    json j;
    j["pid"] = p.pid;
    j["ppid"] = p.ppid;
    j["comm"] = p.comm;
    j["cmdline"] = p.cmdline;
    j["origin"] = origin(p, r);
    j["peak_rss_bytes"] = p.peak_rss;
    j["start_rss_bytes"] = p.start_rss;
    j["final_rss_bytes"] = p.final_rss;
    j["peak_anon_bytes"] = p.peak_anon;
    j["peak_file_bytes"] = p.peak_file;
    j["peak_shmem_bytes"] = p.peak_shmem;
    j["final_swap_bytes"] = p.final_swap;
    j["peak_vm_bytes"] = p.peak_vm;
    j["final_vm_bytes"] = p.final_vm;
    j["page_faults"] = p.page_faults;
    j["touched_bytes"] = p.touched;
    j["mapped_bytes"] = p.mapped;
    j["unmapped_bytes"] = p.unmapped;
    j["exit_code"] = p.exit_code() ? json(*p.exit_code()) : json(nullptr);
    j["exit_signal"] = p.exit_signal() ? json(signal_name(*p.exit_signal())) : json(nullptr);
    j["running"] = !p.exited;
    j["execed"] = p.execed;
    j["start_s"] = rounded(p.start_s);
    j["peak_s"] = rounded(p.peak_s);
    j["end_s"] = p.end_s ? json(rounded(*p.end_s)) : json(nullptr);
    if (p.kernel_maxrss)
        j["kernel_maxrss_bytes"] = *p.kernel_maxrss;
    return j;
}

} // namespace

void write_json(std::ostream &out, const RunReport &r)
{
    json j;
    j["version"] = 1;
    j["mode"] = mode_name(r.mode);
    if (r.mode == TraceMode::Command) {
        j["command"] = r.command;
        j["command_pid"] = r.command_pid;
    }
    if (r.mode == TraceMode::Pids)
        j["pids"] = r.pids;
    j["duration_s"] = rounded(r.duration_s);
    j["end_reason"] = r.end_reason;

    std::vector<ProcessRecord> procs = r.processes;
    std::stable_sort(procs.begin(), procs.end(),
                     [](auto &a, auto &b) { return a.peak_rss > b.peak_rss; });
    json list = json::array();
    for (const auto &p : procs)
        list.push_back(process_json(p, r));
    j["processes"] = std::move(list);

    json functions = json::array();
    for (const FunctionRecord &f : r.functions) {
        json fj;
        fj["symbol"] = f.symbol;
        fj["demangled"] = f.demangled;
        fj["module"] = f.module;
        fj["pid"] = f.pid;
        fj["calls"] = f.calls;
        fj["max_peak_increment_bytes"] = f.max_peak_increment;
        fj["max_peak_rss_bytes"] = f.max_peak_rss;
        fj["total_net_bytes"] = f.total_net;
        fj["unreturned"] = f.unreturned;
        fj["probe_hits"] = f.probe_hits();
        fj["returned"] = f.returned;
        fj["active"] = f.active;
        fj["recursive_calls_folded"] = f.folded;
        fj["calls_not_tracked"] = f.dropped;
        fj["max_call"] = {{"tid", f.max_tid},
                          {"base_rss_bytes", f.max_base},
                          {"start_s", rounded(f.max_start_s)},
                          {"end_s", rounded(f.max_end_s)}};
        fj["estimated_probe_cost_s"] = rounded(f.estimated_cost_s);
        functions.push_back(std::move(fj));
    }
    if (!r.functions.empty() || r.probes_attached)
        j["functions"] = std::move(functions);

    if (r.stacks) {
        const StacksSummary &st = *r.stacks;
        j["stacks"] = {{"kind", st.kind},
                       {"file", st.path},
                       {"sample_bytes", st.sample_bytes},
                       {"samples", st.samples},
                       {"distinct_stacks", r.folded.size()},
                       {"folded_total_bytes", st.folded_total},
                       {"exact_total_bytes", st.exact_total},
                       {"samples_without_stack", st.user_stacks_lost + st.samples_lost},
                       {"without_frame_pointers", st.without_frame_pointers}};
    }

    const TraceStats &s = r.stats;
    j["stats"] = {
        {"lost_events", s.lost_events()},
        {"ringbuf_drops", s.ringbuf_drops},
        {"procs_not_traced", s.procs_not_traced},
        {"mm_not_owned", s.mm_not_owned},
        {"percpu_read_failures", s.percpu_misses},
        {"malformed_records", s.malformed_records},
        {"calls_not_tracked", s.frames_overflow},
        {"calls_with_approximate_peak", s.slots_full},
        {"function_figures_lost", s.func_stats_full + s.threads_full},
        {"ended_processes_not_listed", s.ended_not_kept},
        {"rss_events", s.rss_events},
        {"page_fault_events", s.fault_events},
        {"vm_events", s.vm_events},
        {"execs", s.execs},
        {"forks", s.forks},
        {"exits", s.exits},
    };
    const SelfCost &c = r.cost;
    j["memtrace"] = {
        {"cpu_user_s", rounded(c.cpu_user_s)},
        {"cpu_system_s", rounded(c.cpu_system_s)},
        {"maxrss_bytes", c.maxrss_bytes},
        {"bpf_run_time_ns", c.bpf_stats_enabled ? json(c.bpf_run_time_ns) : json(nullptr)},
        {"bpf_run_count", c.bpf_stats_enabled ? json(c.bpf_run_count) : json(nullptr)},
    };
    out << j.dump(2) << '\n';
}

} // namespace memtrace
