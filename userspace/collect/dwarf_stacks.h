// Stacks copied by the kernel side (--unwind dwarf|auto): unwound with DWARF
// CFI once the mappings their process had are known, deduplicated, and added
// to the in-kernel (frame-pointer) samples as more RawStacks.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "collect/line_samples.h"
#include "collect/python_targets.h"
#include "collect/records.h"
#include "symbols/stack_folding.h"
#include "unwind/dwarf_unwinder.h"
#include "symbols/module_index.h"

namespace memtrace {

class DwarfStacks {
public:
    // `refresh(pid)` reads a process's mappings again (when a sampled
    // instruction lies in none that are known: code mapped since).
    // `read_maps()` reads the mappings of processes that mapped code since
    // (their records came on the other ring buffer).
    // `python` names the Python frames samples carry (nullptr: none do).
    // `mappings_until(ts)` brings the mappings up to that moment (ktime):
    // copies are unwound in time order, each against the mappings of its time.
    DwarfStacks(const ModuleIndex &index, DwarfUnwinder &unwinder,
                std::function<void(uint32_t)> refresh, std::function<void()> read_maps,
                PythonTargets *python = nullptr, std::function<void(uint64_t)> mappings_until = {});
    // Samples of one (process, thread, stack) are summed into one, unless
    // each is kept with its time and page (--stacks peak|end).
    void keep_each_sample(bool keep) { keep_each_ = keep; }

    // Queued until unwind_pending(): the mappings records that came before
    // it (on another ring buffer) must be read first. A full batch is
    // unwound at once: a reader that falls behind must not queue without
    // bound, nor wait until the processes (and their mappings) are gone.
    void add(StackRecord record);
    static constexpr size_t kBatch = 256;
    // A copy whose instruction lies in no known mapping waits up to
    // kDeferrals drains: its mapping's record, on the other ring, may not
    // have been read yet (a full batch unwound in the middle of a drain does
    // not count). `last_chance`: unwind every copy now.
    static constexpr uint32_t kDeferrals = 2;
    void unwind_pending(bool last_chance = false) { unwind_queued(last_chance ? Pass::Last : Pass::Drain); }

    // --lines: each unwound sample goes to `lines` too; `python_only`: the
    // samples carry no stack (Python functions only): not unwound.
    void set_line_sampler(LineSampler *lines, bool python_only)
    {
        lines_ = lines;
        python_only_ = python_only;
    }

    // Adds the unwound samples to `raw`, with ids of their own.
    void merge_into(RawStacks &raw) const;
    // -a: the unwound samples of these processes (ended, their copies all
    // unwound), moved to `raw` with their stacks; stacks no other sample
    // uses are let go.
    void take(const std::set<uint32_t> &pids, RawStacks &raw);
    // The files the stacks kept refer to.
    void files_in_use(std::set<const ModuleFile *> &files) const;

    uint64_t unwound() const { return unwound_; }
    const std::map<std::string, uint64_t> &cut_short() const { return cut_short_; }

    static constexpr int32_t kFirstId = 1 << 24; // above every stack-map id

private:
    void add_sample(const RawStackSample &sample);
    enum class Pass { Batch, Drain, Last };
    void unwind_queued(Pass pass);
    void unwind(const StackRecord &rec);
    std::vector<RawUserFrame> native_frames(const StackRecord &rec, std::string &key, bool &by_address);

    const ModuleIndex &index_;
    DwarfUnwinder &unwinder_;
    std::function<void(uint32_t)> refresh_;
    std::function<void()> read_maps_;
    PythonTargets *python_;
    std::function<void(uint64_t)> mappings_until_;
    std::vector<std::pair<StackRecord, uint32_t>> pending_; // with the drains it waited
    size_t waiting_ = 0; // of them, deferred by the last pass
    LineSampler *lines_ = nullptr;
    bool python_only_ = false;
    // Identical stacks share an id (across processes when every frame is in
    // a file), kept while samples use it.
    std::map<std::string, int32_t> ids_;
    struct Stack {
        std::vector<RawUserFrame> frames;
        std::map<std::string, int32_t>::iterator key;
        size_t samples = 0;
    };
    std::map<int32_t, Stack> stacks_;
    int32_t next_id_ = kFirstId;
    bool keep_each_ = false;
    // Each process's samples, summed by (thread, stack, kernel stack) unless
    // each is kept.
    struct Samples {
        std::vector<RawStackSample> list;
        std::map<std::tuple<uint32_t, int32_t, int32_t>, size_t> summed; // index in list
    };
    std::map<uint32_t, Samples> samples_;
    uint64_t unwound_ = 0;
    std::map<std::string, uint64_t> cut_short_;
};

} // namespace memtrace
