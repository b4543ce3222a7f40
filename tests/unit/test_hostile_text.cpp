// Text from traced processes (comm, argv) is whatever bytes they chose: not
// always UTF-8, sometimes terminal escapes. Every writer must survive it.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <sstream>

#include "report/json_writer.h"
#include "report/live_line.h"
#include "report/recording.h"
#include "report/table_writer.h"
#include "sample_report.h"

using namespace memtrace;
using memtrace::testing::sample_command_report;
using memtrace::testing::sample_function_report;
using memtrace::testing::sample_process;

namespace {

RunReport report_with(const std::string &comm, const std::string &cmdline)
{
    RunReport r = sample_command_report();
    r.command = {"prog", cmdline};
    for (ProcessRecord &p : r.processes) {
        p.comm = comm;
        p.cmdline = cmdline;
    }
    return r;
}

} // namespace

TEST_CASE("JSON report: bytes that are not UTF-8 in comm and cmdline are replaced, not fatal")
{
    std::ostringstream out;
    REQUIRE_NOTHROW(write_json(out, report_with("bad\xff", "prog \xff\xfe arg")));
    nlohmann::json parsed = nlohmann::json::parse(out.str());
    std::string comm = parsed["processes"][0]["comm"];
    CHECK(comm == "bad\xef\xbf\xbd"); // U+FFFD
}

TEST_CASE("recording: bytes that are not UTF-8 are replaced, and it reads back")
{
    Recording rec;
    rec.label = "prog \xff";
    rec.command = {"prog", "\xff"};
    rec.processes.push_back({1, 0, "bad\xff", "prog \xc3", 0, -1});
    rec.report = report_json(report_with("bad\xff", "prog \xff"));
    std::ostringstream out;
    REQUIRE_NOTHROW(write_recording(out, rec));
    std::istringstream in(out.str());
    Recording back = read_recording(in, "test");
    REQUIRE(back.processes.size() == 1);
    CHECK(back.processes[0].comm == "bad\xef\xbf\xbd");
}

TEST_CASE("table, headline and live line: control characters escaped, never raw")
{
    std::string hostile = "evil\x1b[31m\a\r\x7f";
    std::ostringstream out;
    write_table(out, report_with(hostile, "prog " + hostile));
    std::string text = out.str();
    INFO(text);
    for (char c : {'\x1b', '\a', '\r', '\x7f'})
        CHECK(text.find(c) == std::string::npos);
    CHECK(text.find("evil\\x1b[31m\\x07\\x0d\\x7f") != std::string::npos);

    ProcessRecord p = sample_process(7, "x", 10);
    p.comm = hostile;
    std::string line = live_line(1.0, p, 0);
    CHECK(line.find('\x1b') == std::string::npos);
    CHECK(line.find("evil\\x1b[31m") != std::string::npos);
}

TEST_CASE("table: a traced function's name and module (a Python program's own text) escaped")
{
    RunReport r = sample_command_report();
    FunctionRecord f;
    f.pid = r.command_pid;
    f.symbol = "evil\x1b[2J (x\x1b]0;.py:1)";
    f.module = "/tmp/x\x1b]0;.py";
    f.python = true;
    f.calls = 1;
    r.functions.push_back(f);
    std::ostringstream out;
    write_table(out, r);
    INFO(out.str());
    CHECK(out.str().find('\x1b') == std::string::npos);
    CHECK(out.str().find("evil\\x1b[2J") != std::string::npos);
}

TEST_CASE("-f table: a module path with control characters is escaped like the rest")
{
    RunReport r = sample_function_report();
    r.functions[0].module = "/tmp/evil\x1b]0;owned\a/lib\x1b[2Jx.so";
    r.functions[1].demangled = "Index::build\x1b[31m";
    std::ostringstream out;
    write_table(out, r);
    std::string text = out.str();
    INFO(text);
    CHECK(text.find('\x1b') == std::string::npos); // the old table wrote both raw
    CHECK(text.find('\a') == std::string::npos);
    CHECK(text.find("lib\\x1b[2Jx.so") != std::string::npos);
}
