#include <catch2/catch.hpp>
#include <filesystem>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "session/preflight.h"
#include "collect/procfs.h"
#include "temp_dir.h"

using namespace memtrace;
using memtrace::testing::TempDir;

namespace {

std::string error_of(const std::function<void()> &f)
{
    try {
        f();
    } catch (const Error &e) {
        CHECK(e.exit_code() == 2);
        return e.what();
    }
    return "(no error)";
}

} // namespace

TEST_CASE("capabilities: root's set, CAP_BPF+CAP_PERFMON, or CAP_SYS_ADMIN")
{
    CHECK(capabilities_allow_tracing(0x000001ffffffffffull)); // root
    CHECK(capabilities_allow_tracing((1ull << 39) | (1ull << 38)));
    CHECK(capabilities_allow_tracing(1ull << 21));
    CHECK_FALSE(capabilities_allow_tracing(0));
    CHECK_FALSE(capabilities_allow_tracing(1ull << 39)); // CAP_BPF alone
    CHECK_FALSE(capabilities_allow_tracing(1ull << 38)); // CAP_PERFMON alone
}

TEST_CASE("a kernel without BTF is refused with the reason")
{
    CHECK(error_of([] { check_kernel_btf("/nonexistent/vmlinux"); }).find("no BTF") !=
          std::string::npos);
}

TEST_CASE("resolve_command searches PATH like execvp")
{
    TempDir dir;
    auto tool = dir.write("bin/tool", "#!/bin/sh\n");
    chmod(tool.c_str(), 0755);
    auto plain = dir.write("bin/plain", "data");
    chmod(plain.c_str(), 0644);
    std::filesystem::create_directories(dir.path() / "bin/adir");
    std::string path_env = "/nonexistent:" + (dir.path() / "bin").string();

    CHECK(resolve_command("tool", path_env) == (dir.path() / "bin/tool").string());
    CHECK(resolve_command(tool.string(), "") == tool.string());
    CHECK(error_of([&] { resolve_command("no-such-tool-xyz", path_env); })
              .find("command not found: 'no-such-tool-xyz'") != std::string::npos);
    if (geteuid() != 0) // root may execute anything with an x bit... and read any file
        CHECK(error_of([&] { resolve_command(plain.string(), ""); }).find("Permission denied") !=
              std::string::npos);
    CHECK(error_of([&] { resolve_command((dir.path() / "bin/adir").string(), ""); })
              .find("Is a directory") != std::string::npos);
    CHECK(error_of([&] { resolve_command("./missing", ""); }).find("No such file") !=
          std::string::npos);
    CHECK(error_of([&] { resolve_command("", ""); }).find("empty") != std::string::npos);
}

TEST_CASE("resolve_pids: threads become their process; the rest is refused")
{
    TempDir dir;
    auto add = [&](int pid, const std::string &comm, char state, unsigned long flags, int tgid) {
        std::string p = std::to_string(pid);
        dir.write(p + "/stat", p + " (" + comm + ") " + state + " 1 1 1 0 -1 " +
                                   std::to_string(flags) + " 0\n");
        dir.write(p + "/status", "Tgid:\t" + std::to_string(tgid) + "\n");
    };
    add(100, "app", 'S', 0, 100);
    add(101, "app", 'S', 0, 100);
    add(2, "kthreadd", 'S', 0x00200000, 2);
    add(50, "dead", 'Z', 0, 50);
    ProcFs fs(dir.path().string());

    std::vector<std::string> notes;
    CHECK(resolve_pids({101, 100}, fs, notes) == std::vector<pid_t>{100});
    REQUIRE(notes.size() == 1);
    CHECK(notes[0] == "101 is a thread of process 100: tracing process 100");

    CHECK(error_of([&] { resolve_pids({999}, fs, notes); }).find("no process with pid 999") !=
          std::string::npos);
    CHECK(error_of([&] { resolve_pids({2}, fs, notes); }).find("kernel thread") !=
          std::string::npos);
    CHECK(error_of([&] { resolve_pids({50}, fs, notes); }).find("already exited") !=
          std::string::npos);
}
