#include "model/functions.h"

#include <algorithm>
#include <map>

namespace memtrace {

std::vector<FunctionRecord> build_function_records(const FunctionInputs &in)
{
    std::map<std::pair<uint32_t, uint32_t>, FunctionRecord> records;
    auto record = [&](uint32_t pid, uint32_t id) -> FunctionRecord * {
        if (id >= in.functions.size())
            return nullptr;
        auto [it, fresh] = records.try_emplace({pid, id});
        if (fresh) {
            const TracedFunction &f = in.functions[id];
            it->second.pid = pid;
            it->second.id = id;
            it->second.symbol = f.symbol;
            it->second.demangled = f.demangled;
            it->second.module = f.module;
            it->second.python = f.python;
        }
        return &it->second;
    };

    for (const FunctionTotals &t : in.totals) {
        FunctionRecord *r = record(t.pid, t.func);
        if (!r)
            continue;
        r->calls = t.calls;
        r->returned = t.returned;
        r->unreturned = t.unreturned;
        r->folded = t.folded;
        r->dropped = t.dropped;
        r->max_peak_increment = t.max_peak_increment;
        r->max_peak_rss = t.max_peak_rss;
        r->total_net = t.total_net;
        r->max_tid = t.max_tid;
        r->max_base = t.max_base;
        r->max_start_s = t.max_start_s;
        r->max_end_s = t.max_end_s;
        r->entry_hits = t.entry_hits;
        r->return_hits = t.return_hits;
        const TracedFunction &f = in.functions[t.func];
        r->entry_hit_us = f.entry_cost_us;
        r->return_hit_us = f.return_cost_us;
        r->cost_measured = f.cost_measured;
        r->estimated_cost_s = (static_cast<double>(t.entry_hits) * f.entry_cost_us +
                               static_cast<double>(t.return_hits) * f.return_cost_us) /
                              1e6;
    }

    // Calls still open: their peak so far counts, like a finished call's.
    for (const OpenCall &c : in.open_calls) {
        FunctionRecord *r = record(c.pid, c.func);
        if (!r)
            continue;
        ++r->active;
        uint64_t increment = c.peak > c.base ? c.peak - c.base : 0;
        if (increment > r->max_peak_increment || r->max_end_s == 0) {
            r->max_peak_increment = std::max(r->max_peak_increment, increment);
            r->max_tid = c.tid;
            r->max_base = c.base;
            r->max_start_s = c.start_s;
            r->max_end_s = in.end_s;
        }
        r->max_peak_rss = std::max(r->max_peak_rss, c.peak);
    }

    for (uint32_t pid : in.every_function_for)
        for (uint32_t id = 0; id < in.functions.size(); ++id)
            // Python functions are known by being seen; those of programs exec'd later, where they ran
            if (!in.functions[id].python && !in.functions[id].from_exec)
                record(pid, id);

    std::vector<FunctionRecord> out;
    for (auto &[key, r] : records)
        out.push_back(std::move(r));
    std::stable_sort(out.begin(), out.end(), [](const auto &a, const auto &b) {
        if (a.max_peak_increment != b.max_peak_increment)
            return a.max_peak_increment > b.max_peak_increment;
        return a.calls > b.calls;
    });
    return out;
}

} // namespace memtrace
