#include "report/recording.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>

#include "error.h"

namespace memtrace {
namespace {

using json = nlohmann::ordered_json;

double rounded(double seconds)
{
    return std::round(seconds * 1e6) / 1e6;
}

} // namespace

void write_recording(std::ostream &out, const Recording &r)
{
    out << json{{"type", "memtrace-recording"},
                {"version", Recording::kVersion},
                {"label", r.label},
                {"command", r.command},
                {"start_unix", r.start_unix},
                {"resolution_s", r.resolution},
                {"duration_s", rounded(r.duration)},
                {"main_pid", r.main_pid}}
               .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)
        << '\n';
    for (const RecordedProcess &p : r.processes)
        out << json{{"type", "process"},
                    {"pid", p.pid},
                    {"ppid", p.ppid},
                    {"comm", p.comm},
                    {"cmdline", p.cmdline},
                    {"start_s", rounded(p.start)},
                    {"end_s", p.end >= 0 ? json(rounded(p.end)) : json(nullptr)}}
                   .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)
            << '\n';
    for (const TimelinePoint &p : r.points)
        out << json{{"type", "point"}, {"pid", p.pid}, {"t", rounded(p.t)}, {"rss", p.rss}, {"max_rss", p.max_rss}}
                   .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)
            << '\n';
    for (const CallMark &m : r.marks)
        out << json{{"type", "call"},       {"pid", m.pid},          {"tid", m.tid},
                    {"function", m.function}, {"start_s", rounded(m.start)}, {"end_s", rounded(m.end)},
                    {"base", m.base},        {"peak", m.peak},        {"end_rss", m.end_rss},
                    {"returned", m.returned}}
                   .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)
            << '\n';
    if (r.marks_dropped)
        out << json{{"type", "calls_not_recorded"}, {"count", r.marks_dropped}}.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
    json report = r.report;
    report["type"] = "report";
    out << report.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
}

Recording read_recording(std::istream &in, const std::string &name)
{
    Recording r;
    std::string line;
    size_t number = 0;
    bool header = false;
    auto fail = [&](const std::string &why) -> Error {
        return Error(name + ": line " + std::to_string(number) + ": " + why +
                     " (not a memtrace recording? record one with 'memtrace record -- CMD')");
    };
    while (std::getline(in, line)) {
        ++number;
        if (line.empty())
            continue;
        json j;
        try {
            j = json::parse(line);
        } catch (const std::exception &) {
            throw fail("not JSON");
        }
        if (!j.is_object() || !j.contains("type") || !j["type"].is_string())
            throw fail("no \"type\"");
        std::string type = j["type"];
        try {
            if (!header) {
                if (type != "memtrace-recording")
                    throw fail("the first line is not a memtrace-recording header");
                int version = j.value("version", 0);
                if (version != Recording::kVersion)
                    throw fail("version " + std::to_string(version) + ", this memtrace reads " +
                               std::to_string(Recording::kVersion));
                r.label = j.value("label", "");
                r.command = j.value("command", std::vector<std::string>{});
                r.start_unix = j.value("start_unix", 0.0);
                r.resolution = j.value("resolution_s", 0.01);
                r.duration = j.value("duration_s", 0.0);
                r.main_pid = j.value("main_pid", 0u);
                header = true;
            } else if (type == "process") {
                RecordedProcess p;
                p.pid = j.at("pid");
                p.ppid = j.value("ppid", 0u);
                p.comm = j.value("comm", "");
                p.cmdline = j.value("cmdline", "");
                p.start = j.value("start_s", 0.0);
                p.end = j["end_s"].is_number() ? j["end_s"].get<double>() : -1;
                r.processes.push_back(std::move(p));
            } else if (type == "point") {
                r.points.push_back({j.at("pid"), j.at("t"), j.at("rss"), j.at("max_rss")});
            } else if (type == "call") {
                CallMark m;
                m.pid = j.at("pid");
                m.tid = j.value("tid", 0u);
                m.function = j.at("function");
                m.start = j.at("start_s");
                m.end = j.at("end_s");
                m.base = j.at("base");
                m.peak = j.at("peak");
                m.end_rss = j.value("end_rss", m.base);
                m.returned = j.value("returned", true);
                r.marks.push_back(std::move(m));
            } else if (type == "calls_not_recorded") {
                r.marks_dropped = j.value("count", uint64_t{0});
            } else if (type == "report") {
                j.erase("type");
                r.report = std::move(j);
            }
            // other types: from a later version, skipped
        } catch (const Error &) {
            throw;
        } catch (const std::exception &e) {
            throw fail(std::string("bad \"") + type + "\" line: " + e.what());
        }
    }
    if (!header)
        throw fail("empty file");
    return r;
}

Recording read_recording_file(const std::string &path)
{
    std::ifstream in(path);
    if (!in)
        throw Error("cannot read '" + path + "': no such file (or not readable)");
    return read_recording(in, path);
}

void write_mprof(std::ostream &out, const Recording &r)
{
    auto mib = [](uint64_t bytes) { return static_cast<double>(bytes) / (1024.0 * 1024.0); };
    char line[512];
    std::string cmdline = r.label;
    for (char &c : cmdline)
        if (c == '\n')
            c = ' ';
    out << "CMDLINE " << cmdline << '\n';
    // the main process as MEM lines, its children as CHLD series (mprof's form)
    std::map<uint32_t, int> child_index;
    uint64_t start_rss = 0;
    if (r.report.contains("processes"))
        for (const auto &p : r.report["processes"])
            if (p.value("pid", 0u) == r.main_pid)
                start_rss = p.value("start_rss_bytes", uint64_t{0});
    std::snprintf(line, sizeof(line), "MEM %.6f %.4f\n", mib(start_rss), r.start_unix);
    out << line;
    std::vector<TimelinePoint> points = r.points;
    std::stable_sort(points.begin(), points.end(), [](const auto &a, const auto &b) { return a.t < b.t; });
    double last = 0; // the main series' samples must go forward in time
    for (const TimelinePoint &p : points) {
        double t = r.start_unix + p.t;
        if (p.pid == r.main_pid) {
            t = r.start_unix + std::max(p.t, last);
            double middle = std::max(last, p.t - r.resolution / 2);
            std::snprintf(line, sizeof(line), "MEM %.6f %.4f\nMEM %.6f %.4f\n", mib(p.max_rss),
                          r.start_unix + middle, mib(p.rss), t);
            last = std::max(p.t, last);
        } else {
            auto [it, fresh] = child_index.try_emplace(p.pid, static_cast<int>(child_index.size()));
            std::snprintf(line, sizeof(line), "CHLD %d %.6f %.4f\n", it->second, mib(p.max_rss), t);
        }
        out << line;
    }
    for (const CallMark &m : r.marks) {
        if (m.pid != r.main_pid)
            continue;
        std::string name = m.function;
        for (char &c : name)
            if (c == ' ')
                c = '_'; // mprof splits FUNC lines on spaces
        std::snprintf(line, sizeof(line), "FUNC %s %.4f %.4f %.4f %.4f\n", name.c_str(), mib(m.base),
                      r.start_unix + m.start, mib(m.end_rss), r.start_unix + m.end);
        out << line;
    }
}

} // namespace memtrace
