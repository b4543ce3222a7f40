// memtrace in the tools people already run: go tool pprof reads --pprof, man
// renders memtrace.1, bash completes from memtrace.bash, -i draws on a terminal.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "harness.h"

using namespace e2e;

namespace {

std::string build_file(const std::string &name)
{
    return std::string(MT_BUILD_DIR) + "/" + name;
}

std::vector<std::string> lines_of(const std::string &text)
{
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);)
        lines.push_back(line);
    return lines;
}

// The option names (-p, --pid) of a --help text: the first word of its
// option lines, split at commas.
std::set<std::string> help_options(const std::string &help)
{
    std::set<std::string> names;
    for (const std::string &line : lines_of(help)) {
        size_t start = line.find_first_not_of(' ');
        if (start == std::string::npos || start == 0 || line[start] != '-' || line.compare(start, 3, "-- ") == 0)
            continue;
        std::string word = line.substr(start, line.find(' ', start) - start);
        for (size_t at = 0; at <= word.size();) {
            size_t comma = word.find(',', at);
            if (comma == std::string::npos)
                comma = word.size();
            if (word.compare(at, 1, "-") == 0)
                names.insert(word.substr(at, comma - at));
            at = comma + 1;
        }
    }
    return names;
}

// What bash completes for the words after "memtrace" (the last one being
// completed), with build/memtrace.bash loaded.
std::string complete(const std::string &words)
{
    RunResult r = run({"bash", "-c",
                       "source '" + build_file("memtrace.bash") + "' || exit 9\n"
                       "COMP_WORDS=(memtrace " + words + "); COMP_CWORD=$((${#COMP_WORDS[@]} - 1))\n"
                       "[[ $'" + words + "' == *' ' ]] && { COMP_WORDS+=(''); COMP_CWORD=$((COMP_CWORD + 1)); }\n"
                       "_memtrace 2>/dev/null; ((${#COMPREPLY[@]} == 0)) || printf '%s\\n' \"${COMPREPLY[@]}\""});
    REQUIRE(r.exit_code == 0);
    return r.out;
}

} // namespace

TEST_CASE("memtrace.1 renders without warnings and documents every option of --help", "[man]")
{
    const std::string page = build_file("memtrace.1");
    RunResult warnings = run({"sh", "-c", "MANWIDTH=80 man --warnings -l '" + page + "' 2>&1 >/dev/null"});
    CHECK(warnings.exit_code == 0);
    CHECK(warnings.out.empty());
    RunResult text = run({"sh", "-c", "MANWIDTH=80 LC_ALL=C man -l '" + page + "'"});
    REQUIRE(text.exit_code == 0);
    INFO(text.out);
    CHECK(text.out.find("MEMTRACE(1)") != std::string::npos);
    for (const char *sub : {"", "plot", "report"}) {
        RunResult help = run_memtrace(*sub ? std::vector<std::string>{sub, "--help"}
                                           : std::vector<std::string>{"--help"});
        REQUIRE(help.exit_code == 0);
        const std::set<std::string> options = help_options(help.out);
        CHECK(options.size() >= (*sub ? 2u : 30u));
        for (const std::string &o : options) {
            INFO("memtrace " << sub << " --help has " << o);
            CHECK(text.out.find(o) != std::string::npos);
        }
    }
    CHECK(text.out.find("touch|map|peak|end") != std::string::npos);
    CHECK(text.out.find("EXAMPLES") != std::string::npos);
}

TEST_CASE("make install puts memtrace, its manual page and completion under DESTDIR/PREFIX", "[man]")
{
    const std::string dest = report_dir();
    RunResult r = run({"make", "-s", "-C", MT_SOURCE_DIR, "BUILD=" + std::string(MT_BUILD_DIR), "install",
                       "DESTDIR=" + dest, "PREFIX=/opt/mt"});
    INFO(r.out << r.err);
    REQUIRE(r.exit_code == 0);
    CHECK(access((dest + "/opt/mt/bin/memtrace").c_str(), X_OK) == 0);
    CHECK(access((dest + "/opt/mt/share/man/man1/memtrace.1").c_str(), R_OK) == 0);
    CHECK(access((dest + "/opt/mt/share/bash-completion/completions/memtrace").c_str(), R_OK) == 0);
}

TEST_CASE("bash completion: options, their values, files, pids, commands", "[completion]")
{
    CHECK(complete("--sta") == "--stacks\n--stack-bytes\n"); // bash then completes --stac
    CHECK(complete("--stacks") == "--stacks\n");
    CHECK(complete("--stacks ") == "touch\nmap\npeak\nend\n");
    CHECK(complete("--unwind d") == "dwarf\n");
    CHECK(complete("--folded out.folded --pp") == "--pprof\n");
    CHECK(complete("plot --no") == "--no-functions\n");
    CHECK(complete("report --j") == "--json\n");
    CHECK(complete("record --sta") == "--stacks\n--stack-bytes\n");
    const std::string dir = report_dir();
    std::ofstream(dir + "/trace-me.folded") << "a 1\n";
    CHECK(complete("--pprof " + dir + "/trace-") == dir + "/trace-me.folded\n");
    CHECK(complete("--debuginfo-dir " + dir + "/trace-").empty()); // directories only
    CHECK(complete("-p 1").find("1\n") != std::string::npos);
    CHECK(complete("-- bas").find("bash\n") != std::string::npos);
    CHECK(complete("-d ").empty()); // a number: nothing to offer
}

namespace {

// `go tool pprof -traces` read back as folded lines: each sample's frames
// root first, joined by ';', and its value in bytes (-unit=B).
std::map<std::string, uint64_t> pprof_traces(const std::string &profile)
{
    RunResult r = run({"go", "tool", "pprof", "-traces", "-symbolize=none", "-unit=B", profile});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    std::map<std::string, uint64_t> stacks;
    std::vector<std::string> frames; // leaf first
    uint64_t value = 0;
    auto flush = [&] {
        std::string stack;
        for (auto f = frames.rbegin(); f != frames.rend(); ++f)
            stack += (stack.empty() ? "" : ";") + *f;
        if (!frames.empty())
            stacks[stack] += value;
        frames.clear();
    };
    bool in_traces = false;
    for (const std::string &line : lines_of(r.out)) {
        if (line.rfind("-----------+", 0) == 0) {
            flush();
            in_traces = true;
            continue;
        }
        if (!in_traces || line.size() < 13)
            continue;
        if (line.compare(0, 13, std::string(13, ' ')) == 0) { // "             caller"
            frames.push_back(line.substr(13));
            continue;
        }
        const size_t unit = line.find("B   "); // "   65536B   leaf" (wider when the value is)
        REQUIRE(unit != std::string::npos);
        value = std::stoull(line.substr(0, unit));
        frames.push_back(line.substr(unit + 4));
    }
    flush();
    return stacks;
}

// `go tool pprof -top`: flat bytes by function name.
std::map<std::string, uint64_t> pprof_top(const std::string &profile)
{
    RunResult r = run({"go", "tool", "pprof", "-top", "-symbolize=none", "-unit=B", "-nodefraction=0",
                       "-nodecount=1000000", profile});
    REQUIRE(r.exit_code == 0);
    std::map<std::string, uint64_t> flat;
    bool table = false;
    for (const std::string &line : lines_of(r.out)) {
        if (line.find("flat  flat%") != std::string::npos) {
            table = true;
            continue;
        }
        std::istringstream in(line);
        std::string value, flat_share, sum, cum, cum_share;
        if (!table || !(in >> value >> flat_share >> sum >> cum >> cum_share))
            continue;
        std::string name;
        std::getline(in, name);
        name = name.substr(name.find_first_not_of(' '));
        if (value != "0")
            flat[name] += std::stoull(value); // "65536B": stoull stops at the unit
    }
    return flat;
}

// Flat bytes by leaf frame of folded lines, as pprof -top counts them.
std::map<std::string, uint64_t> folded_leaves(const std::map<std::string, uint64_t> &lines)
{
    std::map<std::string, uint64_t> flat;
    for (const auto &[stack, bytes] : lines)
        flat[stack.substr(stack.rfind(';') + 1)] += bytes;
    return flat;
}

void check_pprof_agrees(const std::string &folded, const std::string &profile)
{
    const std::map<std::string, uint64_t> lines = read_folded(folded);
    REQUIRE(lines.size() >= 2);
    CHECK(pprof_traces(profile) == lines);
    CHECK(pprof_top(profile) == folded_leaves(lines));
}

} // namespace

TEST_CASE("--pprof: go tool pprof reads the stacks of --folded, byte for byte", "[pprof]")
{
    require_root();
    REQUIRE(run({"go", "version"}).exit_code == 0); // scripts/install-deps.sh installs golang-go
    const std::string dir = report_dir();
    RunResult r = run_memtrace({"--folded", dir + "/out.folded", "--pprof", dir + "/out.pb.gz", "--",
                                workload("stackwork"), "--lib", "16", "64", "32"});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    CHECK(r.out.find("Stacks (" + dir + "/out.folded, " + dir + "/out.pb.gz)") != std::string::npos);
    check_pprof_agrees(dir + "/out.folded", dir + "/out.pb.gz");
    RunResult raw = run({"go", "tool", "pprof", "-raw", dir + "/out.pb.gz"});
    INFO(raw.out);
    // mappings: the program first (pprof's "File:"), the library, each with its build-id
    RunResult ids = run({"sh", "-c", "readelf -n '" + workload("stackwork") + "' '" + workload("libstacklib.so") +
                                         "' | sed -n 's/.*Build ID: //p'"});
    const std::vector<std::string> build_ids = lines_of(ids.out);
    REQUIRE(build_ids.size() == 2);
    CHECK(raw.out.find(" " + workload("stackwork") + " " + build_ids[0] + " [FN]") != std::string::npos);
    CHECK(raw.out.find(" " + workload("libstacklib.so") + " " + build_ids[1] + " [FN]") != std::string::npos);
    RunResult top = run({"go", "tool", "pprof", "-top", "-symbolize=none", dir + "/out.pb.gz"});
    CHECK(top.out.rfind("File: stackwork\n", 0) == 0);
    CHECK(raw.out.find("PeriodType: space bytes") != std::string::npos);
    CHECK(raw.out.find("Period: 524288") != std::string::npos);
}

TEST_CASE("--pprof alone, --stacks map and Debian's python3: pprof agrees with the folded file",
          "[pprof][python]")
{
    require_root();
    const std::string dir = report_dir();
    JsonRun alone = run_memtrace_json({"--pprof", dir + "/alone.pb.gz", "--", workload("stackwork"), "16", "16"});
    REQUIRE(alone.result.exit_code == 0);
    CHECK(alone.result.out.find("Stacks (" + dir + "/alone.pb.gz)") != std::string::npos);
    CHECK(alone.report["stacks"]["pprof_file"] == dir + "/alone.pb.gz");
    CHECK(alone.report["stacks"]["file"] == "");
    CHECK(pprof_traces(dir + "/alone.pb.gz").size() >= 2);

    RunResult map = run_memtrace({"--stacks", "map", "--folded", dir + "/map.folded", "--pprof", dir + "/map.pb.gz",
                                  "--", workload("stackwork"), "16", "16"});
    REQUIRE(map.exit_code == 0);
    check_pprof_agrees(dir + "/map.folded", dir + "/map.pb.gz");

    RunResult py = run_memtrace({"--folded", dir + "/py.folded", "--pprof", dir + "/py.pb.gz", "--",
                                 "/usr/bin/python3", "-c", "x = [str(i) * 10 for i in range(300000)]"});
    REQUIRE(py.exit_code == 0);
    check_pprof_agrees(dir + "/py.folded", dir + "/py.pb.gz");
    // Python frames carry their file and line: "<module> (<string>:1)" at <string>:1
    RunResult lines = run({"go", "tool", "pprof", "-traces", "-lines", "-symbolize=none", dir + "/py.pb.gz"});
    CHECK(lines.out.find("<module> (<string>:1) <string>:1") != std::string::npos);
}

TEST_CASE("-i: plain lines when stderr is not a terminal, a table redrawn in place when it is", "[live][interval]")
{
    require_root();
    const std::vector<std::string> args{"-i", "0.2", "--", workload("memwork"), "--hold", "900", "keep", "32"};
    RunResult piped = run_memtrace(args);
    REQUIRE(piped.exit_code == 0);
    INFO(piped.err);
    CHECK(piped.err.find('\x1b') == std::string::npos);
    CHECK(piped.err.find(" memwork  rss ") != std::string::npos);
    CHECK(piped.err.find("PEAK RSS") == std::string::npos);

    // script(1) gives memtrace a terminal for stdout and stderr.
    const std::string dir = report_dir();
    std::string command = "'" + memtrace_bin() + "' --json '" + dir + "/live.json'";
    for (const std::string &a : args)
        command += " '" + a + "'";
    RunResult tty = run({"script", "-qec", command, "/dev/null"}, with_env({"TERM=xterm"}));
    INFO(tty.out);
    REQUIRE(tty.exit_code == 0);
    CHECK(tty.out.find("COMM") != std::string::npos);
    CHECK(tty.out.find("PEAK RSS") != std::string::npos);
    CHECK(tty.out.find(" memwork ") != std::string::npos);
    CHECK(tty.out.find("\x1b[3A") != std::string::npos); // up over the last table: redrawn
    CHECK(tty.out.find("\x1b[J") != std::string::npos);
    CHECK(tty.out.find(" memwork  rss ") == std::string::npos); // no plain lines
    std::ifstream json(dir + "/live.json");
    CHECK(nlohmann::json::parse(json)["processes"][0]["peak_rss_bytes"].get<uint64_t>() > 32 * MiB);
}
