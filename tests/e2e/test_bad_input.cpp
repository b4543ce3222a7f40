// Every bad input: one clear line on stderr, exit code 2, nothing left attached.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

using namespace e2e;

namespace {

void check_refused(const RunResult &r, const std::string &expected)
{
    INFO("stdout: " << r.out << "\nstderr: " << r.err);
    CHECK(r.exit_code == 2);
    CHECK(r.err.find(expected) != std::string::npos);
    CHECK(r.err.rfind("memtrace: ", 0) == 0);
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1); // one line
    CHECK(r.out.empty());
    CHECK(memtrace_programs_loaded().empty());
}

} // namespace

TEST_CASE("not root: refused with what to do", "[bad-input]")
{
    require_root();
    RunResult r = run({"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                       "--inh-caps=-all", memtrace_bin(), "--", "true"});
    check_refused(r, "needs root, or the capabilities CAP_BPF and CAP_PERFMON");
}

TEST_CASE("a kernel without BTF: refused", "[bad-input]")
{
    require_root();
    // Hide /sys/kernel/btf in a private mount namespace: what a kernel without BTF shows.
    RunResult r = run({"unshare", "-m", "sh", "-c",
                       "mount -t tmpfs none /sys/kernel/btf && exec \"$0\" -- true",
                       memtrace_bin()});
    check_refused(r, "this kernel has no BTF");
}

TEST_CASE("tracefs not mounted: memtrace mounts it and traces", "[bad-input]")
{
    require_root();
    RunResult r = run({"unshare", "-m", "sh", "-c",
                       "umount /sys/kernel/debug/tracing 2>/dev/null; "
                       "umount /sys/kernel/tracing 2>/dev/null; "
                       "test -d /sys/kernel/tracing/events && { echo still mounted; exit 9; }; "
                       "exec \"$0\" -v --json - -- true",
                       memtrace_bin()});
    INFO(r.err);
    CHECK(r.exit_code == 0);
    CHECK(r.err.find("mounted tracefs at /sys/kernel/tracing") != std::string::npos);
    CHECK(nlohmann::json::parse(r.out)["processes"].size() == 1);
}

TEST_CASE("bad PIDs: missing, kernel thread, exited", "[bad-input]")
{
    require_root();
    check_refused(run_memtrace({"-p", "4000000"}), "no process with pid 4000000");
    check_refused(run_memtrace({"-p", "2"}), "is a kernel thread");

    // A process that has exited but is not reaped yet (a zombie).
    pid_t child = fork();
    REQUIRE(child >= 0);
    if (child == 0)
        _exit(0);
    usleep(100000);
    check_refused(run_memtrace({"-p", std::to_string(child)}), "has already exited");
    waitpid(child, nullptr, 0);
}

TEST_CASE("a PID that exits while memtrace attaches: refused", "[bad-input]")
{
    require_root();
    // Processes that live ~0-300 ms: some attaches race with the exit. Whatever the
    // timing, memtrace must either trace it or refuse with one clear line.
    for (int delay_ms : {0, 20, 60, 120, 200, 260}) {
        Background work({"sleep", "0.25"});
        usleep(static_cast<useconds_t>(delay_ms) * 1000);
        RunResult r = run_memtrace({"-q", "-p", std::to_string(work.pid())});
        INFO("delay " << delay_ms << " ms; stderr: " << r.err);
        if (r.exit_code == 2) {
            bool clear = r.err.find("exited while memtrace was attaching") != std::string::npos ||
                         r.err.find("has already exited") != std::string::npos ||
                         r.err.find("no process with pid") != std::string::npos;
            CHECK(clear);
        } else {
            CHECK(r.exit_code == 0);
            CHECK(r.out.find("(it exited)") != std::string::npos);
        }
        CHECK(memtrace_programs_loaded().empty());
    }
}

TEST_CASE("a command that is missing or not executable: refused", "[bad-input]")
{
    require_root();
    check_refused(run_memtrace({"--", "no-such-command-xyz"}),
                  "command not found: 'no-such-command-xyz'");
    check_refused(run_memtrace({"--", "/nonexistent/prog"}), "No such file or directory");
    std::string dir = report_dir();
    std::string script = dir + "/not-executable.sh";
    { std::ofstream(script) << "#!/bin/sh\necho hi\n"; }
    chmod(script.c_str(), 0644);
    // root can execute a file only if some x bit is set
    check_refused(run_memtrace({"--", script}), "Permission denied");
    check_refused(run_memtrace({"--", dir}), "Is a directory");
}

TEST_CASE("usage errors: unknown option, -p with --, nothing to trace", "[bad-input]")
{
    require_root();
    check_refused(run_memtrace({"--frobnicate", "--", "true"}), "unknown option '--frobnicate'");
    check_refused(run_memtrace({"-p", "1", "--", "true"}), "give either -p PID or -- CMD, not both");
    check_refused(run_memtrace({}), "nothing to trace");
    check_refused(run_memtrace({"-d", "x", "-a"}), "--duration");
}

TEST_CASE("an unwritable output path fails before tracing", "[bad-input]")
{
    require_root();
    check_refused(run_memtrace({"--json", "/nonexistent/dir/out.json", "--", "true"}),
                  "cannot write '/nonexistent/dir/out.json'");
    check_refused(run_memtrace({"-o", "/", "--", "true"}), "cannot write '/': Is a directory");
    check_refused(run_memtrace({"--json", "/sys/kernel/btf/vmlinux", "--", "true"}),
                  "cannot write '/sys/kernel/btf/vmlinux'");
    // an output file memtrace created is removed when the run fails
    std::string out = report_dir() + "/report.json";
    check_refused(run_memtrace({"--json", out, "--", "no-such-command-xyz"}), "command not found");
    CHECK_FALSE(std::filesystem::exists(out));
}

TEST_CASE("--help teaches; --version answers", "[cli]")
{
    RunResult help = run_memtrace({"--help"});
    CHECK(help.exit_code == 0);
    CHECK(help.out.find("Examples:") != std::string::npos);
    CHECK(help.out.find("What the figures mean:") != std::string::npos);
    RunResult version = run_memtrace({"--version"});
    CHECK(version.exit_code == 0);
    CHECK(version.out.rfind("memtrace ", 0) == 0);
}

TEST_CASE("-f with a Python function's name in a Python program: says how Python functions are seen",
          "[bad-input][python]")
{
    require_root();
    RunResult r = run_memtrace({"-f", "extract_array", "--", "/usr/bin/python3", "-c", "pass"});
    check_refused(r, "no function matches 'extract_array'");
    CHECK(r.err.find("This is a Python program") != std::string::npos);
    CHECK(r.err.find("-f 'py:NAME'") != std::string::npos);

    // a native program is not told about Python
    RunResult native = run_memtrace({"-f", "extract_array", "--", "/bin/true"});
    check_refused(native, "no function matches 'extract_array'");
    CHECK(native.err.find("Python") == std::string::npos);
}

TEST_CASE("--debug-cache: a directory others can write to, or a file, is refused at start", "[bad-input]")
{
    require_root();
    const std::string dir = report_dir();
    const std::string shared = dir + "/shared";
    std::filesystem::create_directory(shared);
    std::filesystem::permissions(shared, std::filesystem::perms::all); // 0777: anyone could plant a copy
    check_refused(run_memtrace({"--debug-cache", shared, "--", "true"}),
                  "--debug-cache '" + shared + "': cannot be made, is not a directory, or is not yours alone");
    const std::string file = dir + "/a-file";
    std::ofstream(file) << "x";
    check_refused(run_memtrace({"--debug-cache", file, "--", "true"}), "--debug-cache '" + file + "'");
    // one that does not exist yet is made, ours alone
    const std::string fresh = dir + "/fresh-cache";
    RunResult ok = run_memtrace({"--debug-cache", fresh, "-q", "-o", "/dev/null", "--", "true"});
    CHECK(ok.exit_code == 0);
    struct stat st {};
    REQUIRE(stat(fresh.c_str(), &st) == 0);
    CHECK(S_ISDIR(st.st_mode));
    CHECK((st.st_mode & 077) == 0);
}
