// Loads memtrace's BPF programs and gives plain access to what they gather.
// The only place that touches libbpf or the generated skeleton.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <sys/types.h>
#include <string>
#include <vector>

#include "collect/kernel_side.h"
#include "memtrace/abi.h"
#include "model/trace_config.h"

namespace memtrace {

struct LoaderConfig {
    bool trace_all = false;       // -a
    bool follow_children = false; // --children
    uint32_t max_procs = 16384;   // processes traced at once (map sizes)
    uint32_t ringbuf_bytes = 1u << 20;
    bool verbose = false;         // libbpf and verifier messages to stderr
    bool functions = false;       // -f: frame tracking for traced functions (native or Python)
    bool uprobes = false;         // -f on native functions: the uprobe programs
    std::vector<mt_py_pattern> python_patterns; // -f py:, compiled; empty: no Python calls
    uint32_t python_func_base = 0; // the first function id of Python functions
    bool seed_running = true;     // processes already running are traced (-p, -a)
    StackWeight stacks = StackWeight::None; // --folded
    uint64_t sample_bytes = 512 * 1024;
    bool kernel_stacks = false;
    bool per_thread = false;
    uint64_t timeline_ns = 0;     // --timeline: interval length, 0 = off
    UnwindMode unwind = UnwindMode::FramePointers; // --unwind
    uint32_t stack_copy = MT_STACK_COPY_DEFAULT; // --stack-bytes
    bool lines = false;           // --lines: every stack sample copied, with the RSS
    bool python_frames = true;    // stack samples walk Python frames (--no-python-frames: off)
    bool hold_execs = false;      // -f patterns wait for programs exec'd later (exec_hold.bpf.h)
};

// memtrace's BPF programs, loaded and attached: the kernel side the collector
// reads (collect/kernel_side.h).
class BpfLoader final : public KernelSide {
public:
    // open -> configure -> load -> attach. Throws Error naming the failed step.
    explicit BpfLoader(const LoaderConfig &config);
    ~BpfLoader() override;
    BpfLoader(const BpfLoader &) = delete;
    BpfLoader &operator=(const BpfLoader &) = delete;

    // `held`: memtrace's child that will exec the command: what it does before
    // its exec is memtrace's own code, not sampled into stacks.
    void add_target(uint32_t tgid, bool held = false);

    // -f for programs exec'd later: hold execs of files with these names ("":
    // any), until stop_holding(); a file examined is not held again.
    void hold_execs(const std::vector<std::string> &names);
    void exec_examined(const mt_file_id &file);
    void stop_holding();
    // A held process was sent SIGCONT: the kernel side need not resume it.
    void resumed(uint32_t tgid);

    void seed_running() override;
    void attach_probes(const std::vector<ProbeSite> &sites, const std::vector<pid_t> &pids) override;
    size_t probes_attached() const override;
    int ring_fd() const override;
    int consume(const RecordHandler &handler) override;
    uint64_t code_gen(uint32_t tgid) const override;
    void set_unwind_hint(uint32_t tgid, const mt_unwind_hint &hint) override;

    void set_python(uint32_t tgid, const mt_py_proc &python) override;
    std::optional<mt_py_code> read_py_code(uint32_t tgid, uint64_t code, uint64_t names) const override;

    std::vector<mt_proc> read_procs() const override;
    mt_stats read_stats() const override;
    std::vector<std::pair<mt_func_key, mt_func_stats>> read_func_stats() const override;
    std::vector<std::pair<uint32_t, mt_thread_frames>> read_thread_frames() const override;
    std::vector<std::pair<uint32_t, mt_call_slots>> read_call_slots() const override;
    std::vector<std::pair<uint32_t, mt_py_code_key>> read_py_funcs() const override;
    std::vector<std::pair<mt_stack_key, uint64_t>> read_stack_bytes() const override;
    std::vector<std::pair<mt_stack_key, uint64_t>> take_stack_bytes(const std::set<uint32_t> &tgids) override;
    std::vector<std::pair<uint32_t, std::string>> take_thread_names(const std::set<uint32_t> &tids) override;
    std::vector<UserStackFrame> read_user_stack(int32_t id) const override;
    std::vector<uint64_t> read_kernel_stack(int32_t id) const override;
    std::vector<std::pair<uint32_t, std::string>> read_thread_names() const override;
    ProgramCost program_cost() const override;
    ProgramCost probe_program_cost(bool entry) const override;
    bool run_time_stats() const override;
    KernelTotalPeak total_peak() const override;
    // Counts the time spent in BPF programs from now until memtrace exits
    // (BPF_ENABLE_STATS: the kernel turns it off when the descriptor closes,
    // whatever way memtrace ends). False if the kernel refuses.
    bool enable_run_time_stats();
    // Nanoseconds one hit of a uprobe at `path`:`offset` (in memtrace's own
    // code) costs its caller, the entry program's run included, from `calls`
    // calls of `hit`; nullopt if it cannot be attached.
    struct ProbeTiming {
        double hit_ns = 0; // the whole call, probed
        double bpf_ns = 0; // of which in the BPF program
    };
    std::optional<ProbeTiming> time_probe(const std::string &path, uint64_t offset, void (*hit)(), int calls);

private:
    void attach_probes_multi(const std::vector<ProbeSite> &sites, const std::vector<pid_t> &pids);
    struct State;
    std::unique_ptr<State> state_;
};

} // namespace memtrace
