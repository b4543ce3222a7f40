// -f py:PATTERN: per-call memory of Python functions, read from CPython's
// frames at each RSS change. Workloads: tests/workloads/pyfuncs.py (make_big:
// a 64 MiB bytearray made and dropped; keep_ints: 32 MiB of pointers kept;
// thread_work: 32 MiB kept by a thread; chunks/consume: 2 x 16 MiB from a
// generator; grow_step: 8 calls of 4 MiB kept each) and pyattach.py (tick: 40
// MiB made and dropped every 0.2 s), run by Debian's python3 and pyenv's.
#include <catch2/catch.hpp>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "harness.h"

using namespace e2e;

namespace {

const std::string kDebianPython = "/usr/bin/python3";

std::string pyenv_python(const std::string &version)
{
    return "/root/.pyenv/versions/" + version + "/bin/python3";
}

std::string pyfuncs()
{
    return std::string(MT_SOURCE_DIR) + "/tests/workloads/pyfuncs.py";
}

// The 1-based line of `def NAME(` in pyfuncs.py: the rows' names carry it.
int def_line(const std::string &name)
{
    std::ifstream in(pyfuncs());
    int n = 0;
    for (std::string line; std::getline(in, line);) {
        ++n;
        if (line.rfind("def " + name + "(", 0) == 0)
            return n;
    }
    FAIL("no def " << name << " in pyfuncs.py");
    return 0;
}

std::string row_name(const std::string &qualname, const std::string &file = "pyfuncs.py")
{
    return qualname + " (" + file + ":" + std::to_string(def_line(qualname)) + ")";
}

const nlohmann::json *find_function(const JsonRun &r, const std::string &symbol)
{
    if (!r.report.contains("functions"))
        return nullptr;
    for (const auto &f : r.report["functions"])
        if (f["symbol"] == symbol)
            return &f;
    return nullptr;
}

const nlohmann::json &function(const JsonRun &r, const std::string &symbol)
{
    INFO("report functions: " << (r.report.contains("functions") ? r.report["functions"].dump(1) : "none")
                              << "\nstderr: " << r.result.err);
    const nlohmann::json *f = find_function(r, symbol);
    REQUIRE(f);
    return *f;
}

bool within_2_percent(uint64_t measured, uint64_t expected)
{
    uint64_t diff = measured > expected ? measured - expected : expected - measured;
    return diff <= expected / 50;
}

bool near_zero(int64_t bytes)
{
    return bytes >= -int64_t(MiB) && bytes <= int64_t(MiB);
}

JsonRun trace(const std::string &python, const std::vector<std::string> &patterns,
              const std::vector<std::string> &modes, const std::vector<std::string> &extra = {})
{
    std::vector<std::string> args;
    for (const auto &p : patterns) {
        args.push_back("-f");
        args.push_back(p);
    }
    args.insert(args.end(), extra.begin(), extra.end());
    args.push_back("--");
    args.push_back(python);
    args.push_back(pyfuncs());
    args.insert(args.end(), modes.begin(), modes.end());
    JsonRun r = run_memtrace_json(args);
    INFO("stderr: " << r.result.err);
    REQUIRE(r.result.exit_code == 0);
    return r;
}

std::vector<std::string> warnings(const std::string &err)
{
    std::vector<std::string> out;
    std::stringstream in(err);
    for (std::string line; std::getline(in, line);)
        if (line.find("warning") != std::string::npos)
            out.push_back(line);
    return out;
}

// make_big's 64 MiB transient and keep_ints' 32 MiB, as every version must see them.
void check_big_and_keep(const JsonRun &r)
{
    const auto &big = function(r, row_name("make_big"));
    INFO(big.dump(1));
    CHECK(big["kind"] == "python");
    CHECK(big["calls"] == 1);
    CHECK(big["returned"] == 1);
    CHECK(big["unreturned"] == 0);
    CHECK(within_2_percent(big["max_peak_increment_bytes"], 64 * MiB));
    CHECK(near_zero(big["total_net_bytes"])); // dropped on return: its locals are freed
    CHECK(big["module"].get<std::string>().find("pyfuncs.py") != std::string::npos);
    const auto &keep = function(r, row_name("keep_ints"));
    INFO(keep.dump(1));
    CHECK(keep["calls"] == 1);
    CHECK(within_2_percent(keep["max_peak_increment_bytes"], 32 * MiB));
    CHECK(within_2_percent(keep["total_net_bytes"], 32 * MiB));
}

} // namespace

TEST_CASE("py: Debian's python3: a 64 MiB transient within 2%, net 0; 32 MiB kept", "[python][pyfunc]")
{
    require_root();
    JsonRun r = trace(kDebianPython, {"py:make_big", "py:keep_ints"}, {"big", "keep"});
    check_big_and_keep(r);
    CHECK(warnings(r.result.err).empty());
    // the table says it in its own words
    CHECK(r.result.out.find("Python functions (py:)") != std::string::npos);
    CHECK(r.result.out.find(row_name("make_big")) != std::string::npos);
    CHECK(r.result.out.find("Probe cost") == std::string::npos); // no probes were placed
}

TEST_CASE("py: a function called 8 times, 4 MiB kept by each", "[python][pyfunc]")
{
    require_root();
    JsonRun r = trace(kDebianPython, {"py:grow_step"}, {"grow"});
    const auto &g = function(r, row_name("grow_step"));
    INFO(g.dump(1));
    CHECK(g["calls"] == 8);
    CHECK(g["returned"] == 8);
    CHECK(within_2_percent(g["max_peak_increment_bytes"], 4 * MiB));
    CHECK(within_2_percent(g["total_net_bytes"], 32 * MiB));
    // the caller contains them all, and its own 8 x 256 KiB
    JsonRun outer = trace(kDebianPython, {"py:grow_n"}, {"grow"});
    const auto &n = function(outer, row_name("grow_n"));
    CHECK(n["calls"] == 1);
    CHECK(within_2_percent(n["total_net_bytes"], 34 * MiB));
}

TEST_CASE("py: globs, MODULE.QUALNAME, and a pattern that names nothing", "[python][pyfunc]")
{
    require_root();
    JsonRun r = trace(kDebianPython, {"py:pyfuncs.make_*", "py:keep_[a-z]nts", "py:no_such_function"},
                      {"big", "keep"});
    check_big_and_keep(r);
    CHECK(r.report["functions"].size() == 2);
    auto w = warnings(r.result.err);
    INFO(r.result.err);
    REQUIRE(w.size() == 1);
    CHECK(w[0].find("-f py:no_such_function: no Python function of that name was seen running") !=
          std::string::npos);
    // the module is the file's name: another module's make_big is not this one
    JsonRun other = trace(kDebianPython, {"py:json.make_big"}, {"big"});
    CHECK(find_function(other, row_name("make_big")) == nullptr);
    CHECK(warnings(other.result.err).size() == 1);
}

TEST_CASE("py: a call the process exits from (os._exit) is unreturned; returned ones are not", "[python][pyfunc]")
{
    require_root();
    JsonRun r = trace(kDebianPython, {"py:leave", "py:keep_ints"}, {"keep", "exit"});
    const auto &l = function(r, row_name("leave"));
    INFO(l.dump(1));
    CHECK(l["calls"] == 1);
    CHECK(l["unreturned"] == 1);
    CHECK(l["returned"] == 0);
    CHECK(within_2_percent(l["max_peak_increment_bytes"], 8 * MiB));
    const auto &k = function(r, row_name("keep_ints"));
    CHECK(k["returned"] == 1);
    CHECK(k["unreturned"] == 0);
}

TEST_CASE("py: recursion folds into the outermost call, deeper than the frames compared", "[python][pyfunc]")
{
    require_root();
    // rec: 51 frames; deep: 301 frames below them (more than the 256 compared)
    const std::string code = "def rec(n):\n"
                             "    if n == 0:\n"
                             "        return len(bytearray(8 << 20))\n"
                             "    return rec(n - 1)\n"
                             "def deep(n):\n"
                             "    return rec(50) if n == 0 else deep(n - 1)\n"
                             "deep(300)\n";
    JsonRun r = run_memtrace_json({"-f", "py:rec,py:deep", "--", kDebianPython, "-c", code});
    INFO(r.result.err);
    REQUIRE(r.result.exit_code == 0);
    for (const char *name : {"rec (<string>:1)", "deep (<string>:5)"}) {
        const auto &f = function(r, name);
        INFO(f.dump(1));
        CHECK(f["calls"] == 1);
        CHECK(f["calls_not_tracked"] == 0);
        CHECK(within_2_percent(f["max_peak_increment_bytes"], 8 * MiB));
        CHECK(near_zero(f["total_net_bytes"]));
    }
    CHECK(warnings(r.result.err).empty());
}

TEST_CASE("py: a thread's call and a generator's", "[python][pyfunc]")
{
    require_root();
    JsonRun r = trace(kDebianPython, {"py:thread_work", "py:consume", "py:chunks"}, {"thread", "gen"});
    const auto &t = function(r, row_name("thread_work"));
    INFO(t.dump(1));
    CHECK(t["calls"] == 1);
    CHECK(within_2_percent(t["total_net_bytes"], 32 * MiB));
    CHECK(t["max_call"]["tid"] != r.report["processes"][0]["pid"]); // the worker thread
    const auto &c = function(r, row_name("consume"));
    CHECK(within_2_percent(c["total_net_bytes"], 32 * MiB));
    // the generator's body made both chunks: its peak is theirs, whatever the
    // number of stretches it was seen running in
    const auto &g = function(r, row_name("chunks"));
    CHECK(g["calls"] >= 1);
    CHECK(within_2_percent(g["max_peak_increment_bytes"], 32 * MiB));
}

TEST_CASE("py: -p attaches to a running Python loop", "[python][pyfunc][pid]")
{
    require_root();
    Background py({kDebianPython, std::string(MT_SOURCE_DIR) + "/tests/workloads/pyattach.py"});
    REQUIRE(py.wait_for_stderr("ready", 60));
    JsonRun r = run_memtrace_json({"-p", std::to_string(py.pid()), "-f", "py:tick", "-d", "2"});
    INFO("stderr: " << r.result.err);
    REQUIRE(r.result.exit_code == 0);
    py.close_stdin();
    CHECK(py.wait(60).exit_code == 0);
    const nlohmann::json *tick = nullptr;
    for (const auto &f : r.report["functions"])
        if (f["symbol"].get<std::string>().rfind("tick (pyattach.py:", 0) == 0)
            tick = &f;
    REQUIRE(tick);
    INFO(tick->dump(1));
    CHECK((*tick)["calls"] >= 2); // a tick every 0.2 s at best
    CHECK(within_2_percent((*tick)["max_peak_increment_bytes"], 40 * MiB));
    // each tick frees its 40 MiB before returning: net 0, but for a tick caught
    // halfway at attach, whose base is the RSS when it was first seen
    int64_t net = (*tick)["total_net_bytes"];
    CHECK(net <= int64_t(MiB));
    CHECK(net >= -41 * int64_t(MiB));
}

TEST_CASE("py: pyenv's 3.11.7, 3.12 and 3.13", "[python][pyfunc]")
{
    require_root();
    for (std::string version : {"3.11.7", "3.12.1", "3.13.0"}) {
        INFO("Python " << version);
        JsonRun r = trace(pyenv_python(version), {"py:make_big", "py:keep_ints", "py:grow_step"},
                          {"big", "keep", "grow"});
        check_big_and_keep(r);
        const auto &g = function(r, row_name("grow_step"));
        CHECK(g["calls"] == 8);
        CHECK(within_2_percent(g["total_net_bytes"], 32 * MiB));
        CHECK(warnings(r.result.err).empty());
    }
}

TEST_CASE("py: 3.10 refused in one line; a program with no Python; -p without Python", "[python][pyfunc]")
{
    require_root();
    JsonRun old = trace(pyenv_python("3.10.13"), {"py:make_big"}, {"big"});
    auto w = warnings(old.result.err);
    INFO(old.result.err);
    REQUIRE(w.size() == 1);
    static const std::regex expected("memtrace: warning: /\\S+: Python 3\\.10 is not supported \\(3\\.11, "
                                     "3\\.12 and 3\\.13 are\\): -f py: cannot trace its functions");
    CHECK(std::regex_match(w[0], expected));
    CHECK(find_function(old, row_name("make_big")) == nullptr);

    RunResult native = run_memtrace({"-f", "py:main", "--", "/bin/true"});
    INFO(native.err);
    CHECK(native.exit_code == 0); // the trace ran; it says why there is nothing to show
    auto nw = warnings(native.err);
    REQUIRE(nw.size() == 1);
    CHECK(nw[0].find("no traced process ran CPython 3.11-3.13") != std::string::npos);

    Background sleeper({"sleep", "30"});
    RunResult p = run_memtrace({"-p", std::to_string(sleeper.pid()), "-f", "py:main"});
    CHECK(p.exit_code == 2);
    CHECK(p.err.find("runs no Python interpreter") != std::string::npos);
    CHECK(std::count(p.err.begin(), p.err.end(), '\n') == 1);
}

TEST_CASE("py: --timeline brackets a Python call", "[python][pyfunc][timeline]")
{
    require_root();
    std::string file = report_dir() + "/py.mtrace";
    JsonRun r = trace(kDebianPython, {"py:make_big"}, {"big"}, {"--timeline", file});
    std::ifstream in(file);
    size_t calls = 0;
    for (std::string line; std::getline(in, line);) {
        auto j = nlohmann::json::parse(line);
        if (j["type"] != "call")
            continue;
        ++calls;
        CHECK(j["function"] == row_name("make_big"));
        CHECK(within_2_percent(uint64_t(j["peak"]) - uint64_t(j["base"]), 64 * MiB));
        CHECK(j["end_s"] > j["start_s"]);
    }
    CHECK(calls == 1);
}
