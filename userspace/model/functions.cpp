#include "model/functions.h"

#include <algorithm>
#include <map>

namespace memtrace {

std::vector<FunctionRecord> build_function_records(const FunctionInputs &in)
{
    auto seconds = [&](uint64_t ns) {
        return (static_cast<double>(ns) - static_cast<double>(in.trace_start_ns)) / 1e9;
    };
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
        }
        return &it->second;
    };

    for (const auto &[key, s] : in.stats) {
        FunctionRecord *r = record(key.tgid, key.func);
        if (!r)
            continue;
        r->calls = s.calls;
        r->returned = s.returned;
        r->unreturned = s.unreturned;
        r->folded = s.folded;
        r->dropped = s.dropped;
        r->max_peak_increment = s.max_peak_inc * in.page_size;
        r->max_peak_rss = s.max_peak_rss * in.page_size;
        r->total_net = s.total_net * static_cast<int64_t>(in.page_size);
        r->max_tid = s.max_tid;
        r->max_base = s.max_base * in.page_size;
        if (s.max_exit_ns) {
            r->max_start_s = seconds(s.max_entry_ns);
            r->max_end_s = seconds(s.max_exit_ns);
        }
        r->entry_hits = s.entry_hits;
        r->return_hits = s.return_hits;
        const TracedFunction &f = in.functions[key.func];
        r->estimated_cost_s = (static_cast<double>(s.entry_hits) * f.entry_cost_us +
                               static_cast<double>(s.return_hits) * f.return_cost_us) /
                              1e6;
    }

    // Calls still open: their peak so far counts, like a finished call's.
    std::map<uint32_t, const mt_call_slots *> slots;
    for (const auto &[tgid, cs] : in.slots)
        slots[tgid] = &cs;
    std::map<uint32_t, uint64_t> rss;
    for (const auto &[tgid, pages] : in.current_rss)
        rss[tgid] = pages;
    for (const auto &[tid, fr] : in.open_frames) {
        for (uint32_t i = 0; i < fr.depth && i < MT_MAX_FRAMES; ++i) {
            const mt_frame &f = fr.f[i];
            if (f.folded)
                continue;
            FunctionRecord *r = record(fr.tgid, f.func);
            if (!r)
                continue;
            ++r->active;
            uint64_t peak = std::max<uint64_t>(f.base, rss.count(fr.tgid) ? rss[fr.tgid] : 0);
            auto cs = slots.find(fr.tgid);
            if (f.slot < MT_CALL_SLOTS && cs != slots.end() && ((cs->second->used >> f.slot) & 1))
                peak = std::max<uint64_t>(peak, cs->second->peak[f.slot]);
            uint64_t increment = (peak - f.base) * in.page_size;
            if (increment > r->max_peak_increment || r->max_end_s == 0) {
                r->max_peak_increment = std::max(r->max_peak_increment, increment);
                r->max_tid = tid;
                r->max_base = f.base * in.page_size;
                r->max_start_s = seconds(f.entry_ns);
                r->max_end_s = seconds(in.now_ns);
            }
            r->max_peak_rss = std::max(r->max_peak_rss, peak * in.page_size);
        }
    }

    for (uint32_t pid : in.every_function_for)
        for (uint32_t id = 0; id < in.functions.size(); ++id)
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
