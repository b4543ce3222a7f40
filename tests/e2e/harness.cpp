#include "harness.h"

#include <catch2/catch.hpp>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

namespace e2e {
namespace {

double now_s()
{
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

int decode_status(int status)
{
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

} // namespace

std::string memtrace_bin()
{
    return std::string(MT_BUILD_DIR) + "/memtrace";
}

std::string workload(const std::string &name)
{
    return std::string(MT_BUILD_DIR) + "/workloads/" + name;
}

void require_root()
{
    if (geteuid() != 0)
        FAIL("end-to-end tests load BPF programs: run them as root (sudo make test)");
}

Background::Background(const std::vector<std::string> &argv_in, const RunOptions &opt)
{
    std::vector<std::string> argv = opt.prefix;
    argv.insert(argv.end(), argv_in.begin(), argv_in.end());
    int in[2], out[2], err[2];
    REQUIRE(pipe2(in, O_CLOEXEC) == 0);
    REQUIRE(pipe2(out, O_CLOEXEC) == 0);
    REQUIRE(pipe2(err, O_CLOEXEC) == 0);
    std::vector<char *> args;
    for (auto &a : argv)
        args.push_back(const_cast<char *>(a.c_str()));
    args.push_back(nullptr);
    std::vector<std::string> env_strings;
    for (char **e = environ; *e; ++e)
        env_strings.emplace_back(*e);
    for (auto &e : opt.env)
        env_strings.push_back(e);
    std::vector<char *> envp;
    for (auto &e : env_strings)
        envp.push_back(const_cast<char *>(e.c_str()));
    envp.push_back(nullptr);

    pid_ = fork();
    REQUIRE(pid_ >= 0);
    if (pid_ == 0) {
        dup2(in[0], 0);
        dup2(out[1], 1);
        dup2(err[1], 2);
        setpgid(0, 0); // its own group: signals to it reach only it
        execvpe(args[0], args.data(), envp.data());
        dprintf(2, "exec %s: %s\n", args[0], strerror(errno));
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    close(err[1]);
    in_ = in[1];
    out_ = out[0];
    err_ = err[0];
    fcntl(out_, F_SETFL, O_NONBLOCK);
    fcntl(err_, F_SETFL, O_NONBLOCK);
    if (!opt.stdin_data.empty())
        send_stdin(opt.stdin_data);
}

Background::~Background()
{
    if (!reaped_) {
        kill(pid_, SIGKILL);
        waitpid(pid_, nullptr, 0);
    }
    for (int fd : {in_, out_, err_})
        if (fd >= 0)
            close(fd);
}

void Background::send_stdin(const std::string &data)
{
    if (in_ >= 0) {
        ssize_t n = write(in_, data.data(), data.size());
        (void)n;
    }
}

void Background::close_stdin()
{
    if (in_ >= 0)
        close(in_);
    in_ = -1;
}

void Background::signal(int sig)
{
    if (!reaped_)
        kill(pid_, sig);
}

void Background::drain(bool block_until_eof)
{
    for (;;) {
        pollfd fds[2] = {{out_, POLLIN, 0}, {err_, POLLIN, 0}};
        int n = poll(fds, 2, block_until_eof ? 1000 : 0);
        if (n <= 0)
            return;
        bool any = false;
        for (int i = 0; i < 2; ++i) {
            if (!fds[i].revents || fds[i].fd < 0)
                continue;
            char buf[65536];
            ssize_t got = read(fds[i].fd, buf, sizeof(buf));
            if (got > 0) {
                (i == 0 ? out_text_ : err_text_).append(buf, static_cast<size_t>(got));
                any = true;
            }
        }
        if (!any)
            return; // EOF on both (or nothing readable)
    }
}

bool Background::wait_for_stderr(const std::string &text, double timeout_s)
{
    double end = now_s() + timeout_s;
    while (now_s() < end) {
        drain(false);
        if (err_text_.find(text) != std::string::npos)
            return true;
        pollfd fd{err_, POLLIN, 0};
        poll(&fd, 1, 50);
    }
    drain(false);
    return err_text_.find(text) != std::string::npos;
}

RunResult Background::wait(double timeout_s)
{
    double end = now_s() + timeout_s;
    int status = 0;
    for (;;) {
        drain(false);
        pid_t got = wait4(pid_, &status, WNOHANG, &usage_);
        if (got == pid_)
            break;
        if (now_s() > end) {
            kill(pid_, SIGKILL);
            waitpid(pid_, &status, 0);
            reaped_ = true;
            drain(true);
            FAIL("timed out after " << timeout_s << " s; stderr so far:\n" << err_text_);
        }
        usleep(10000);
    }
    reaped_ = true;
    drain(true);
    return RunResult{decode_status(status), out_text_, err_text_};
}

RunResult run(const std::vector<std::string> &argv, const RunOptions &opt)
{
    Background proc(argv, opt);
    proc.close_stdin();
    return proc.wait(opt.timeout_s);
}

RunResult run_memtrace(const std::vector<std::string> &args, const RunOptions &opt)
{
    std::vector<std::string> argv{memtrace_bin()};
    argv.insert(argv.end(), args.begin(), args.end());
    return run(argv, opt);
}

const nlohmann::json *JsonRun::process(uint32_t pid) const
{
    if (!report.contains("processes"))
        return nullptr;
    for (const auto &p : report["processes"])
        if (p["pid"] == pid)
            return &p;
    return nullptr;
}

JsonRun run_memtrace_json(const std::vector<std::string> &args, const RunOptions &opt)
{
    std::string file = report_dir() + "/report.json";
    std::vector<std::string> full{"--json", file};
    full.insert(full.end(), args.begin(), args.end());
    JsonRun r;
    r.result = run_memtrace(full, opt);
    std::ifstream in(file);
    INFO("memtrace stderr:\n" << r.result.err);
    REQUIRE(in.good());
    r.report = nlohmann::json::parse(in);
    return r;
}

std::string report_dir()
{
    static int counter = 0;
    std::string dir = "/tmp/memtrace-e2e-" + std::to_string(getpid()) + "-" + std::to_string(++counter);
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    std::filesystem::permissions(dir, std::filesystem::perms::all); // workloads may run as nobody
    return dir;
}

std::optional<KernelFigures> read_report(const std::string &dir, uint32_t pid)
{
    std::ifstream in(dir + "/" + std::to_string(pid));
    if (!in)
        return std::nullopt;
    KernelFigures k;
    std::string key;
    uint64_t kib = 0;
    std::string unit;
    while (in >> key >> kib >> unit) {
        if (key == "VmHWM:")
            k.vm_hwm = kib * KiB;
        else if (key == "VmPeak:")
            k.vm_peak = kib * KiB;
        else if (key == "VmRSS:")
            k.vm_rss = kib * KiB;
    }
    return k;
}

std::vector<uint32_t> reported_pids(const std::string &dir)
{
    std::vector<uint32_t> pids;
    for (const auto &entry : std::filesystem::directory_iterator(dir)) {
        std::string name = entry.path().filename().string();
        if (!name.empty() && std::all_of(name.begin(), name.end(), ::isdigit))
            pids.push_back(static_cast<uint32_t>(std::stoul(name)));
    }
    std::sort(pids.begin(), pids.end());
    return pids;
}

bool within_peak_bound(uint64_t measured, uint64_t truth)
{
    uint64_t diff = measured > truth ? measured - truth : truth - measured;
    uint64_t allowed = std::max<uint64_t>(truth / 100, 512 * KiB);
    return diff <= allowed;
}

std::string bound_text(uint64_t measured, uint64_t truth)
{
    std::ostringstream s;
    s << "memtrace " << measured << " B vs kernel " << truth << " B (diff "
      << (static_cast<int64_t>(measured) - static_cast<int64_t>(truth)) / 1024 << " KiB)";
    return s.str();
}

namespace {

// Ids of the BPF programs that running memtrace processes hold (program and
// link fds show "prog_id:" in their fdinfo). Only memtrace's: a program held by
// a traced command would be a leaked descriptor.
std::set<uint64_t> programs_held_by_memtrace()
{
    std::set<uint64_t> ids;
    std::error_code ec;
    for (const auto &proc : std::filesystem::directory_iterator("/proc", ec)) {
        std::string comm;
        std::getline(std::ifstream(proc.path() / "comm"), comm);
        if (comm != "memtrace")
            continue;
        std::error_code fd_ec;
        for (const auto &fd : std::filesystem::directory_iterator(proc.path() / "fdinfo", fd_ec)) {
            std::ifstream in(fd.path());
            std::string line;
            while (std::getline(in, line))
                if (line.rfind("prog_id:", 0) == 0)
                    ids.insert(std::stoull(line.substr(8)));
        }
    }
    return ids;
}

} // namespace

std::vector<std::string> memtrace_programs_loaded()
{
    std::vector<std::string> names;
    for (double end = now_s() + 3; now_s() < end; usleep(50000)) {
        RunResult r = run({"bpftool", "-j", "prog", "show"});
        if (r.exit_code != 0)
            return {"(bpftool failed: " + r.err + ")"};
        names.clear();
        std::set<uint64_t> held = programs_held_by_memtrace();
        for (const auto &prog : nlohmann::json::parse(r.out)) {
            std::string name = prog.value("name", "");
            if (name.rfind("mt_", 0) == 0 && !held.count(prog.value("id", uint64_t{0})))
                names.push_back(name + " (id " + std::to_string(prog.value("id", 0)) + ")");
        }
        if (names.empty())
            break;
    }
    return names;
}

std::map<std::string, uint64_t> read_folded(const std::string &file)
{
    std::map<std::string, uint64_t> lines;
    std::ifstream in(file);
    std::string line;
    while (std::getline(in, line)) {
        size_t space = line.rfind(' ');
        REQUIRE(space != std::string::npos);
        lines[line.substr(0, space)] += std::stoull(line.substr(space + 1));
    }
    return lines;
}

std::string dump_folded(const std::map<std::string, uint64_t> &lines)
{
    std::ostringstream out;
    for (const auto &[stack, bytes] : lines)
        out << stack << ' ' << bytes << '\n';
    return out.str();
}

bool within_3_percent(uint64_t measured, uint64_t expected)
{
    uint64_t diff = measured > expected ? measured - expected : expected - measured;
    return diff <= expected * 3 / 100;
}

} // namespace e2e
