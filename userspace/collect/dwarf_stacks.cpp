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
    auto [it, fresh] = ids_.emplace(key, kFirstId + static_cast<int32_t>(ids_.size()));
    if (fresh)
        frames_.emplace(it->second, std::move(frames));
    add_sample({s.pid, rec.label_tid, it->second, rec.kernel_stack, rec.weight, rec.ts_ns, rec.addr});
}

void DwarfStacks::add_sample(const RawStackSample &sample)
{
    if (keep_each_) {
        samples_.push_back(sample);
        return;
    }
    auto [it, fresh] = summed_.try_emplace({sample.tgid, sample.tid, sample.user_id, sample.kernel_id},
                                           samples_.size());
    if (fresh)
        samples_.push_back(sample);
    else
        samples_[it->second].bytes += sample.bytes;
}

void DwarfStacks::merge_into(RawStacks &raw) const
{
    raw.samples.insert(raw.samples.end(), samples_.begin(), samples_.end());
    for (const auto &[id, frames] : frames_)
        raw.user.emplace(id, frames);
}

} // namespace memtrace
