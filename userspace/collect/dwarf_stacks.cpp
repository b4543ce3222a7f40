#include "collect/dwarf_stacks.h"

namespace memtrace {

DwarfStacks::DwarfStacks(const ModuleIndex &index, DwarfUnwinder &unwinder,
                         std::function<void(uint32_t)> refresh, std::function<void()> read_maps,
                         PythonTargets *python, std::function<void(uint64_t)> mappings_until)
    : index_(index), unwinder_(unwinder), refresh_(std::move(refresh)), read_maps_(std::move(read_maps)),
      python_(python), mappings_until_(std::move(mappings_until))
{
}

void DwarfStacks::add(StackRecord record)
{
    pending_.emplace_back(std::move(record), 0);
    if (pending_.size() >= waiting_ + kBatch) {
        unwind_queued(Pass::Batch);
        if (read_maps_)
            read_maps_();
    }
}

// The sample's native frames, leaf first, unwound with CFI; a [cut short]
// marker frame last when the unwind stopped early. `key` gets their identity;
// `by_address`: a frame lies outside files (named through this process's mappings).
std::vector<RawUserFrame> DwarfStacks::native_frames(const StackRecord &rec, std::string &key, bool &by_address)
{
    const StackSnapshot &s = rec.snapshot;
    const pid_t pid = static_cast<pid_t>(s.pid);
    UnwoundStack u = unwinder_.unwind(s);
    ++unwound_;

    std::vector<RawUserFrame> frames;
    for (uint64_t pc : u.pcs) {
        RawUserFrame f;
        MappedAddress where = index_.find(pid, pc);
        if (where.file) {
            f.kind = RawUserFrame::File;
            f.file = where.file;
            f.value = where.file_offset;
        } else {
            f.value = pc;
            by_address = true;
        }
        key += ';' + std::to_string(reinterpret_cast<uintptr_t>(f.file)) + ':' + std::to_string(f.value);
        frames.push_back(f);
    }
    if (lines_)
        lines_->add({s.pid, &frames, &rec.python, rec.weight, rec.rss_pages}, python_);
    if (u.end != UnwindEnd::Complete) {
        std::string why = unwind_end_name(u.end);
        ++cut_short_[why];
        RawUserFrame marker;
        marker.kind = RawUserFrame::Marker;
        marker.name = "[cut short: " + why + "]";
        key += ";" + marker.name;
        frames.push_back(marker); // the root side: leaf first
    }
    return frames;
}

void DwarfStacks::unwind_queued(Pass pass)
{
    std::vector<std::pair<StackRecord, uint32_t>> waiting;
    std::stable_sort(pending_.begin(), pending_.end(),
                     [](const auto &a, const auto &b) { return a.first.ts_ns < b.first.ts_ns; });
    for (auto &[rec, drains] : pending_) {
        if (mappings_until_)
            mappings_until_(rec.ts_ns);
        const StackSnapshot &s = rec.snapshot;
        if (!python_only_) { // a native stack came: its code must be in a known mapping
            MappedAddress leaf = index_.find(static_cast<pid_t>(s.pid), s.ip);
            if (!leaf.file && leaf.region.empty() && refresh_) {
                refresh_(s.pid); // no snapshot yet, or code mapped since the last one
                leaf = index_.find(static_cast<pid_t>(s.pid), s.ip);
            }
            if (!leaf.file && leaf.region.empty() && pass != Pass::Last && drains < kDeferrals) {
                waiting.emplace_back(std::move(rec), drains + (pass == Pass::Drain ? 1 : 0));
                continue;
            }
        }
        unwind(rec);
    }
    pending_ = std::move(waiting);
    waiting_ = pending_.size();
}

void DwarfStacks::unwind(const StackRecord &rec)
{
    const StackSnapshot &s = rec.snapshot;
    std::string key; // stacks wholly in files are shared across processes
    bool by_address = false;
    std::vector<RawUserFrame> frames;
    if (python_only_) // --lines on Python functions only: no native stack came
        lines_->add({s.pid, nullptr, &rec.python, rec.weight, rec.rss_pages}, python_);
    else
        frames = native_frames(rec, key, by_address);
    if (python_ && !rec.python.empty())
        for (RawUserFrame &f : python_->frames(s.pid, rec.python, rec.python_status & kPythonTruncated)) {
            key += ";" + f.name + (f.value ? "!" : "");
            frames.push_back(std::move(f));
        }
    if (by_address)
        key = std::to_string(s.pid) + "/" + key;
    auto [it, fresh] = ids_.emplace(key, next_id_);
    if (fresh) {
        ++next_id_;
        stacks_.emplace(it->second, Stack{std::move(frames), it, 0});
    }
    add_sample({s.pid, rec.label_tid, it->second, rec.kernel_stack, rec.weight, rec.ts_ns, rec.addr});
}

void DwarfStacks::add_sample(const RawStackSample &sample)
{
    Samples &of = samples_[sample.tgid];
    if (!keep_each_) {
        auto [it, fresh] = of.summed.try_emplace({sample.tid, sample.user_id, sample.kernel_id}, of.list.size());
        if (!fresh) {
            of.list[it->second].bytes += sample.bytes;
            return;
        }
    }
    of.list.push_back(sample);
    ++stacks_.at(sample.user_id).samples;
}

void DwarfStacks::merge_into(RawStacks &raw) const
{
    for (const auto &[pid, of] : samples_)
        raw.samples.insert(raw.samples.end(), of.list.begin(), of.list.end());
    for (const auto &[id, stack] : stacks_)
        raw.user.emplace(id, stack.frames);
}

void DwarfStacks::take(const std::set<uint32_t> &pids, RawStacks &raw)
{
    for (uint32_t pid : pids) {
        auto of = samples_.find(pid);
        if (of == samples_.end())
            continue;
        for (const RawStackSample &sample : of->second.list) {
            auto stack = stacks_.find(sample.user_id);
            if (stack == stacks_.end())
                continue; // every sample has its stack: not reached
            raw.user.emplace(sample.user_id, stack->second.frames);
            if (--stack->second.samples == 0) {
                ids_.erase(stack->second.key);
                stacks_.erase(stack);
            }
        }
        raw.samples.insert(raw.samples.end(), of->second.list.begin(), of->second.list.end());
        samples_.erase(of);
    }
}

void DwarfStacks::files_in_use(std::set<const ModuleFile *> &files) const
{
    for (const auto &[id, stack] : stacks_)
        for (const RawUserFrame &f : stack.frames)
            if (f.file)
                files.insert(f.file);
}

} // namespace memtrace
