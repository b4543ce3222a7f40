#include "report/recording.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>

#include "error.h"
#include "report/json_writer.h"

namespace memtrace {
namespace {

using json = nlohmann::ordered_json;

double rounded(double seconds)
{
    return std::round(seconds * 1e6) / 1e6;
}

} // namespace

void write_recording_header(std::ostream &out, const Recording &r)
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
}

void write_recording_points(std::ostream &out, const std::vector<TimelinePoint> &points)
{
    for (const TimelinePoint &p : points)
        out << json{{"type", "point"}, {"pid", p.pid}, {"t", rounded(p.t)}, {"rss", p.rss}, {"max_rss", p.max_rss}}
                   .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)
            << '\n';
}

void write_recording_calls(std::ostream &out, const std::vector<CallMark> &marks)
{
    for (const CallMark &m : marks)
        out << json{{"type", "call"},       {"pid", m.pid},          {"tid", m.tid},
                    {"function", m.function}, {"start_s", rounded(m.start)}, {"end_s", rounded(m.end)},
                    {"base", m.base},        {"peak", m.peak},        {"end_rss", m.end_rss},
                    {"returned", m.returned}}
                   .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)
            << '\n';
}

void write_recording(std::ostream &out, const Recording &r)
{
    write_recording_header(out, r);
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
    write_recording_points(out, r.points);
    write_recording_calls(out, r.marks);
    if (r.marks_dropped)
        out << json{{"type", "calls_not_recorded"}, {"count", r.marks_dropped}}.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
    json report = r.report;
    report["type"] = "report";
    out << report.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
}

namespace {

// Limits on what a recording may hold, so a hostile file cannot take all memory:
// far above what memtrace writes (a point per process and 10 ms: 10M points is a
// process for 27 hours; the end-of-run report of -a is a few MiB).
constexpr size_t kMaxLine = 64u << 20;
constexpr size_t kMaxPoints = 10000000;
constexpr size_t kMaxCalls = 1000000;
constexpr size_t kMaxProcesses = 1000000;
constexpr size_t kMaxText = 4096;    // a label, command line or function name
constexpr double kMaxSeconds = 1e9;  // times since the trace began

// The next line, or false at the end; throws if it is longer than kMaxLine.
bool next_line(std::istream &in, std::string &line, bool &ended_with_newline)
{
    line.clear();
    std::streambuf *buf = in.rdbuf();
    for (;;) {
        const int c = buf->sbumpc();
        if (c == std::char_traits<char>::eof()) {
            ended_with_newline = false;
            return !line.empty();
        }
        if (c == '\n') {
            ended_with_newline = true;
            return true;
        }
        if (line.size() == kMaxLine)
            throw Error("a line longer than " + std::to_string(kMaxLine >> 20) + " MiB");
        line.push_back(static_cast<char>(c));
    }
}

// Floats from a hostile file where integers are read (a pid of 1e300, a size of
// -5.5) would convert out of range, which C++ leaves undefined: no float read
// here is negative or beyond 1e15 in a recording memtrace wrote.
void tame_numbers(json &j)
{
    if (j.is_number_float()) {
        const double x = j.get<double>();
        j = !(x >= 0) ? 0.0 : std::min(x, 1e15);
    } else if (j.is_structured()) {
        for (json &item : j)
            tame_numbers(item);
    }
}

// At most kMaxText bytes, cut between UTF-8 characters.
std::string cut_text(std::string text)
{
    if (text.size() > kMaxText) {
        size_t cut = kMaxText;
        while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80)
            --cut;
        text.resize(cut);
    }
    return text;
}

std::string text_of(const json &j, const char *key)
{
    return cut_text(j.value(key, ""));
}

double seconds_of(const json &j, const char *key, double fallback, double low = 0)
{
    const double value = j.contains(key) ? j.at(key).get<double>() : fallback;
    if (!(value >= low && value <= kMaxSeconds))
        throw Error(std::string("\"") + key + "\" out of range");
    return value;
}

void read_header(const json &j, Recording &r)
{
    const int version = j.value("version", 0);
    if (version != Recording::kVersion)
        throw Error("version " + std::to_string(version) + ", this memtrace reads " +
                    std::to_string(Recording::kVersion));
    r.label = text_of(j, "label");
    r.command = j.value("command", std::vector<std::string>{});
    for (std::string &word : r.command)
        word = cut_text(word);
    r.start_unix = j.value("start_unix", 0.0);
    if (!std::isfinite(r.start_unix))
        throw Error("\"start_unix\" out of range");
    r.resolution = seconds_of(j, "resolution_s", 0.01, 1e-6);
    r.duration = seconds_of(j, "duration_s", 0.0);
    r.main_pid = j.value("main_pid", 0u);
}

void read_body_line(const std::string &type, const json &j, Recording &r)
{
    if (type == "process") {
        if (r.processes.size() == kMaxProcesses)
            throw Error("more than " + std::to_string(kMaxProcesses) + " processes");
        RecordedProcess p;
        p.pid = j.at("pid");
        p.ppid = j.value("ppid", 0u);
        p.comm = text_of(j, "comm");
        p.cmdline = text_of(j, "cmdline");
        p.start = seconds_of(j, "start_s", 0.0);
        p.end = j.contains("end_s") && j["end_s"].is_number() ? seconds_of(j, "end_s", -1) : -1;
        r.processes.push_back(std::move(p));
    } else if (type == "point") {
        if (r.points.size() == kMaxPoints)
            throw Error("more than " + std::to_string(kMaxPoints) + " points");
        r.points.push_back({j.at("pid"), seconds_of(j, "t", -1), j.at("rss"), j.at("max_rss")});
    } else if (type == "call") {
        if (r.marks.size() == kMaxCalls)
            throw Error("more than " + std::to_string(kMaxCalls) + " calls");
        CallMark m;
        m.pid = j.at("pid");
        m.tid = j.value("tid", 0u);
        m.function = cut_text(j.at("function").get<std::string>());
        m.start = seconds_of(j, "start_s", -1);
        m.end = seconds_of(j, "end_s", -1, m.start);
        m.base = j.at("base");
        m.peak = std::max(j.at("peak").get<uint64_t>(), m.base);
        m.end_rss = j.value("end_rss", m.base);
        m.returned = j.value("returned", true);
        r.marks.push_back(std::move(m));
    } else if (type == "calls_not_recorded") {
        r.marks_dropped = j.value("count", uint64_t{0});
    } else if (type == "report") {
        json report = j;
        report.erase("type");
        report_from_json(report); // throws if it is not one
        r.report = std::move(report);
    }
    // other types: from a later version, skipped
}

} // namespace

Recording read_recording(std::istream &in, const std::string &name)
{
    Recording r;
    std::string line;
    size_t number = 0;
    bool header = false, newline = true;
    auto fail = [&](const std::string &why) -> Error {
        return Error(name + ": line " + std::to_string(number) + ": " + why +
                     " (not a memtrace recording? record one with 'memtrace record -- CMD')");
    };
    for (;;) {
        try {
            if (!next_line(in, line, newline))
                break;
        } catch (const Error &e) {
            throw fail(e.what());
        }
        ++number;
        if (line.empty())
            continue;
        json j = json::parse(line, nullptr, false);
        if (j.is_discarded()) {
            if (header && !newline)
                break; // a last line without its newline: memtrace was killed writing it
            throw fail("not JSON");
        }
        if (!j.is_object() || !j.contains("type") || !j["type"].is_string())
            throw fail("no \"type\"");
        tame_numbers(j);
        const std::string type = j["type"];
        if (!header && type != "memtrace-recording")
            throw fail("the first line is not a memtrace-recording header");
        try {
            if (!header)
                read_header(j, r);
            else
                read_body_line(type, j, r);
            header = true;
        } catch (const std::exception &e) {
            throw fail(std::string("bad \"") + type + "\" line: " + e.what());
        }
    }
    if (!header)
        throw fail("empty file");
    r.cut_off = r.report.is_null();
    if (r.cut_off)
        for (const TimelinePoint &p : r.points)
            r.duration = std::max(r.duration, p.t);
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
