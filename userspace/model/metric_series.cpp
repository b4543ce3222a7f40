#include "model/metric_series.h"

#include <algorithm>
#include <map>
#include <utility>

namespace memtrace {

std::vector<ProcessSeries> process_series(const std::vector<ProcessRecord> &live, size_t top)
{
    std::vector<const ProcessRecord *> order;
    for (const ProcessRecord &p : live)
        order.push_back(&p);
    std::sort(order.begin(), order.end(), [](const ProcessRecord *a, const ProcessRecord *b) {
        return a->final_rss != b->final_rss ? a->final_rss > b->final_rss : a->pid < b->pid;
    });
    std::vector<ProcessSeries> out;
    ProcessSeries other;
    other.pid = "other";
    for (size_t i = 0; i < order.size(); ++i) {
        const ProcessRecord &p = *order[i];
        if (i < top) {
            out.push_back({std::to_string(p.pid), p.comm, p.final_rss, p.peak_rss, p.final_anon,
                           p.final_file, p.final_shmem, p.page_faults, p.mapped, p.unmapped});
            continue;
        }
        other.rss += p.final_rss;
        other.peak_rss += p.peak_rss;
        other.anon += p.final_anon;
        other.file += p.final_file;
        other.shmem += p.final_shmem;
        other.page_faults += p.page_faults;
        other.mapped += p.mapped;
        other.unmapped += p.unmapped;
    }
    out.push_back(std::move(other));
    return out;
}

std::vector<FunctionSeries> function_series(const std::vector<FunctionRecord> &records)
{
    std::vector<FunctionSeries> out;
    std::map<std::pair<std::string, std::string>, size_t> index;
    for (const FunctionRecord &r : records) {
        const std::string &name = r.demangled.empty() ? r.symbol : r.demangled;
        auto [it, fresh] = index.try_emplace({name, r.module}, out.size());
        if (fresh)
            out.push_back({name, r.module});
        FunctionSeries &s = out[it->second];
        s.calls += r.calls;
        s.max_peak_increment = std::max(s.max_peak_increment, r.max_peak_increment);
        s.max_peak_rss = std::max(s.max_peak_rss, r.max_peak_rss);
        s.total_net += r.total_net;
        s.active += r.active;
    }
    return out;
}

MetricSeries metric_series(const MetricsSnapshot &snapshot, size_t top)
{
    return {process_series(snapshot.live, top), function_series(snapshot.functions)};
}

} // namespace memtrace
