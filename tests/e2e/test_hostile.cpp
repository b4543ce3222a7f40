// What a hostile user on the same machine can put in root's memtrace's way:
// FIFOs where it reads files for a traced process, bytes that are not UTF-8 in
// argv, and a forged SUDO_UID.
#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"

using namespace e2e;

TEST_CASE("a FIFO named as the command's debug file: memtrace finishes at once", "[hostile]")
{
    require_root();
    std::string dir = report_dir();
    std::string copy = dir + "/funcwork-debuglink";
    std::filesystem::copy_file(workload("funcwork-debuglink"), copy);
    // what its .gnu_debuglink names, beside it: an open() for reading waits forever
    REQUIRE(mkfifo((dir + "/funcwork-debuglink.debug").c_str(), 0644) == 0);
    RunOptions opt;
    opt.timeout_s = 30; // the old memtrace never ended
    RunResult r = run_memtrace({"--folded", dir + "/out.folded", "--", copy, "spike", "20"}, opt);
    INFO(r.err);
    CHECK(r.exit_code == 0);
    CHECK_FALSE(read_folded(dir + "/out.folded").empty());
    CHECK(memtrace_programs_loaded().empty());
}

TEST_CASE("bytes that are not UTF-8 in argv: --json and --timeline still written", "[hostile]")
{
    require_root();
    std::string dir = report_dir();
    SECTION("-- CMD")
    {
        RunResult r = run_memtrace({"--json", dir + "/r.json", "--timeline", dir + "/r.mtrace", "--",
                                    "/bin/sh", "-c", "sleep 0.2", "bad\xff\xfe"});
        INFO(r.err);
        CHECK(r.exit_code == 0);
        std::ifstream json(dir + "/r.json");
        nlohmann::json report = nlohmann::json::parse(json);
        CHECK(report["command"].dump().find("bad") != std::string::npos);
        RunResult back = run_memtrace({"report", dir + "/r.mtrace"});
        INFO(back.err);
        CHECK(back.exit_code == 0);
    }
    SECTION("-a, another process with such an argv")
    {
        Background other({"/bin/sh", "-c", "sleep 4", "bad\xff"});
        RunResult r = run_memtrace({"-a", "-d", "1", "--json", dir + "/a.json"});
        INFO(r.err);
        CHECK(r.exit_code == 0);
        std::ifstream json(dir + "/a.json");
        REQUIRE(json.good());
        CHECK_NOTHROW(nlohmann::json::parse(json));
    }
}

TEST_CASE("malformed SUDO_UID or SUDO_GID: refused, never run as root", "[hostile]")
{
    require_root();
    std::vector<std::vector<std::string>> envs = {
        {"SUDO_UID=abc", "SUDO_GID=1000"},        {"SUDO_UID=", "SUDO_GID=1000"},
        {"SUDO_UID=-1", "SUDO_GID=1000"},         {"SUDO_UID=99999999999", "SUDO_GID=1000"},
        {"SUDO_UID=4294967295", "SUDO_GID=1000"}, {"SUDO_UID=1000", "SUDO_GID=x"},
        {"SUDO_UID=1000"},
    };
    for (const auto &env : envs) {
        std::string dir = report_dir();
        std::string marker = dir + "/ran";
        RunResult r = run_memtrace({"--", "/bin/sh", "-c", "touch " + marker}, with_env(env));
        INFO(env[0] << " " << (env.size() > 1 ? env[1] : "") << "\nstderr: " << r.err);
        CHECK(r.exit_code == 2);
        CHECK(r.err.rfind("memtrace: SUDO_", 0) == 0);
        CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
        CHECK_FALSE(std::filesystem::exists(marker)); // the command never ran
    }
    CHECK(memtrace_programs_loaded().empty());
}

TEST_CASE("an output named by a symlink another user planted: replaced, its target untouched", "[hostile]")
{
    require_root();
    std::string dir = report_dir(); // world-writable, as /tmp is
    std::string victim = dir + "/root-owned";
    std::ofstream(victim) << "precious\n";
    std::filesystem::create_symlink(victim, dir + "/out.json");
    std::filesystem::create_symlink(victim, dir + "/out.folded");
    RunResult r = run_memtrace({"--json", dir + "/out.json", "--folded", dir + "/out.folded", "--",
                                "/bin/true"},
                               with_env({"SUDO_UID=65534", "SUDO_GID=65534"}));
    INFO(r.err);
    CHECK(r.exit_code == 0);
    std::ifstream in(victim);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    CHECK(text == "precious\n");
    CHECK_FALSE(std::filesystem::is_symlink(dir + "/out.json"));
    std::ifstream json(dir + "/out.json");
    CHECK_NOTHROW(nlohmann::json::parse(json));
    struct stat st {};
    REQUIRE(stat((dir + "/out.json").c_str(), &st) == 0);
    CHECK(st.st_uid == 65534); // under sudo: the invoking user's
    size_t left = 0; // no temporary files left behind
    for (const auto &e : std::filesystem::directory_iterator(dir))
        left += e.path().filename().string().rfind(".out", 0) == 0;
    CHECK(left == 0);
}

TEST_CASE("-d inf or 1e300: no limit, the command runs to its end", "[hostile]")
{
    require_root();
    for (const char *limit : {"inf", "1e300"}) {
        RunResult r = run_memtrace({"-d", limit, "--", "/bin/sh", "-c", "sleep 0.5; exit 3"});
        INFO("-d " << limit << "\nstderr: " << r.err);
        CHECK(r.exit_code == 3); // the old memtrace's deadline wrapped: ended at once, sh got SIGTERM
        CHECK(r.err.find("stopped after -d") == std::string::npos);
    }
    for (const char *bad : {"nan", "-1", "0", "-inf"}) {
        RunResult r = run_memtrace({"-d", bad, "--", "/bin/true"});
        INFO("-d " << bad << "\nstderr: " << r.err);
        CHECK(r.exit_code == 2);
        CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
    }
}

namespace {

// Processes whose argv is exactly {"sleep", seconds}.
std::vector<pid_t> sleeping(const std::string &seconds)
{
    std::vector<pid_t> found;
    const std::string wanted = std::string("sleep") + '\0' + seconds + '\0';
    for (const auto &entry : std::filesystem::directory_iterator("/proc")) {
        std::ifstream in(entry.path() / "cmdline", std::ios::binary);
        std::string argv((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        if (argv == wanted)
            found.push_back(static_cast<pid_t>(std::stol(entry.path().filename().string())));
    }
    return found;
}

} // namespace

TEST_CASE("-d ends what a shell script started too, as timeout(1) ends its process group", "[hostile]")
{
    require_root();
    // a background job, an orphan (its subshell has exited) and the job waited for
    const std::string script =
        "exec >/dev/null 2>&1; sleep 4711 & (sleep 4712 &); sleep 4713; wait";
    const auto start = std::chrono::steady_clock::now();
    RunResult r = run_memtrace({"-d", "1", "--", "/bin/sh", "-c", script}, RunOptions{{}, "", 30, {}});
    const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    INFO(r.err);
    CHECK(r.exit_code == 128 + SIGTERM);
    CHECK(took < 8); // -d 1, then at most 2 s for SIGTERM to work
    for (const char *seconds : {"4711", "4712", "4713"}) {
        std::vector<pid_t> left = sleeping(seconds);
        INFO("sleep " << seconds << " still running");
        CHECK(left.empty()); // the old memtrace ended sh alone
        for (pid_t pid : left)
            kill(pid, SIGKILL);
    }
}

TEST_CASE("unwritable outputs are refused before anything runs", "[hostile]")
{
    require_root();
    std::string dir = report_dir();
    const std::string marker = dir + "/ran";
    const std::vector<std::vector<std::string>> cases = {
        {"--json", "/proc/version"},
        {"--json", "/proc/self/status"},
        {"--folded", "/proc/sys/kernel/new.folded"},
        {"--json", dir + "/no/such/dir/out.json"},
        {"--timeline", dir},
        {"-o", "/sys/kernel/table.txt"},
    };
    for (const auto &output : cases) {
        std::vector<std::string> args = output;
        for (const char *word : {"--", "/bin/sh", "-c"})
            args.push_back(word);
        args.push_back("touch " + marker);
        RunResult r = run_memtrace(args);
        INFO(output[0] << " " << output[1] << "\nstderr: " << r.err);
        CHECK(r.exit_code == 2);
        CHECK(r.err.rfind("memtrace: cannot write", 0) == 0);
        CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
        CHECK_FALSE(std::filesystem::exists(marker)); // refused before the command ran
    }
    CHECK(memtrace_programs_loaded().empty());
}

TEST_CASE("a closed stdout: the table does not go into the --json file", "[hostile]")
{
    require_root();
    std::string dir = report_dir();
    // fd 1 closed: the old memtrace's first open() (the JSON file) became fd 1
    RunResult r = run({"/bin/sh", "-c", "exec \"$0\" --json \"$1\" -- /bin/true >&-", memtrace_bin(),
                       dir + "/out.json"});
    INFO(r.err);
    std::ifstream json(dir + "/out.json");
    std::string text((std::istreambuf_iterator<char>(json)), std::istreambuf_iterator<char>());
    INFO(text.substr(0, 400));
    CHECK(text.rfind("{", 0) == 0);
    CHECK_NOTHROW(nlohmann::json::parse(text));
    CHECK(r.err.find("cannot write 'stdout'") != std::string::npos); // said, not silently lost
}

TEST_CASE("two outputs never name one file", "[hostile]")
{
    require_root();
    std::string dir = report_dir();
    auto refused = [](const RunResult &r) {
        INFO(r.err);
        CHECK(r.exit_code == 2);
        CHECK(r.err.find("name the same file") != std::string::npos);
        CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
    };
    SECTION("in one trace: the same name, another spelling, a hard link")
    {
        refused(run_memtrace({"--json", dir + "/a", "--folded", dir + "/a", "--", "/bin/true"}));
        refused(run_memtrace({"--json", dir + "/b", "--timeline", dir + "/./x/../b", "--", "/bin/true"}));
        std::ofstream(dir + "/c") << "";
        std::filesystem::create_hard_link(dir + "/c", dir + "/d");
        refused(run_memtrace({"-o", dir + "/c", "--json", dir + "/d", "--", "/bin/true"}));
        refused(run_memtrace({"record", "-o", dir + "/e.mtrace", "--format", "mprof", "--json",
                              dir + "/e.dat", "--", "/bin/true"}));
        // devices may be named twice
        RunResult both = run_memtrace({"--json", "/dev/null", "--folded", "/dev/null", "--", "/bin/true"});
        CHECK(both.exit_code == 0);
    }
    SECTION("plot R -o R and report R --json R keep the recording")
    {
        const std::string rec = dir + "/r.mtrace";
        REQUIRE(run_memtrace({"record", "-o", rec, "--", "/bin/true"}).exit_code == 0);
        const auto size = std::filesystem::file_size(rec);
        refused(run_memtrace({"plot", rec, "-o", rec}));
        refused(run_memtrace({"report", rec, "--json", rec}));
        std::filesystem::create_hard_link(rec, dir + "/r2.mtrace");
        refused(run_memtrace({"plot", rec, "-o", dir + "/r2.mtrace"}));
        CHECK(std::filesystem::file_size(rec) == size);
        CHECK(run_memtrace({"report", rec}).exit_code == 0);
    }
}

TEST_CASE("memtrace record: two runs in one second get two recordings", "[hostile]")
{
    require_root();
    std::string dir = report_dir();
    RunOptions in_dir;
    in_dir.prefix = {"/bin/sh", "-c", "cd \"$0\" && exec \"$@\"", dir};
    Background first({memtrace_bin(), "record", "-q", "--", "/bin/sleep", "0.3"}, in_dir);
    Background second({memtrace_bin(), "record", "-q", "--", "/bin/sleep", "0.3"}, in_dir);
    CHECK(first.wait().exit_code == 0);
    CHECK(second.wait().exit_code == 0);
    size_t recordings = 0;
    for (const auto &e : std::filesystem::directory_iterator(dir))
        recordings += e.path().extension() == ".mtrace";
    CHECK(recordings == 2); // the old names had the second only: both wrote one file
}

TEST_CASE("plot --png: a symlink planted at the output name is replaced, not followed", "[hostile]")
{
    require_root();
    std::string dir = report_dir();
    const std::string rec = dir + "/r.mtrace";
    REQUIRE(run_memtrace({"record", "-o", rec, "--", "/bin/sleep", "0.2"}).exit_code == 0);
    const std::string victim = dir + "/root-owned";
    std::ofstream(victim) << "precious\n";
    std::filesystem::create_symlink(victim, dir + "/out.png");
    RunResult r = run_memtrace({"plot", rec, "--png", "-o", dir + "/out.png"});
    INFO(r.err);
    CHECK(r.exit_code == 0);
    std::ifstream in(victim);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    CHECK(text == "precious\n"); // rsvg-convert -o followed the link
    CHECK_FALSE(std::filesystem::is_symlink(dir + "/out.png"));
    CHECK(std::filesystem::file_size(dir + "/out.png") > 5000);
}

namespace {

// The highest max_rss of a recording's point lines so far (lines that parse).
uint64_t recorded_peak(const std::string &file)
{
    std::ifstream in(file);
    std::string line;
    uint64_t peak = 0;
    while (std::getline(in, line)) {
        nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
        if (j.is_object() && j.value("type", "") == "point")
            peak = std::max(peak, j.value("max_rss", uint64_t{0}));
    }
    return peak;
}

} // namespace

TEST_CASE("memtrace record killed by SIGKILL leaves a recording report and plot read, cut off", "[hostile]")
{
    require_root();
    std::string dir = report_dir();
    const std::string rec = dir + "/killed.mtrace";
    Background tracer({memtrace_bin(), "record", "-o", rec, "--", workload("memwork"), "--hold", "29713",
                       "spike", "64"});
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    // the interval the spike ends in closes at the next change: wait for most of it
    while (recorded_peak(rec) < 48 * MiB && std::chrono::steady_clock::now() < until)
        usleep(100000);
    tracer.signal(SIGKILL); // as the OOM killer would
    tracer.wait();
    for (const auto &entry : std::filesystem::directory_iterator("/proc")) { // its command lives on
        std::ifstream in(entry.path() / "cmdline", std::ios::binary);
        std::string argv((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        if (argv.find(std::string("--hold") + '\0' + "29713") != std::string::npos)
            kill(static_cast<pid_t>(std::stol(entry.path().filename().string())), SIGKILL);
    }
    REQUIRE(recorded_peak(rec) >= 48 * MiB); // the old memtrace wrote nothing under this name

    RunResult report = run_memtrace({"report", rec});
    INFO(report.out << report.err);
    CHECK(report.exit_code == 0);
    CHECK(report.err.find("was cut off") != std::string::npos);
    CHECK(report.out.find("PEAK RSS") != std::string::npos);
    RunResult plot = run_memtrace({"plot", rec, "-o", dir + "/killed.svg"});
    INFO(plot.err);
    CHECK(plot.exit_code == 0);
    CHECK(plot.err.find("was cut off") != std::string::npos);
    CHECK(std::filesystem::file_size(dir + "/killed.svg") > 1000);
}

TEST_CASE("CAP_BPF and CAP_PERFMON alone trace; what is missing is named", "[hostile]")
{
    require_root();
    // root, with no capability but these two
    const std::vector<std::string> two_caps = {"setpriv", "--bounding-set=-all,+bpf,+perfmon"};
    auto with = [](std::vector<std::string> prefix, std::vector<std::string> args) {
        prefix.push_back(memtrace_bin());
        prefix.insert(prefix.end(), args.begin(), args.end());
        return run(prefix);
    };
    RunResult traced = with(two_caps, {"--", "/bin/true"});
    INFO(traced.err);
    CHECK(traced.exit_code == 0);
    CHECK(traced.out.find("PEAK RSS") != std::string::npos);

    // -f: uprobe_multi links need no more (a uprobe perf event would need CAP_SYS_ADMIN here:
    // memtrace then says so, see fail_probe)
    RunResult functions = with(two_caps, {"-f", "libc:malloc", "--", "/bin/ls", "/"});
    INFO(functions.err);
    CHECK(functions.exit_code == 0);
    CHECK(functions.out.find("\nmalloc ") != std::string::npos);

    // not root: tracefs is root's (the old message: "tracefs is not mounted")
    const std::vector<std::string> nobody = {"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                                             "--inh-caps=+bpf,+perfmon", "--ambient-caps=+bpf,+perfmon"};
    RunResult user = with(nobody, {"--", "/bin/true"});
    INFO(user.err);
    CHECK(user.exit_code == 2);
    CHECK(user.err.find("CAP_DAC_READ_SEARCH") != std::string::npos);
    CHECK(std::count(user.err.begin(), user.err.end(), '\n') == 1);

    const std::vector<std::string> bpf_only = {"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                                               "--inh-caps=+bpf", "--ambient-caps=+bpf"};
    RunResult half = with(bpf_only, {"--", "/bin/true"});
    INFO(half.err);
    CHECK(half.exit_code == 2);
    CHECK(half.err.find("(CAP_PERFMON missing)") != std::string::npos);
    CHECK(memtrace_programs_loaded().empty());
}
