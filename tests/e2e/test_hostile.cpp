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
