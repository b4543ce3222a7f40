// Runs the real memtrace binary (as root) against workloads with known memory
// behaviour, and reads the kernel's own figures to compare with.
#pragma once

#include <sys/resource.h>
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace e2e {

constexpr uint64_t KiB = 1024;
constexpr uint64_t MiB = 1024 * 1024;

std::string memtrace_bin();
std::string workload(const std::string &name); // build/workloads/NAME

struct RunResult {
    int exit_code = -1; // 128 + signal if killed
    std::string out;
    std::string err;
};

struct RunOptions {
    std::vector<std::string> env;          // extra KEY=VALUE
    std::string stdin_data;
    double timeout_s = 120;
    std::vector<std::string> prefix;       // e.g. {"unshare", "-m", "sh", "-c", ...}
};

inline RunOptions with_env(std::vector<std::string> env)
{
    RunOptions opt;
    opt.env = std::move(env);
    return opt;
}

// Runs argv to completion; FAILs the test on timeout (after killing it).
RunResult run(const std::vector<std::string> &argv, const RunOptions &opt = {});
RunResult run_memtrace(const std::vector<std::string> &args, const RunOptions &opt = {});

// A process running in the background, its stdin and stderr piped.
class Background {
public:
    explicit Background(const std::vector<std::string> &argv, const RunOptions &opt = {});
    ~Background(); // kills and reaps it if still running
    Background(const Background &) = delete;
    Background &operator=(const Background &) = delete;

    pid_t pid() const { return pid_; }
    void send_stdin(const std::string &data);
    void close_stdin();
    // Reads stderr until `text` appears; false on timeout or EOF.
    bool wait_for_stderr(const std::string &text, double timeout_s = 30);
    void signal(int sig);
    // Waits for exit (FAILs on timeout); collects the rest of stdout/stderr.
    RunResult wait(double timeout_s = 120);
    const rusage &usage() const { return usage_; }
    bool running() const { return !reaped_; }

private:
    void drain(bool block_until_eof);
    pid_t pid_ = -1; // stays valid after the process is reaped
    bool reaped_ = false;
    int in_ = -1, out_ = -1, err_ = -1;
    std::string out_text_, err_text_;
    rusage usage_{};
};

// A folded-stacks file (--folded): stack -> bytes, lines of one stack summed.
// FAILs the test on a line without "STACK BYTES".
std::map<std::string, uint64_t> read_folded(const std::string &file);
std::string dump_folded(const std::map<std::string, uint64_t> &lines); // for INFO()
bool within_3_percent(uint64_t measured, uint64_t expected);

// A JSON report: run memtrace with --json FILE and parse it.
struct JsonRun {
    RunResult result;
    nlohmann::json report;
    const nlohmann::json *process(uint32_t pid) const; // nullptr if absent
};
JsonRun run_memtrace_json(const std::vector<std::string> &args, const RunOptions &opt = {});

// The figures memwork wrote from /proc/self/status before it ended (bytes).
struct KernelFigures {
    uint64_t vm_hwm = 0;
    uint64_t vm_peak = 0;
    uint64_t vm_rss = 0;
};
std::string report_dir(); // a fresh directory for MEMWORK_REPORT_DIR
std::optional<KernelFigures> read_report(const std::string &dir, uint32_t pid);
std::vector<uint32_t> reported_pids(const std::string &dir);

// design.md section 5: equal to the kernel's figure within 1% or 512 KiB.
bool within_peak_bound(uint64_t measured, uint64_t truth);
std::string bound_text(uint64_t measured, uint64_t truth);

// Names of loaded BPF programs that belong to memtrace (mt_*) and that no
// running memtrace holds: must be none once the memtrace under test has exited
// (another memtrace running meanwhile, a benchmark, holds its own). The kernel frees
// programs a moment after their last file descriptor closes, so this waits up
// to 3 s for them to go.
std::vector<std::string> memtrace_programs_loaded();

void require_root(); // e2e tests run as root in CI: FAIL (not skip) otherwise

} // namespace e2e
