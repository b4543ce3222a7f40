// Loads memtrace's BPF programs and gives plain access to what they gather.
// The only place that touches libbpf or the generated skeleton.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <sys/types.h>
#include <string>
#include <vector>

#include "memtrace/abi.h"

namespace memtrace {

struct LoaderConfig {
    bool trace_all = false;       // -a
    bool follow_children = false; // --children
    uint32_t max_procs = 16384;   // processes traced at once (map sizes)
    uint32_t ringbuf_bytes = 1u << 20;
    bool verbose = false;         // libbpf and verifier messages to stderr
    bool functions = false;       // -f: frame tracking for traced functions
    uint32_t stacks = MT_STACKS_NONE; // --folded: MT_STACKS_TOUCH or MT_STACKS_MAP
    uint64_t sample_bytes = 512 * 1024;
    bool kernel_stacks = false;
    bool per_thread = false;
    uint64_t timeline_ns = 0;     // --timeline: interval length, 0 = off
    uint32_t unwind = MT_UNWIND_FP;   // --unwind: MT_UNWIND_*
    uint32_t stack_copy = MT_STACK_COPY_DEFAULT; // --stack-bytes
};

// One user stack frame as the kernel keeps it (struct bpf_stack_build_id).
struct UserStackFrame {
    bool has_build_id = false;
    uint8_t build_id[20] = {};
    uint64_t value = 0; // file offset with a build-id, else the address
};

// One uprobe: a file offset in a file, and the cookie the BPF side reads
// (MT_COOKIE(kind, function id)). `label` names it in errors.
struct ProbeSite {
    std::string path;
    uint64_t offset = 0;
    uint64_t cookie = 0;
    bool entry = true; // the entry probe (else a return or tail-call site)
    std::string label;
};

class BpfTracer {
public:
    using RecordHandler = std::function<void(std::span<const std::byte>)>;

    // open -> configure -> load -> attach. Throws Error naming the failed step.
    explicit BpfTracer(const LoaderConfig &config);
    ~BpfTracer();
    BpfTracer(const BpfTracer &) = delete;
    BpfTracer &operator=(const BpfTracer &) = delete;

    // `held`: memtrace's child that will exec the command: what it does before
    // its exec is memtrace's own code, not sampled into stacks.
    void add_target(uint32_t tgid, bool held = false);
    // Seeds the figures of traced processes that already run (idle ones too).
    void seed_running();

    // Attaches function probes, in each process of `pids` (the kernel then
    // plants breakpoints only there), or in every process if `pids` is empty.
    // Throws Error naming the site that failed.
    void attach_probes(const std::vector<ProbeSite> &sites, const std::vector<pid_t> &pids);
    size_t probes_attached() const;

    int ring_fd() const; // poll()-able: readable when records wait
    // Hands every waiting ring-buffer record to `handler`; returns how many.
    int consume(const RecordHandler &handler);

    // Auto unwinding: where a process's code has no frame pointers. Read the
    // process's code generation before its mappings and put it in the hint:
    // code mapped in between makes the kernel side ignore the hint.
    uint64_t code_gen(uint32_t tgid) const;
    void set_unwind_hint(uint32_t tgid, const mt_unwind_hint &hint);

    std::vector<mt_proc> read_procs() const;
    mt_stats read_stats() const;
    std::vector<std::pair<mt_func_key, mt_func_stats>> read_func_stats() const;
    std::vector<std::pair<uint32_t, mt_thread_frames>> read_thread_frames() const;
    std::vector<std::pair<uint32_t, mt_call_slots>> read_call_slots() const;
    std::vector<std::pair<mt_stack_key, uint64_t>> read_stack_bytes() const;
    std::vector<UserStackFrame> read_user_stack(int32_t id) const;  // leaf first
    std::vector<uint64_t> read_kernel_stack(int32_t id) const;      // leaf first
    std::vector<std::pair<uint32_t, std::string>> read_thread_names() const;

    // Time the kernel spent in memtrace's programs (counted only while
    // kernel.bpf_stats_enabled=1), summed over all of them.
    struct ProgramCost {
        uint64_t run_time_ns = 0;
        uint64_t run_count = 0;
    };
    ProgramCost program_cost() const;

private:
    struct State;
    std::unique_ptr<State> state_;
};

} // namespace memtrace
