// --folded while tracing: the mappings of the traced processes (read at
// attach, after exec and after each executable mmap, while they are alive),
// the stack copies unwound with DWARF as they come, and at the end the
// samples the kernel counted, ready to be named (collect/stack_naming.h).
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include "collect/dwarf_stacks.h"
#include "collect/idle_files.h"
#include "collect/kernel_side.h"
#include "collect/line_samples.h"
#include "collect/python_targets.h"
#include "collect/records.h"
#include "collect/resident_stacks.h"
#include "collect/stack_naming.h"
#include "model/trace_config.h"
#include "symbols/module_index.h"
#include "unwind/dwarf_unwinder.h"
#include "unwind/unwind_hints.h"

namespace memtrace {

class StackCollection {
public:
    StackCollection(KernelSide &kernel, const TraceConfig &config, Progress &progress);

    // The program memtrace is about to run, and the libraries it will load:
    // known before it maps them.
    void add_program(const std::string &executable);
    // Reads a process's mappings now (attach).
    void read_mappings(uint32_t pid);
    // Reads them after the current drain (new code mapped).
    void mappings_changed(uint32_t pid) { to_read_.insert(pid); }
    // A mapping the kernel side read when it was made (--folded): kept
    // whether or not the process is still there to be read.
    void add_mapping(const MappingRecord &mapping);
    // The process exec'd: its old mappings go (copies of the old program
    // waiting are unwound first), the new ones are read.
    void program_changed(uint32_t pid, uint64_t ts_ns);
    void add_copy(StackRecord copy);
    // --lines: the samples' bytes and RSS go to the lines of these functions
    // (native, by id) and of the Python functions config.python_functions names.
    void sample_lines(std::vector<TracedFunction> functions, uint64_t page_size);
    // --stacks peak|end: a frame-pointer sample with its page; a range that
    // left RSS or moved.
    void add_sample(const SampleRecord &sample);
    void add_range(const RangeRecord &range) { ranges_.add(range); }
    // -a, --children: a process ended (named `comm`). Once the drains after this one have
    // unwound its last stack copies, its samples are named and folded (about
    // once a second, with others that ended), then its mappings, address
    // space, Python names and the files no one else maps are let go: memory
    // stays bounded however many processes come and go.
    void process_ended(uint32_t pid, const std::string &comm);
    // After each drain of the ring buffers: read the mappings asked for, then
    // unwind the copies waiting for them.
    void after_drain();

    // The samples the kernel counted, with the unwound ones: what naming needs.
    // --stacks peak|end: only those resident at each process's cut (ktime of
    // its peak; absent: its end).
    StackEvidence finish(const std::map<uint32_t, std::string> &comms,
                         const std::map<uint32_t, uint64_t> &cut_ns = {});
    uint64_t untracked() const { return untracked_; }
    uint64_t unwound() const { return dwarf_ ? dwarf_->unwound() : 0; }
    std::map<std::string, uint64_t> cut_short() const;
    // Python processes found (registered with the kernel side), and whether a
    // Python version memtrace cannot read was met.
    size_t python_processes() const { return python_.processes(); }
    bool python_unsupported() const { return python_.met_unsupported(); }

private:
    void read_queued();
    void release_ended();
    // -a and --children: processes come and go without end (a build's compilers).
    bool many_processes() const { return config_.mode == TraceMode::All || config_.children; }
    bool harvesting() const { return naming_ && !lines_; }
    // Python frames come with stack copies only (--unwind dwarf|auto); -f py:
    // needs the interpreter registered in any case (the kernel side is told
    // whether samples walk its frames: --no-python-frames).
    bool wants_python() const { return config_.python_frames || !config_.python_functions.empty(); }
    bool python_walks() const { return dwarf_.has_value() || !config_.python_functions.empty(); }
    void harvest();
    void forget_process(uint32_t pid);
    void release_files();
    void give_back_pages();
    void add_kernel_frames(RawStacks &raw);
    void mappings_until(uint64_t ts_ns);
    void add_user_frames(RawStacks &raw, int32_t id, bool &unknown_build_id);

    KernelSide &kernel_;
    const TraceConfig &config_;
    std::shared_ptr<ModuleIndex> modules_;
    std::optional<DwarfUnwinder> unwinder_;
    std::optional<DwarfStacks> dwarf_;
    std::optional<LineSampler> lines_;
    UnwindHints hints_;
    PythonTargets python_;
    std::set<uint32_t> to_read_;
    std::vector<uint32_t> ended_;                    // this drain
    std::deque<std::vector<uint32_t>> ended_drains_; // by drain, oldest first
    // -a, --children: the naming of ended processes' samples as the trace goes (not with
    // --lines or --stacks peak|end, which need the whole run's samples).
    std::shared_ptr<StackNaming> naming_;
    std::map<uint32_t, std::string> ended_comms_; // until named
    std::set<uint32_t> ready_;                     // ended, copies unwound: to be named
    uint64_t last_harvest_ns_ = 0;
    // Mappings the kernel side reported, and execs (no mapping: the process's
    // are gone), applied in time order with the stack copies.
    struct MappingChange {
        uint64_t ts_ns = 0;
        uint32_t pid = 0;
        std::optional<ModuleIndex::KernelMapping> mapping;
    };
    std::vector<MappingChange> mapping_changes_;
    // When each process's mappings were last read from /proc (ktime): an exec
    // applied in time order must not forget what was read after it.
    std::map<uint32_t, uint64_t> read_ns_;
    std::vector<RawStackSample> samples_; // --stacks peak|end: frame-pointer samples as they came
    ResidentRanges ranges_;
    // Files no process maps are let go after 10 s unused: a compiler run once
    // per file of a build keeps what was read of it.
    static constexpr uint64_t kIdleFileNs = 10'000'000'000ull;
    IdleFiles idle_files_{kIdleFileNs};
    uint64_t untracked_ = 0;
    std::map<uint32_t, uid_t> uids_; // by pid, while each lived: for its perf map
};

// The kernel-side hint for --unwind auto: `ranges` of code without frame
// pointers, or all of the process when they do not fit.
mt_unwind_hint unwind_hint(const std::vector<UnwindHints::Range> &ranges, uint64_t code_gen);

} // namespace memtrace
