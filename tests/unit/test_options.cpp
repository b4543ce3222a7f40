#include <catch2/catch.hpp>

#include "cli/options.h"
#include "error.h"

using namespace memtrace;

namespace {

Options parse(std::vector<std::string> args)
{
    auto result = parse_options(args);
    REQUIRE(std::holds_alternative<Options>(result));
    return std::get<Options>(result);
}

std::string error_of(std::vector<std::string> args)
{
    try {
        parse_options(args);
    } catch (const Error &e) {
        CHECK(e.exit_code() == 2);
        std::string what = e.what();
        CHECK(what.find('\n') == std::string::npos); // one line
        return what;
    }
    FAIL("no error for the arguments");
    return "";
}

} // namespace

TEST_CASE("a command after -- is taken verbatim")
{
    Options o = parse({"--children", "--", "./prog", "-p", "3", "--json", "x"});
    CHECK(o.trace.mode == TraceMode::Command);
    CHECK(o.trace.command == std::vector<std::string>{"./prog", "-p", "3", "--json", "x"});
    CHECK(o.trace.children);
    CHECK(o.trace.pids.empty());
    CHECK(o.json_path.empty());
}

TEST_CASE("a command may also follow the options without --")
{
    Options o = parse({"-q", "ls", "-l", "/tmp"});
    CHECK(o.trace.mode == TraceMode::Command);
    CHECK(o.trace.command == std::vector<std::string>{"ls", "-l", "/tmp"});
    CHECK(o.trace.quiet);
}

TEST_CASE("-p takes comma lists and repeats, sorted and unique")
{
    Options o = parse({"-p", "30,10", "--pid", "20", "-p", "10"});
    CHECK(o.trace.mode == TraceMode::Pids);
    CHECK(o.trace.pids == std::vector<pid_t>{10, 20, 30});
}

TEST_CASE("-a with duration, interval, top and outputs")
{
    Options o = parse({"-a", "-d", "2.5", "-i", "0.5", "--top", "5", "--json", "-", "-o", "t.txt"});
    CHECK(o.trace.mode == TraceMode::All);
    CHECK(o.trace.duration_s == Approx(2.5));
    CHECK(o.trace.interval_s == Approx(0.5));
    CHECK(o.trace.top == 5u);
    CHECK(o.json_path == "-");
    CHECK(o.table_path == "t.txt");
}

TEST_CASE("-d inf is no limit; nan, negative and zero are refused")
{
    CHECK_FALSE(parse({"-d", "inf", "-a"}).trace.duration_s);
    CHECK_FALSE(parse({"-d", "infinity", "-i", "inf", "-a"}).trace.interval_s);
    CHECK(parse({"-d", "1e300", "-a"}).trace.duration_s == Approx(1e300)); // saturated by the collector
    CHECK(error_of({"-d", "nan", "-a"}).find("got 'nan'") != std::string::npos);
    CHECK(error_of({"-d", "-inf", "-a"}).find("-d") != std::string::npos);
    CHECK(error_of({"-d", "-3", "-a"}).find("-d") != std::string::npos);
    CHECK(error_of({"-d", "0", "-a"}).find("(or inf)") != std::string::npos);
}

TEST_CASE("defaults")
{
    Options o = parse({"--", "true"});
    CHECK_FALSE(o.trace.duration_s);
    CHECK_FALSE(o.trace.interval_s);
    CHECK_FALSE(o.trace.top);
    CHECK(o.trace.max_procs == 16384);
    CHECK_FALSE(o.trace.as_root);
    CHECK(o.table_path.empty());
}

TEST_CASE("-o - means stdout")
{
    CHECK(parse({"-o", "-", "-a"}).table_path.empty());
}

TEST_CASE("--help and --version exit early with text")
{
    auto help = parse_options({"--help"});
    REQUIRE(std::holds_alternative<EarlyExit>(help));
    const std::string &text = std::get<EarlyExit>(help).text;
    for (const char *word : {"-- CMD", "-p PID", "-a", "--children", "--json", "--duration",
                             "--interval", "--top", "--as-root", "PEAK RSS", "Examples", "CAP_BPF"})
        CHECK(text.find(word) != std::string::npos);
    auto version = parse_options({"-V"});
    REQUIRE(std::holds_alternative<EarlyExit>(version));
    CHECK(std::get<EarlyExit>(version).text.rfind("memtrace ", 0) == 0);
}

TEST_CASE("bad input gives one clear line")
{
    CHECK(error_of({}).find("nothing to trace") != std::string::npos);
    CHECK(error_of({"--bogus"}).find("unknown option '--bogus'") != std::string::npos);
    CHECK(error_of({"--bogus", "--", "ls"}).find("--bogus") != std::string::npos);
    CHECK(error_of({"-p", "12,abc"}).find("invalid PID 'abc'") != std::string::npos);
    CHECK(error_of({"-p", "0"}).find("invalid PID '0'") != std::string::npos);
    CHECK(error_of({"-p", "-5"}).find("PID") != std::string::npos);
    CHECK(error_of({"-p", "1", "--", "ls"}).find("not both") != std::string::npos);
    CHECK(error_of({"-a", "-p", "1"}).find("-a traces every process") != std::string::npos);
    CHECK(error_of({"-a", "--", "ls"}).find("-a traces every process") != std::string::npos);
    CHECK(error_of({"--"}).find("no command after '--'") != std::string::npos);
    CHECK(error_of({"-d", "0", "-a"}).find("positive number of seconds (or inf), got '0'") != std::string::npos);
    CHECK(error_of({"-d", "soon", "-a"}).find("got 'soon'") != std::string::npos);
    CHECK(error_of({"-i", "-1", "-a"}).find("interval") != std::string::npos);
    CHECK(error_of({"--top", "0", "-a"}).find("whole number from 1") != std::string::npos);
    CHECK(error_of({"--max-procs", "2", "-a"}).find("16") != std::string::npos);
    CHECK(error_of({"--json"}).find("--json") != std::string::npos);
    CHECK(error_of({"-p", "3", "--as-root"}).find("--as-root") != std::string::npos);
    CHECK(error_of({"--json", "-", "-o", "-", "-a"}).find("both write to stdout") != std::string::npos);
    CHECK(error_of({"-q", "x", "--", "ls"}).find("before '--'") != std::string::npos);
}

TEST_CASE("--unwind and --stack-bytes shape the stacks of --folded")
{
    Options def = parse({"--folded", "x.folded", "--", "ls"});
    CHECK(def.trace.unwind == UnwindMode::Auto);
    CHECK(def.trace.stack_bytes == kDefaultStackCopy);
    CHECK(parse({"--folded", "x", "--unwind", "fp", "--", "ls"}).trace.unwind == UnwindMode::FramePointers);
    Options d = parse({"--folded", "x", "--unwind", "dwarf", "--stack-bytes", "64K", "--", "ls"});
    CHECK(d.trace.unwind == UnwindMode::Dwarf);
    CHECK(d.trace.stack_bytes == 65536);
    CHECK(parse({"--folded", "x", "--stack-bytes", "1001", "--", "ls"}).trace.stack_bytes == 1000);
    CHECK(error_of({"--folded", "x", "--unwind", "lbr", "--", "ls"}).find("fp, dwarf or auto") !=
          std::string::npos);
    CHECK(error_of({"--folded", "x", "--stack-bytes", "1M", "--", "ls"}).find("at most") ==
              std::string::npos);
    CHECK(error_of({"--folded", "x", "--stack-bytes", "1M", "--", "ls"}).find("between 512 and 64K") !=
          std::string::npos);
    CHECK(error_of({"--folded", "x", "--unwind", "fp", "--stack-bytes", "8K", "--", "ls"})
              .find("not fp") != std::string::npos);
    CHECK(error_of({"--unwind", "dwarf", "--", "ls"}).find("--folded FILE") != std::string::npos);
}

TEST_CASE("--lines: stacks sampled for it, 64K by default, with -f only")
{
    Options o = parse({"-f", "build", "--lines", "--", "./app"});
    CHECK(o.trace.lines);
    CHECK(o.trace.stacks == StackWeight::Touch);
    CHECK(o.trace.sample_bytes == 64 * 1024);
    CHECK_FALSE(o.trace.fold_stacks);
    CHECK(o.folded_path.empty());
    CHECK(parse({"-f", "build", "--lines", "--sample-bytes", "4096", "./app"}).trace.sample_bytes == 4096);
    Options both = parse({"-f", "build", "--lines", "--folded", "x.folded", "./app"});
    CHECK(both.trace.fold_stacks);
    CHECK(both.trace.sample_bytes == 64 * 1024);
    Options py = parse({"-f", "py:load", "--lines", "./app.py"});
    CHECK(py.trace.python_frames_only());
    CHECK_FALSE(o.trace.python_frames_only());
    CHECK_FALSE(parse({"-f", "py:load", "--lines", "--folded", "f", "./a"}).trace.python_frames_only());
    CHECK(error_of({"--lines", "./app"}).find("give -f FUNCTION too") != std::string::npos);
    CHECK(error_of({"-f", "x", "--lines", "--unwind", "fp", "./app"}).find("stack copies") != std::string::npos);
    CHECK(error_of({"-f", "x", "--lines", "--stacks", "map", "./app"}).find("--stacks map") != std::string::npos);
    CHECK(error_of({"-f", "py:x", "--lines", "--no-python-frames", "./app"}).find("drop --no-python-frames") !=
          std::string::npos);
    CHECK(parse({"-f", "x", "--lines", "--no-python-frames", "./app"}).trace.lines);
    CHECK(error_of({"-f", "x", "--lines", "--sample-bytes", "100", "./app"}).find("at least 4096") !=
          std::string::npos);
}

TEST_CASE("--stacks peak and end: resident stacks")
{
    CHECK(parse({"--folded", "x", "--stacks", "peak", "--", "ls"}).trace.stacks == StackWeight::Peak);
    Options end = parse({"--folded", "x", "--stacks", "end", "--", "ls"});
    CHECK(end.trace.stacks == StackWeight::End);
    CHECK(end.trace.resident_stacks());
    CHECK_FALSE(parse({"--folded", "x", "--", "ls"}).trace.resident_stacks());
    CHECK(error_of({"--folded", "x", "--stacks", "top", "--", "ls"}).find("touch, map, peak or end") !=
          std::string::npos);
    CHECK(error_of({"--stacks", "peak", "--", "ls"}).find("--folded FILE") != std::string::npos);
}

TEST_CASE("--pprof FILE takes stacks with or without --folded, with the same sampling options", "[pprof]")
{
    Options alone = parse({"--pprof", "m.pb.gz", "--stacks", "peak", "--sample-bytes", "64K", "--", "ls"});
    CHECK(alone.pprof_path == "m.pb.gz");
    CHECK(alone.folded_path.empty());
    CHECK(alone.trace.stacks == StackWeight::Peak);
    CHECK(alone.trace.sample_bytes == 64 * 1024);
    Options both = parse({"--folded", "m.folded", "--pprof", "m.pb.gz", "--", "ls"});
    CHECK(both.trace.stacks == StackWeight::Touch);
    CHECK(parse({"--", "ls"}).trace.stacks == StackWeight::None);
    CHECK(error_of({"--pprof", "-", "--", "ls"}).find("binary file") != std::string::npos);
    CHECK(error_of({"--stacks", "map", "--", "ls"}).find("--pprof FILE") != std::string::npos);
}

TEST_CASE("--help-man and --bash-completion print what make installs", "[man]")
{
    auto man = parse_options({"--help-man"});
    REQUIRE(std::holds_alternative<EarlyExit>(man));
    const std::string page = std::get<EarlyExit>(man).text;
    CHECK(page.find(".TH MEMTRACE 1") != std::string::npos);
    CHECK(page.find("\\fB\\-\\-pprof\\fR \\fIFILE\\fR") != std::string::npos);
    CHECK(page.find(".SS \"memtrace plot\"") != std::string::npos);
    auto bash = parse_options({"--bash-completion"});
    REQUIRE(std::holds_alternative<EarlyExit>(bash));
    CHECK(std::get<EarlyExit>(bash).text.find("compgen -W 'fp dwarf auto'") != std::string::npos);
    auto help = parse_options({"--help"}); // hidden from --help
    REQUIRE(std::holds_alternative<EarlyExit>(help));
    CHECK(std::get<EarlyExit>(help).text.find("--help-man") == std::string::npos);
}

TEST_CASE("--debug-cache: a directory, none, or the default")
{
    CHECK_FALSE(parse({"--", "true"}).debug_cache.has_value()); // the default, chosen at start
    CHECK(parse({"--debug-cache", "none", "--", "true"}).debug_cache == std::optional<std::string>(""));
    CHECK(parse({"--debug-cache", "/var/tmp/mt", "--", "true"}).debug_cache ==
          std::optional<std::string>("/var/tmp/mt"));
    CHECK(error_of({"--debug-cache", "cache", "--", "true"}).find("absolute directory") != std::string::npos);
}
