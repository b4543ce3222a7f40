#include "model/timeline.h"

#include <algorithm>
#include <filesystem>
#include <map>

namespace memtrace {

std::string recording_label(const std::vector<std::string> &command, uint32_t main_pid,
                            const std::string &main_cmdline)
{
    std::string label;
    for (size_t i = 0; i < command.size(); ++i)
        label += i ? " " + command[i] : std::filesystem::path(command[i]).filename().string();
    if (!label.empty())
        return label;
    if (main_pid)
        return main_cmdline.empty() ? "pid " + std::to_string(main_pid) : main_cmdline;
    return "every process";
}

std::vector<TimelinePoint> total_series(const Recording &rec)
{
    // Each process's RSS is a step function known at its points; sum them at
    // every point in time. A process's level before its first point is its
    // start RSS (the report has it) or 0; after its end, 0.
    std::map<uint32_t, uint64_t> level, start_rss;
    if (rec.report.contains("processes"))
        for (const auto &p : rec.report["processes"])
            start_rss[p.value("pid", 0u)] = p.value("start_rss_bytes", uint64_t{0});
    std::map<uint32_t, double> ends;
    for (const auto &p : rec.processes) {
        if (p.end >= 0)
            ends[p.pid] = p.end;
    }

    std::vector<TimelinePoint> points = rec.points;
    std::stable_sort(points.begin(), points.end(),
                     [](const auto &a, const auto &b) { return a.t < b.t; });
    std::vector<TimelinePoint> out;
    for (const auto &p : rec.processes)
        level[p.pid] = 0;
    // processes begin at their start RSS
    std::vector<std::pair<double, uint32_t>> starts;
    for (const auto &p : rec.processes)
        starts.emplace_back(p.start, p.pid);
    std::sort(starts.begin(), starts.end());
    size_t next_start = 0;

    auto sum = [&] {
        uint64_t total = 0;
        for (const auto &[pid, bytes] : level)
            total += bytes;
        return total;
    };
    for (size_t i = 0; i < points.size();) {
        double t = points[i].t;
        while (next_start < starts.size() && starts[next_start].first <= t) {
            level[starts[next_start].second] = start_rss[starts[next_start].second];
            ++next_start;
        }
        // processes that ended before t no longer count
        for (auto &[pid, bytes] : level)
            if (ends.count(pid) && ends[pid] < t - rec.resolution)
                bytes = 0;
        uint64_t before = sum();
        uint64_t max_sum = 0;
        // all points at this instant (intervals end together across processes)
        size_t j = i;
        uint64_t raise = 0; // how far a process's max rose above its level
        for (; j < points.size() && points[j].t == t; ++j) {
            const TimelinePoint &p = points[j];
            uint64_t previous = level[p.pid];
            raise = std::max(raise, p.max_rss > previous ? p.max_rss - previous : 0);
            level[p.pid] = p.rss;
        }
        uint64_t after = sum();
        max_sum = std::max({before + raise, after, before});
        out.push_back({0, t, after, max_sum});
        i = j;
    }
    return out;
}

} // namespace memtrace
