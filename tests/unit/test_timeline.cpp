#include <catch2/catch.hpp>
#include <sstream>

#include "error.h"
#include "golden.h"
#include "report/json_writer.h"
#include "report/recording.h"
#include "report/svg_plot.h"
#include "report/table_writer.h"
#include "sample_report.h"

using namespace memtrace;

namespace {

constexpr uint64_t MiB = 1024 * 1024;

Recording sample_recording(const std::string &label, uint64_t peak_mib)
{
    Recording r;
    r.label = label;
    r.command = {"./app", "spike"};
    r.start_unix = 1700000000.5;
    r.resolution = 0.1;
    r.duration = 1.0;
    r.main_pid = 42;
    r.processes = {{42, 1, "app", "./app spike", 0.0, 1.0}};
    r.points = {{42, 0.1, 10 * MiB, 10 * MiB},
                {42, 0.2, 5 * MiB, peak_mib * MiB}, // a spike inside the interval
                {42, 0.5, 20 * MiB, 20 * MiB}};
    r.marks = {{42, 42, "Index::build(unsigned long)", 0.12, 0.18, 5 * MiB, peak_mib * MiB, 5 * MiB, true}};
    r.report = {{"version", 1}, {"processes", {{{"pid", 42}, {"start_rss_bytes", MiB}}}}};
    return r;
}

} // namespace

TEST_CASE("nice ticks: 1, 2, 2.5, 5 x 10^k from 0 past the maximum")
{
    CHECK(nice_ticks(0.95, 10) == std::vector<double>{0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0});
    auto mib = nice_ticks(257, 6);
    CHECK(mib.front() == 0);
    CHECK(mib.back() >= 257);
    CHECK(mib[1] == 50);
    CHECK(nice_ticks(0, 5).back() > 0);
    CHECK(nice_ticks(12.5, 5)[1] == 2.5);
    CHECK(tick_label(0.25) == "0.25");
    CHECK(tick_label(100) == "100");
    CHECK(tick_label(2.5) == "2.5");
}

TEST_CASE("recordings round-trip through their JSON lines")
{
    Recording r = sample_recording("app spike", 300);
    r.marks_dropped = 7;
    std::stringstream text;
    write_recording(text, r);
    Recording back = read_recording(text, "test");
    CHECK(back.label == r.label);
    CHECK(back.command == r.command);
    CHECK(back.start_unix == Approx(r.start_unix));
    CHECK(back.resolution == Approx(0.1));
    CHECK(back.main_pid == 42);
    REQUIRE(back.processes.size() == 1);
    CHECK(back.processes[0].cmdline == "./app spike");
    REQUIRE(back.points.size() == 3);
    CHECK(back.points[1].max_rss == 300 * MiB);
    REQUIRE(back.marks.size() == 1);
    CHECK(back.marks[0].function == "Index::build(unsigned long)");
    CHECK(back.marks[0].peak == 300 * MiB);
    CHECK(back.marks_dropped == 7);
    CHECK(back.report["processes"][0]["pid"] == 42);
}

TEST_CASE("reading a recording: clear errors with the line")
{
    auto error_of = [](const std::string &text) -> std::string {
        std::istringstream in(text);
        try {
            read_recording(in, "x.mtrace");
        } catch (const Error &e) {
            return e.what();
        }
        return "(no error)";
    };
    CHECK(error_of("").find("empty") != std::string::npos);
    CHECK(error_of("hello\n").find("x.mtrace: line 1: not JSON") != std::string::npos);
    CHECK(error_of("{\"type\":\"point\"}\n").find("not a memtrace-recording header") != std::string::npos);
    CHECK(error_of("{\"type\":\"memtrace-recording\",\"version\":9}\n").find("version 9") != std::string::npos);
    CHECK(error_of("{\"type\":\"memtrace-recording\",\"version\":1}\n{\"type\":\"point\",\"pid\":1}\n")
              .find("line 2: bad \"point\" line") != std::string::npos);
    // lines of a later version's new types are skipped, not refused
    CHECK(error_of("{\"type\":\"memtrace-recording\",\"version\":1}\n{\"type\":\"future\"}\n") == "(no error)");
}

TEST_CASE("mprof's .dat: CMDLINE, MEM samples forward in time, FUNC, CHLD")
{
    Recording r = sample_recording("app spike", 300);
    r.points.push_back({43, 0.3, 7 * MiB, 8 * MiB}); // a child
    std::stringstream out;
    write_mprof(out, r);
    std::string text = out.str();
    CHECK(text.rfind("CMDLINE app spike\n", 0) == 0);
    CHECK(text.find("MEM 1.000000 1700000000.5000\n") != std::string::npos); // start RSS
    CHECK(text.find("MEM 300.000000 ") != std::string::npos);               // the spike kept
    CHECK(text.find("FUNC Index::build(unsigned_long) 5.0000 1700000000.6200 5.0000 1700000000.6800\n") !=
          std::string::npos);
    CHECK(text.find("CHLD 0 8.000000 1700000000.8000") != std::string::npos);
    // mprof needs its samples in time order
    std::istringstream lines(text);
    std::string line;
    double last = 0;
    while (std::getline(lines, line)) {
        if (line.rfind("MEM ", 0) != 0)
            continue;
        double t = std::stod(line.substr(line.rfind(' ') + 1));
        CHECK(t >= last);
        last = t;
    }
}

TEST_CASE("the total series: one process as is; several summed")
{
    Recording r = sample_recording("a", 300);
    auto one = total_series(r);
    REQUIRE(one.size() == 3);
    CHECK(one[1].rss == 5 * MiB);
    CHECK(one[1].max_rss == 300 * MiB);

    r.processes.push_back({43, 42, "child", "child", 0.15, -1});
    r.report["processes"].push_back({{"pid", 43}, {"start_rss_bytes", MiB}});
    r.points.push_back({43, 0.2, 2 * MiB, 3 * MiB});
    r.points.push_back({43, 0.5, 4 * MiB, 4 * MiB});
    auto both = total_series(r);
    REQUIRE(both.size() == 3);
    CHECK(both[1].rss == 7 * MiB);           // 5 + 2
    CHECK(both[2].rss == 24 * MiB);          // 20 + 4
    CHECK(both[1].max_rss >= 300 * MiB);     // the spike stays visible
}

TEST_CASE("the SVG: legend per recording, the peaks, the brackets (golden)")
{
    PlotOptions options;
    options.title = "array vs dict";
    std::string svg = plot_svg({sample_recording("app array", 300), sample_recording("app dict", 40)}, options);
    CHECK(svg.rfind("<?xml", 0) == 0);
    CHECK(svg.find("<svg xmlns=\"http://www.w3.org/2000/svg\"") != std::string::npos);
    CHECK(svg.find("app array (peak 300.0 MiB)") != std::string::npos);
    CHECK(svg.find("app dict (peak 40.0 MiB)") != std::string::npos);
    CHECK(svg.find("class=\"bracket\" data-function=\"Index::build(unsigned long)\"") != std::string::npos);
    CHECK(svg.find(">array vs dict<") != std::string::npos);
    CHECK(svg.find("time (s)") != std::string::npos);
    check_golden("plot_two.svg", svg);

    options.functions = false;
    CHECK(plot_svg({sample_recording("x", 10)}, options).find("class=\"bracket\"") == std::string::npos);
    // names that need escaping stay well-formed
    Recording odd = sample_recording("a <b> & \"c\"", 10);
    CHECK(plot_svg({odd}, {}).find("a &lt;b&gt; &amp; &quot;c&quot;") != std::string::npos);
}

TEST_CASE("a report survives JSON: memtrace report FILE prints the same table")
{
    RunReport r = memtrace::testing::sample_command_report();
    RunReport back = report_from_json(report_json(r));
    std::ostringstream a, b;
    write_table(a, r);
    write_table(b, back);
    CHECK(a.str() == b.str());
    CHECK_THROWS_AS(report_from_json(nlohmann::ordered_json::object()), Error);
}

TEST_CASE("a recording cut off mid-run reads as far as it goes, marked cut off")
{
    // as streamed: the header, then points, then calls; killed mid-line
    Recording whole = sample_recording("app spike", 64);
    Recording header = whole;
    header.duration = 0; // unknown when the header is written
    std::ostringstream text;
    write_recording_header(text, header);
    write_recording_points(text, whole.points);
    std::string streamed = text.str();
    std::string torn = streamed.substr(0, streamed.size() - 12); // half the last point

    std::istringstream in(torn);
    Recording r = read_recording(in, "cut.mtrace");
    CHECK(r.cut_off);
    CHECK(r.points.size() == 2);
    CHECK(r.duration == Approx(0.2)); // its last point
    std::ostringstream table;
    write_points_table(table, r);
    INFO(table.str());
    CHECK(table.str().find("cut off") != std::string::npos);
    CHECK(table.str().find("64.0 MiB") != std::string::npos); // the spike inside an interval

    std::istringstream complete(streamed);
    CHECK(read_recording(complete, "cut.mtrace").points.size() == 3); // no report: still cut off
    // a line that is not JSON before the end is an error, not a cut
    std::istringstream middle(streamed.substr(0, streamed.find('\n') + 1) + "{\"type\": oops\n" +
                              streamed.substr(streamed.find('\n') + 1));
    CHECK_THROWS_AS(read_recording(middle, "bad.mtrace"), Error);
    // a whole recording is not cut off
    std::ostringstream full;
    write_recording(full, whole);
    std::istringstream back(full.str());
    CHECK_FALSE(read_recording(back, "whole.mtrace").cut_off);
}

TEST_CASE("hostile recordings: refused with a line, never another exception; the plot stays bounded")
{
    auto outcome = [](const std::string &text) -> std::string {
        std::istringstream in(text);
        try {
            read_recording(in, "x.mtrace");
        } catch (const Error &e) {
            return e.what();
        } // anything else escapes: the test fails (was "internal error")
        return "(read)";
    };
    const std::string header = "{\"type\":\"memtrace-recording\",\"version\":1}\n";
    CHECK(outcome("{\"type\":\"memtrace-recording\",\"version\":\"1\"}\n").find("line 1") != std::string::npos);
    CHECK(outcome(header + "{\"type\":\"report\",\"version\":\"1\",\"processes\":[]}\n").find("line 2: bad \"report\"") !=
          std::string::npos);
    CHECK(outcome(header + "{\"type\":\"report\",\"version\":1,\"processes\":[7]}\n").find("line 2") != std::string::npos);
    // a time of 1e300 made the old plot's ticks infinite and its coordinates NaN
    CHECK(outcome(header + "{\"type\":\"point\",\"pid\":1,\"t\":1e300,\"rss\":1,\"max_rss\":1}\n")
              .find("\"t\" out of range") != std::string::npos);
    CHECK(outcome(header + "{\"type\":\"point\",\"pid\":1e300,\"t\":1,\"rss\":-5.5,\"max_rss\":1}\n") == "(read)");
    CHECK(outcome("{\"type\":\"memtrace-recording\",\"version\":1,\"resolution_s\":-1}\n").find("resolution_s") !=
          std::string::npos);

    // 200,000 points: at most one per pixel column in the image, the spike kept
    Recording many = sample_recording("many", 1);
    many.points.clear();
    for (int i = 0; i < 200000; ++i)
        many.points.push_back({42, i * 0.01, 10 * MiB, (i == 123457 ? 900 : 10) * MiB});
    many.duration = 2000;
    std::string svg = plot_svg({many}, {});
    CHECK(svg.size() < 200 * 1024);
    CHECK(svg.find("peak 900.0 MiB") != std::string::npos);
    CHECK(svg.find("nan") == std::string::npos);
}
