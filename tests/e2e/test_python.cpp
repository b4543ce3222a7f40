// --folded with Python frames: CPython 3.11-3.13's frames in place of the
// _PyEval_EvalFrameDefault frames that run them, written `qualname (file.py:LINE)`.
// The workloads (tests/workloads/pyfuncs.py, pyattach.py) are run from the source
// tree; the lines their allocating statements are on come from the files
// themselves (their "# MT:name" markers), so editing them breaks nothing silently.
// Interpreters: Debian's /usr/bin/python3 (3.11) and pyenv's builds, part of the
// machine image: a missing one FAILs.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <map>
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

std::string py_workload(const std::string &name)
{
    return std::string(MT_SOURCE_DIR) + "/tests/workloads/" + name;
}

std::vector<std::string> file_lines(const std::string &path)
{
    std::ifstream in(path);
    INFO(path);
    REQUIRE(in.good());
    std::vector<std::string> lines;
    for (std::string line; std::getline(in, line);)
        lines.push_back(line);
    return lines;
}

// The 1-based line of the one statement marked "# MT:<marker>" in a workload.
int marker_line(const std::string &file, const std::string &marker)
{
    auto lines = file_lines(py_workload(file));
    std::string tag = "# MT:" + marker;
    int found = 0, count = 0;
    for (size_t i = 0; i < lines.size(); ++i) {
        const std::string &l = lines[i];
        if (l.size() >= tag.size() && l.compare(l.size() - tag.size(), tag.size(), tag) == 0) {
            found = static_cast<int>(i) + 1;
            ++count;
        }
    }
    INFO(file << ": marker " << tag);
    REQUIRE(count == 1);
    return found;
}

// The 1-based line of the first line containing `text` after the line that
// contains `after` (e.g. a statement inside a given def of threading.py).
int line_after(const std::string &path, const std::string &after, const std::string &text)
{
    auto lines = file_lines(path);
    bool seen = false;
    for (size_t i = 0; i < lines.size(); ++i) {
        if (!seen)
            seen = lines[i].find(after) != std::string::npos;
        else if (lines[i].find(text) != std::string::npos)
            return static_cast<int>(i) + 1;
    }
    INFO(path << ": '" << text << "' after '" << after << "'");
    FAIL("not found");
    return 0;
}

std::string quote(const std::string &text)
{
    static const std::regex special(R"([.^$|()\[\]{}*+?\\])");
    return std::regex_replace(text, special, R"(\$&)");
}

// A regex for one Python frame: `qualname (file:LINE)`.
std::string py_frame(const std::string &qualname, const std::string &file, int line)
{
    return quote(qualname) + " \\(" + quote(file) + ":" + std::to_string(line) + "\\)";
}

std::vector<std::string> split_frames(const std::string &stack)
{
    std::vector<std::string> frames;
    std::stringstream in(stack);
    for (std::string f; std::getline(in, f, ';');)
        frames.push_back(f);
    return frames;
}

bool is_python_frame(const std::string &frame)
{
    static const std::regex re(R"(.+ \([^();]+:[0-9]+\))");
    return std::regex_match(frame, re);
}

std::vector<std::string> python_frames(const std::string &stack)
{
    std::vector<std::string> out;
    for (auto &f : split_frames(stack))
        if (is_python_frame(f))
            out.push_back(f);
    return out;
}

// Whether the Python frames of `stack`, root first, are exactly `chain` (regexes).
bool python_chain_is(const std::string &stack, const std::vector<std::string> &chain)
{
    auto frames = python_frames(stack);
    if (frames.size() != chain.size())
        return false;
    for (size_t i = 0; i < chain.size(); ++i)
        if (!std::regex_match(frames[i], std::regex(chain[i])))
            return false;
    return true;
}

// Bytes of the stacks whose Python frames are exactly `chain`.
uint64_t chain_bytes(const std::map<std::string, uint64_t> &lines, const std::vector<std::string> &chain)
{
    uint64_t total = 0;
    for (const auto &[stack, bytes] : lines)
        if (python_chain_is(stack, chain))
            total += bytes;
    return total;
}

// Bytes of the stacks with a frame matching `frame` (a regex), anywhere.
uint64_t with_frame(const std::map<std::string, uint64_t> &lines, const std::string &frame)
{
    std::regex re(frame);
    uint64_t total = 0;
    for (const auto &[stack, bytes] : lines)
        for (auto &f : split_frames(stack))
            if (std::regex_match(f, re)) {
                total += bytes;
                break;
            }
    return total;
}

uint64_t python_bytes(const std::map<std::string, uint64_t> &lines)
{
    uint64_t total = 0;
    for (const auto &[stack, bytes] : lines)
        if (!python_frames(stack).empty())
            total += bytes;
    return total;
}

std::string module_frame(const std::string &file)
{
    return py_frame("<module>", file, marker_line(file, "module"));
}

std::string main_frame(const std::string &file, const std::string &call)
{
    return py_frame("main", file, marker_line(file, call));
}

// Runs memtrace --folded on `python` running pyfuncs.py with `modes`.
struct PyRun {
    JsonRun json;
    std::map<std::string, uint64_t> lines;
};

PyRun trace_pyfuncs(const std::string &python, const std::vector<std::string> &modes,
                    const std::vector<std::string> &extra = {})
{
    INFO(python);
    REQUIRE(std::filesystem::exists(python)); // part of the machine image: never skipped
    std::string folded = report_dir() + "/out.folded";
    std::vector<std::string> args{"--folded", folded};
    args.insert(args.end(), extra.begin(), extra.end());
    args.insert(args.end(), {"--", python, py_workload("pyfuncs.py")});
    args.insert(args.end(), modes.begin(), modes.end());
    PyRun r;
    r.json = run_memtrace_json(args);
    INFO("memtrace stderr:\n" << r.json.result.err);
    REQUIRE(r.json.result.exit_code == 0);
    r.lines = read_folded(folded);
    return r;
}

const std::string F = "pyfuncs.py";

std::vector<std::string> make_big_chain()
{
    return {module_frame(F), main_frame(F, "main_big"), py_frame("make_big", F, marker_line(F, "make_big"))};
}

std::vector<std::string> keep_ints_chain()
{
    return {module_frame(F), main_frame(F, "main_keep"), py_frame("keep_ints", F, marker_line(F, "keep_ints"))};
}

std::vector<std::string> generator_chain()
{
    return {module_frame(F), main_frame(F, "main_gen"), py_frame("consume", F, marker_line(F, "consume")),
            py_frame("chunks", F, marker_line(F, "chunks"))};
}

// threading.py of the interpreter: Thread._bootstrap -> _bootstrap_inner -> run -> target
std::vector<std::string> thread_chain(const std::string &threading_py)
{
    return {py_frame("Thread._bootstrap", "threading.py",
                     line_after(threading_py, "def _bootstrap(self):", "self._bootstrap_inner()")),
            py_frame("Thread._bootstrap_inner", "threading.py",
                     line_after(threading_py, "def _bootstrap_inner(self):", "self.run()")),
            py_frame("Thread.run", "threading.py",
                     line_after(threading_py, "def run(self):", "self._target(*self._args, **self._kwargs)")),
            py_frame("thread_work", F, marker_line(F, "thread_work"))};
}

std::string threading_py(const std::string &python, const std::string &minor)
{
    if (python == kDebianPython)
        return "/usr/lib/python3." + minor + "/threading.py";
    return std::filesystem::path(python).parent_path().parent_path().string() + "/lib/python3." + minor +
           "/threading.py";
}

void check_in_range(uint64_t measured, uint64_t low, uint64_t high)
{
    INFO(measured << " B, expected [" << low << ", " << high << "]");
    CHECK(measured >= low);
    CHECK(measured <= high);
}

// The checks every supported version must pass on `pyfuncs.py big keep thread gen comp`.
void check_all_modes(const PyRun &r, const std::string &python, const std::string &minor)
{
    INFO(python << ":\n" << dump_folded(r.lines));
    check_in_range(chain_bytes(r.lines, make_big_chain()), 63 * MiB, 64 * MiB + 512 * KiB);
    check_in_range(chain_bytes(r.lines, keep_ints_chain()), 31 * MiB, 32 * MiB + 512 * KiB);
    check_in_range(chain_bytes(r.lines, thread_chain(threading_py(python, minor))), 31 * MiB,
                   32 * MiB + 512 * KiB);
    check_in_range(chain_bytes(r.lines, generator_chain()), 31 * MiB, 32 * MiB + 512 * KiB);
    // squares: 1 Mi ints of 32 B and an 8 MiB list. 3.11 runs the comprehension
    // in its own frame; 3.12 and later inline it into squares.
    std::vector<std::string> comp{module_frame(F), main_frame(F, "main_comp"),
                                  py_frame("squares", F, marker_line(F, "squares"))};
    if (minor == "11")
        comp.push_back(py_frame("squares.<locals>.<listcomp>", F, marker_line(F, "squares")));
    else
        CHECK(with_frame(r.lines, ".*<listcomp>.*") == 0);
    check_in_range(chain_bytes(r.lines, comp), 36 * MiB, 41 * MiB);
}

} // namespace

TEST_CASE("python: Debian's python3, each function's bytes under its own Python frames and lines", "[python]")
{
    require_root();
    PyRun r = trace_pyfuncs(kDebianPython, {"big", "keep"});
    INFO(dump_folded(r.lines));
    // make_big's 64 MiB bytearray, zeroed inside bytearray(): under
    // <module> -> main (the call's line) -> make_big (the bytearray's line)
    uint64_t big = chain_bytes(r.lines, make_big_chain());
    check_in_range(big, 63 * MiB, 64 * MiB + 512 * KiB);
    // keep_ints' 32 MiB list of 4 Mi references, filled by list repetition
    uint64_t keep = chain_bytes(r.lines, keep_ints_chain());
    check_in_range(keep, 31 * MiB, 32 * MiB + 512 * KiB);
    // the summary's count: at least the samples of those 96 MiB, at most all samples
    const auto &st = r.json.report["stacks"];
    CHECK(st["python"]["samples"].get<uint64_t>() >= (big + keep) / (512 * KiB));
    CHECK(st["python"]["samples"].get<uint64_t>() <= st["samples"].get<uint64_t>());
    // neither function's frame holds the other's bytes, on any line
    CHECK(with_frame(r.lines, "make_big \\(pyfuncs\\.py:[0-9]+\\)") == big);
    CHECK(with_frame(r.lines, "keep_ints \\(pyfuncs\\.py:[0-9]+\\)") == keep);
    // in those stacks the interpreter's frame is replaced, not kept beside them
    for (const auto &[stack, bytes] : r.lines) {
        if (python_chain_is(stack, make_big_chain()) || python_chain_is(stack, keep_ints_chain())) {
            INFO(stack);
            CHECK(stack.find("_PyEval_EvalFrameDefault") == std::string::npos);
            CHECK(stack.rfind("python3;", 0) == 0);
            // the C frames of the allocation lie below the Python frames, none between
            auto frames = split_frames(stack);
            std::vector<size_t> at;
            for (size_t i = 0; i < frames.size(); ++i)
                if (is_python_frame(frames[i]))
                    at.push_back(i);
            REQUIRE(!at.empty());
            CHECK(at.back() - at.front() + 1 == at.size());
        }
    }
    CHECK(r.json.report["stacks"]["unwind"]["copies_lost"] == 0);
}

TEST_CASE("python: a threading.Thread's bytes lie under Thread.run and its target", "[python]")
{
    require_root();
    PyRun r = trace_pyfuncs(kDebianPython, {"thread"});
    INFO(dump_folded(r.lines));
    auto chain = thread_chain(threading_py(kDebianPython, "11"));
    check_in_range(chain_bytes(r.lines, chain), 31 * MiB, 32 * MiB + 512 * KiB);
    // all of thread_work's bytes, whatever the frames above it, and none under
    // the main thread's frames (it waits in join meanwhile)
    uint64_t target = with_frame(r.lines, "thread_work \\(pyfuncs\\.py:[0-9]+\\)");
    check_in_range(target, 31 * MiB, 32 * MiB + 512 * KiB);
    for (const auto &[stack, bytes] : r.lines)
        if (stack.find("thread_work (") != std::string::npos) {
            INFO(stack);
            CHECK(stack.find("main (pyfuncs.py") == std::string::npos);
            CHECK(stack.find("<module> (pyfuncs.py") == std::string::npos);
            CHECK(stack.find(";start_thread;") != std::string::npos);
        }
}

TEST_CASE("python: bytes made in a generator's body lie under it, below its consumer", "[python]")
{
    require_root();
    PyRun r = trace_pyfuncs(kDebianPython, {"gen"});
    INFO(dump_folded(r.lines));
    // two 16 MiB bytearrays made at the yield; consume()'s for loop resumes chunks()
    check_in_range(chain_bytes(r.lines, generator_chain()), 31 * MiB, 32 * MiB + 512 * KiB);
    check_in_range(with_frame(r.lines, "chunks \\(pyfuncs\\.py:[0-9]+\\)"), 31 * MiB, 32 * MiB + 512 * KiB);
}

TEST_CASE("python: -p attaches to a running interpreter and names its frames", "[python]")
{
    require_root();
    const std::string A = "pyattach.py";
    Background py({kDebianPython, py_workload(A)});
    REQUIRE(py.wait_for_stderr("ready", 60));
    std::string folded = report_dir() + "/out.folded";
    RunResult r = run_memtrace({"-p", std::to_string(py.pid()), "--folded", folded, "-d", "2"});
    INFO("memtrace stderr:\n" << r.err);
    REQUIRE(r.exit_code == 0);
    CHECK(py.running()); // -d ends the trace, not the process
    py.close_stdin();
    CHECK(py.wait(60).exit_code == 0);
    auto lines = read_folded(folded);
    INFO(dump_folded(lines));
    // a tick every 0.2 s at best: at least one 40 MiB tick in 2 s, each under
    // <module> -> main (the loop's call) -> tick
    std::vector<std::string> chain{module_frame(A), main_frame(A, "main_tick"),
                                   py_frame("tick", A, marker_line(A, "tick"))};
    uint64_t ticks = chain_bytes(lines, chain);
    CHECK(ticks >= 39 * MiB);
    CHECK(ticks >= python_bytes(lines) * 95 / 100); // and next to nothing else
}

TEST_CASE("python: pyenv's 3.11, 3.12 and 3.13 name the same frames", "[python]")
{
    require_root();
    for (std::string version : {"3.11.7", "3.12.1", "3.13.0"}) {
        std::string python = pyenv_python(version);
        std::string minor = version.substr(2, 2);
        PyRun r = trace_pyfuncs(python, {"big", "keep", "thread", "gen", "comp"});
        check_all_modes(r, python, minor);
        CHECK(r.json.result.err.find("warning") == std::string::npos);
    }
    // and Debian's, with the comprehension and the thread in the same run
    PyRun r = trace_pyfuncs(kDebianPython, {"big", "keep", "thread", "gen", "comp"});
    check_all_modes(r, kDebianPython, "11");
}

TEST_CASE("python: 3.10 is refused in one warning line; its C frames traced as before", "[python]")
{
    require_root();
    std::string python = pyenv_python("3.10.13");
    PyRun r = trace_pyfuncs(python, {"big", "keep"});
    INFO(dump_folded(r.lines) << "stderr:\n" << r.json.result.err);
    std::vector<std::string> warnings;
    std::stringstream err(r.json.result.err);
    for (std::string line; std::getline(err, line);)
        if (line.find("warning") != std::string::npos)
            warnings.push_back(line);
    REQUIRE(warnings.size() == 1);
    static const std::regex expected(
        "memtrace: warning: /\\S+: Python 3\\.10 is not supported \\(3\\.11, 3\\.12 and 3\\.13 are\\): "
        "its stacks show the interpreter's C frames, not Python's");
    CHECK(std::regex_match(warnings[0], expected));
    CHECK(python_bytes(r.lines) == 0);
    CHECK(with_frame(r.lines, ".*pyfuncs.*") == 0);
    // the trace is whole: the 96 MiB are there, under the interpreter's C frames
    const auto &st = r.json.report["stacks"];
    CHECK(st["folded_total_bytes"].get<uint64_t>() >= 96 * MiB);
    CHECK(st["exact_total_bytes"].get<uint64_t>() - st["folded_total_bytes"].get<uint64_t>() < 512 * KiB * 4);
    CHECK(with_frame(r.lines, "_PyEval_EvalFrameDefault") >= 95 * MiB);
    CHECK(st["python"]["samples"] == 0);
}

TEST_CASE("python: --sample-bytes 4096, make_big's frame holds its 64 MiB within 2%, lost copies counted",
          "[python]")
{
    require_root();
    PyRun r = trace_pyfuncs(kDebianPython, {"big"}, {"--sample-bytes", "4096"});
    INFO(dump_folded(r.lines));
    uint64_t big = with_frame(r.lines, py_frame("make_big", F, marker_line(F, "make_big")));
    uint64_t lost = r.json.report["stacks"]["unwind"]["copies_lost"];
    INFO(big << " B under make_big, " << lost << " stack copies lost");
    // Every page is a copy of a deep stack: a reader slowed by a busy machine
    // loses some (the ring buffer fills; counted and reported, never misnamed).
    // What arrived is make_big's, and with the lost copies' pages it makes the 64 MiB.
    const uint64_t chain = chain_bytes(r.lines, make_big_chain());
    CHECK(big + lost * 4096 >= 64 * MiB * 98 / 100);
    CHECK(big <= 64 * MiB * 102 / 100);
    check_in_range(chain + lost * 4096, 64 * MiB * 98 / 100, 64 * MiB * 102 / 100 + lost * 4096);
    if (lost)
        CHECK(r.json.result.out.find("stack copies lost") != std::string::npos);
}

namespace {

// Each round's 1 MiB under <module> (genN.py:3) -> fN (genN.py:2) of that round,
// in one interpreter's run of `pyfuncs.py recompile`.
void check_recompile(const std::string &python)
{
    PyRun r = trace_pyfuncs(python, {"recompile"});
    INFO(python << ":\n" << dump_folded(r.lines));
    std::vector<std::string> base{module_frame(F), main_frame(F, "main_recompile"),
                                  py_frame("recompile", F, marker_line(F, "recompile"))};
    uint64_t named = 0;
    int rounds_seen = 0;
    for (int i = 0; i < 40; ++i) {
        std::string g = "gen" + std::to_string(i) + ".py";
        auto chain = base;
        chain.push_back(py_frame("<module>", g, 3));
        chain.push_back(py_frame("f" + std::to_string(i), g, 2));
        uint64_t bytes = chain_bytes(r.lines, chain);
        named += bytes;
        rounds_seen += bytes > 0;
    }
    // 40 MiB, sampled every 512 KiB: each round's two samples under its own names
    check_in_range(named, 39 * MiB, 40 * MiB + 512 * KiB);
    CHECK(rounds_seen == 40);
    // never one round's function under another round's (or any other) module
    int misnamed = 0;
    for (const auto &[stack, bytes] : r.lines) {
        auto frames = python_frames(stack);
        for (size_t i = 1; i < frames.size(); ++i) {
            static const std::regex fn(R"(f([0-9]+) \(gen([0-9]+)\.py:2\))");
            static const std::regex mod(R"(<module> \(gen([0-9]+)\.py:3\))");
            std::smatch f, m;
            if (!std::regex_match(frames[i], f, fn))
                continue;
            bool ok = f[1] == f[2] && std::regex_match(frames[i - 1], m, mod) && m[1] == f[1];
            if (!ok && ++misnamed <= 3) {
                INFO(frames[i - 1] << " above " << frames[i]);
                CHECK(ok);
            }
        }
    }
    CHECK(misnamed == 0);
}

} // namespace

TEST_CASE("python: code objects made and freed in turn keep their own names", "[python]")
{
    require_root();
    // 40 rounds of compile + exec of a new module genN.py whose fN keeps a 1 MiB
    // bytearray; each round's module code object is freed after it ran, and the
    // next one's may take its address
    check_recompile(kDebianPython);
    for (std::string version : {"3.11.7", "3.12.1", "3.13.0"})
        check_recompile(pyenv_python(version));
}

TEST_CASE("python: deeper than the frames read: the innermost kept, a marker for the rest", "[python]")
{
    require_root();
    std::string folded = report_dir() + "/deep.folded";
    // 50 calls deep, then 32 MiB: 51 Python frames, 32 read
    JsonRun r = run_memtrace_json({"--folded", folded, "--", kDebianPython, "-c",
                                   "def down(n):\n"
                                   "    if n == 0:\n"
                                   "        return bytearray(32 << 20)\n"
                                   "    return down(n - 1)\n"
                                   "down(50)\n"});
    REQUIRE(r.result.exit_code == 0);
    auto lines = read_folded(folded);
    INFO(dump_folded(lines));
    std::string chain = "PyEval_EvalCode;\\[more Python frames\\];";
    for (int i = 0; i < 31; ++i)
        chain += "down \\(<string>:4\\);";
    chain += "down \\(<string>:3\\);";
    uint64_t bytes = 0;
    const std::regex deep(".*" + chain + ".*");
    for (const auto &[stack, n] : lines)
        if (std::regex_match(stack, deep))
            bytes += n;
    CHECK(bytes >= 31 * MiB);
    CHECK(bytes <= 32 * MiB + 512 * KiB);
}

TEST_CASE("python: --unwind fp says once that Python frames need stack copies", "[python]")
{
    require_root();
    std::string folded = report_dir() + "/fp.folded";
    JsonRun r = run_memtrace_json({"--folded", folded, "--unwind", "fp", "--", kDebianPython, "-c",
                                   "b = bytearray(8 << 20)"});
    REQUIRE(r.result.exit_code == 0);
    INFO(r.result.err);
    const std::string expected = "Python frames come with stack copies: use --unwind auto (the "
                                 "default) or dwarf";
    const size_t at = r.result.err.find(expected);
    CHECK(at != std::string::npos);
    CHECK(r.result.err.find(expected, at + 1) == std::string::npos);
    CHECK(r.report["stacks"]["python"]["samples"] == 0);
}

TEST_CASE("python: --no-python-frames keeps the interpreter's C frames and reads no Python state",
          "[python]")
{
    require_root();
    std::string folded = report_dir() + "/nopy.folded";
    JsonRun r = run_memtrace_json({"--folded", folded, "--no-python-frames", "--", kDebianPython, "-c",
                                   "def grow():\n    return bytearray(16 << 20)\nb = grow()"});
    REQUIRE(r.result.exit_code == 0);
    INFO(r.result.err);
    CHECK(r.report["stacks"]["python"]["samples"] == 0);
    CHECK(r.result.err.find("Python frames") == std::string::npos);
    auto lines = read_folded(folded);
    uint64_t eval = 0, python = 0;
    for (const auto &[stack, bytes] : lines) {
        if (stack.find("_PyEval_EvalFrameDefault") != std::string::npos)
            eval += bytes;
        if (stack.find(".py:") != std::string::npos || stack.find("(<string>:") != std::string::npos)
            python += bytes;
    }
    CHECK(python == 0);
    CHECK(eval >= 15 * MiB); // the 16 MiB bytearray, made under the interpreter's frames

    SECTION("without --folded it is refused: it shapes stacks")
    {
        RunResult bad = run_memtrace({"--no-python-frames", "--", "/bin/true"});
        CHECK(bad.exit_code == 2);
        CHECK(bad.err.find("--no-python-frames") != std::string::npos);
    }
}

TEST_CASE("python: a program that execs Python again has its frames read again, at the same address too",
          "[python]")
{
    require_root();
    // os.execv of the interpreter itself, as reloaders do; without ASLR
    // (setarch -R) the new interpreter's runtime is where the old one's was
    const std::string dir = report_dir();
    const std::string script = dir + "/reexec.py";
    {
        std::ofstream out(script);
        out << "import os, sys\n"
               "if len(sys.argv) == 1:\n"
               "    os.execv(sys.executable, [sys.executable, __file__, 'again'])\n"
               "def grow():\n"
               "    return bytearray(48 << 20)\n"
               "x = grow()\n";
    }
    const std::string folded = dir + "/reexec.folded";
    JsonRun r = run_memtrace_json({"--folded", folded, "--", "setarch", "-R", kDebianPython, script});
    REQUIRE(r.result.exit_code == 0);
    auto lines = read_folded(folded);
    INFO(dump_folded(lines));
    uint64_t grown = 0;
    for (const auto &[stack, bytes] : lines)
        if (stack.find(";grow (reexec.py:5);") != std::string::npos)
            grown += bytes;
    check_in_range(grown, 47 * MiB, 48 * MiB + 512 * KiB);
}
