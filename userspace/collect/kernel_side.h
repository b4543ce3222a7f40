// What the collector reads and asks of memtrace's loaded BPF side. The loader
// (session/bpf_loader.h) implements it; unit tests drive the collector with a
// fake one, no root needed.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "memtrace/abi.h"

namespace memtrace {

// One user stack frame as the kernel keeps it (struct bpf_stack_build_id).
struct UserStackFrame {
    bool has_build_id = false;
    uint8_t build_id[20] = {};
    uint64_t value = 0; // file offset with a build-id, else the address
};

// Where a uprobe goes and what it tells the BPF side.
enum class ProbeKind {
    Entry,         // a traced function's first instruction
    EntryTailcall, // ... of a function that is one tail-call jmp
    Return,        // one of its ret instructions
    Tailcall,      // a jmp that leaves it for another function
    ReturnAddress, // where a call that left by tail call returns
};

// One uprobe: a file offset in a file, for function `func` (its id).
// `label` names it in errors.
struct ProbeSite {
    std::string path;
    uint64_t offset = 0;
    ProbeKind kind = ProbeKind::Entry;
    uint32_t func = 0;
    std::string label;
};

// Time the kernel spent in memtrace's programs (counted only while
// kernel.bpf_stats_enabled=1), summed over all of them.
struct ProgramCost {
    uint64_t run_time_ns = 0;
    uint64_t run_count = 0;
};

// The traced processes' RSS summed, at its highest (pages), and when (ktime).
struct KernelTotalPeak {
    uint64_t pages = 0;
    uint64_t ktime_ns = 0;
};

class KernelSide {
public:
    using RecordHandler = std::function<void(std::span<const std::byte>)>;
    virtual ~KernelSide() = default;

    // Seeds the figures of traced processes that already run (idle ones too).
    virtual void seed_running() = 0;

    virtual int ring_fd() const = 0; // poll()-able: readable when records wait
    // Hands every waiting ring-buffer record to `handler` (which must not
    // throw); returns how many.
    virtual int consume(const RecordHandler &handler) = 0;

    // Attaches probes in each process of `pids`, or in every process if
    // `pids` is empty. Throws Error naming the site that failed.
    virtual void attach_probes(const std::vector<ProbeSite> &sites, const std::vector<pid_t> &pids) = 0;
    virtual size_t probes_attached() const = 0;

    // Auto unwinding: where a process's code has no frame pointers. Read the
    // process's code generation before its mappings and put it in the hint:
    // code mapped in between makes the kernel side ignore the hint.
    virtual uint64_t code_gen(uint32_t tgid) const = 0;
    virtual void set_unwind_hint(uint32_t tgid, const mt_unwind_hint &hint) = 0;

    // Python: where a process's interpreter keeps its frames (samples of it
    // then carry Python frames); the names of a code object seen in them.
    virtual void set_python(uint32_t tgid, const mt_py_proc &python) = 0;
    virtual std::optional<mt_py_code> read_py_code(uint32_t tgid, uint64_t code, uint64_t names) const = 0;

    virtual std::vector<mt_proc> read_procs() const = 0;
    virtual mt_stats read_stats() const = 0;
    virtual std::vector<std::pair<mt_func_key, mt_func_stats>> read_func_stats() const = 0;
    // Open traced calls per thread: native (-f) and Python (-f py:) ones.
    virtual std::vector<std::pair<uint32_t, mt_thread_frames>> read_thread_frames() const = 0;
    virtual std::vector<std::pair<uint32_t, mt_call_slots>> read_call_slots() const = 0;
    // -f py: the Python functions found, by function id: their code objects
    // (named through read_py_code).
    virtual std::vector<std::pair<uint32_t, mt_py_code_key>> read_py_funcs() const = 0;
    virtual std::vector<std::pair<mt_stack_key, uint64_t>> read_stack_bytes() const = 0;
    // -a: the entries of these processes (ended), taken out of the map.
    virtual std::vector<std::pair<mt_stack_key, uint64_t>> take_stack_bytes(const std::set<uint32_t> &tgids) = 0;
    // --per-thread: these threads' names (ended), taken out of the map.
    virtual std::vector<std::pair<uint32_t, std::string>> take_thread_names(const std::set<uint32_t> &tids) = 0;
    virtual std::vector<UserStackFrame> read_user_stack(int32_t id) const = 0; // leaf first
    virtual std::vector<uint64_t> read_kernel_stack(int32_t id) const = 0;     // leaf first
    virtual std::vector<std::pair<uint32_t, std::string>> read_thread_names() const = 0;
    virtual ProgramCost program_cost() const = 0;
    // -f: the time spent in the programs of the function probes (entry; return
    // sites), counted while run_time_stats() (memtrace turns them on for -f).
    virtual ProgramCost probe_program_cost(bool entry) const = 0;
    virtual bool run_time_stats() const = 0;
    virtual KernelTotalPeak total_peak() const = 0;
};

} // namespace memtrace
