#include "collect/stack_collection.h"

#include <malloc.h>
#include <sys/stat.h>

#include <cstdlib>

#include "collect/signal_inbox.h"
#include "symbols/file_pages.h"
#include "symbols/modules.h"

namespace memtrace {

mt_unwind_hint unwind_hint(const std::vector<UnwindHints::Range> &ranges, uint64_t code_gen)
{
    mt_unwind_hint hint{};
    hint.code_gen = code_gen;
    if (ranges.size() > MT_HINT_RANGES) {
        hint.dwarf_all = 1;
        return hint;
    }
    for (const UnwindHints::Range &r : ranges) {
        hint.start[hint.n] = r.start;
        hint.end[hint.n] = r.end;
        ++hint.n;
    }
    return hint;
}

StackCollection::StackCollection(KernelSide &kernel, const TraceConfig &config, Progress &progress)
    : kernel_(kernel), config_(config), modules_(std::make_shared<ModuleIndex>()),
      python_(kernel, progress)
{
    if (config.stacks == StackWeight::None)
        python_.for_functions_only();
    if (many_processes() && config.stacks != StackWeight::None && !config.resident_stacks())
        naming_ = std::make_shared<StackNaming>(modules_, config);
    if (!config.stack_copies())
        return;
    unwinder_.emplace(*modules_, config.debug_dirs);
    dwarf_.emplace(*modules_, *unwinder_, [this](uint32_t pid) { read_mappings(pid); },
                   [this] { read_queued(); }, &python_, [this](uint64_t ts) { mappings_until(ts); });
    dwarf_->keep_each_sample(config.resident_stacks());
}

void StackCollection::add_program(const std::string &executable)
{
    const char *env = getenv("LD_LIBRARY_PATH");
    for (const Module &m :
         program_modules(executable, LibrarySearch::from_environment(env ? env : "")))
        modules_->add_file(m.open_path);
}

void StackCollection::read_mappings(uint32_t pid)
{
    // The code generation is read before the mappings: code mapped in
    // between makes the kernel side ignore this hint.
    const bool auto_mode = config_.stack_copies() && config_.unwind == UnwindMode::Auto;
    const uint64_t gen = auto_mode ? kernel_.code_gen(pid) : 0;
    const uint64_t now = monotonic_ns();
    if (!modules_->snapshot(static_cast<pid_t>(pid)))
        return;
    read_ns_[pid] = now;
    struct stat proc {};
    if (stat(("/proc/" + std::to_string(pid)).c_str(), &proc) == 0)
        uids_[pid] = proc.st_uid; // its perf map's owner must be this user, or root
    const auto *maps = modules_->mappings(static_cast<pid_t>(pid));
    if (!maps)
        return;
    if (wants_python())
        python_.examine(pid, *maps, python_walks());
    if (auto_mode)
        kernel_.set_unwind_hint(pid, unwind_hint(hints_.without_frame_pointers(*maps), gen));
}

void StackCollection::read_queued()
{
    for (uint32_t pid : to_read_)
        read_mappings(pid);
    to_read_.clear();
}

void StackCollection::add_mapping(const MappingRecord &m)
{
    const ModuleIndex::KernelMapping mapping{m.start, m.end, m.offset, m.path, m.dev, m.ino};
    mapping_changes_.push_back({m.ts_ns, m.pid, mapping});
    to_read_.insert(m.pid); // what else depends on mappings (hints, Python), while it lives
    // A Python interpreter is registered as soon as its code is reported mapped
    // (at exec, or libpython's mmap): before this drain's stack copies are
    // unwound, which on a busy memtrace can take a while, with the program's
    // samples meanwhile showing no Python frames.
    if (wants_python() && !python_.registered(m.pid)) {
        const ModuleFile *file = modules_->by_kernel_id(m.dev, m.ino); // most are known: no open
        if (!file)
            file = modules_->file_of(static_cast<pid_t>(m.pid), mapping);
        if (file)
            python_.examine(m.pid, {{m.start, m.end, m.offset, file, m.path}}, python_walks());
    }
}

void StackCollection::program_changed(uint32_t pid, uint64_t ts_ns)
{
    mapping_changes_.push_back({ts_ns, pid, std::nullopt});
    to_read_.insert(pid);
    python_.program_changed(pid);
}

void StackCollection::mappings_until(uint64_t ts_ns)
{
    size_t done = 0;
    for (; done < mapping_changes_.size() && mapping_changes_[done].ts_ns <= ts_ns; ++done) {
        const MappingChange &c = mapping_changes_[done];
        if (c.mapping)
            modules_->add_mapping(static_cast<pid_t>(c.pid), *c.mapping);
        else if (auto read = read_ns_.find(c.pid); read == read_ns_.end() || read->second < c.ts_ns)
            modules_->forget(static_cast<pid_t>(c.pid)); // an exec: unless read since (the new program's)
    }
    mapping_changes_.erase(mapping_changes_.begin(), mapping_changes_.begin() + static_cast<std::ptrdiff_t>(done));
}

void StackCollection::add_copy(StackRecord copy)
{
    if (dwarf_)
        dwarf_->add(std::move(copy));
}

void StackCollection::sample_lines(std::vector<TracedFunction> functions, uint64_t page_size)
{
    if (!dwarf_)
        return; // --lines asks for copies: never without them
    lines_.emplace(std::move(functions), config_.python_functions, page_size);
    dwarf_->set_line_sampler(&*lines_, config_.python_frames_only());
}

void StackCollection::add_sample(const SampleRecord &s)
{
    samples_.push_back({s.pid, s.tid, s.user_stack, s.kernel_stack, s.weight, s.ts_ns, s.addr});
}

// Copies first, each with the mappings of its moment; then what is left of
// the kernel's mappings, then /proc (what it shows now may have lost code
// the copies ran).
void StackCollection::after_drain()
{
    if (!dwarf_) {
        mappings_until(UINT64_MAX);
        read_queued();
        release_ended();
        return;
    }
    dwarf_->unwind_pending();
    // A copy taken before a mapping reported now may still be on its way (the
    // copies' ring is read every MT_DRAIN_MS): recent changes wait for it.
    const uint64_t settled = 2 * MT_DRAIN_MS * 1000000ull;
    const uint64_t now = monotonic_ns();
    mappings_until(now > settled ? now - settled : 0);
    read_queued();
    release_ended();
}

void StackCollection::process_ended(uint32_t pid, const std::string &comm)
{
    if (!many_processes())
        return;
    ended_.push_back(pid);
    if (harvesting())
        ended_comms_[pid] = comm;
}

namespace {

constexpr uint64_t kHarvestEveryNs = 1000000000; // name ended processes' samples about once a second
constexpr size_t kHarvestBatch = 256;            // or when this many wait

} // namespace

// -a, --children: what memtrace kept for processes that ended, released a few drains
// later: their copies may still wait for mappings (DwarfStacks::kDeferrals).
void StackCollection::release_ended()
{
    ended_drains_.push_back(std::move(ended_));
    ended_.clear();
    if (ended_drains_.size() > DwarfStacks::kDeferrals + 1) {
        for (uint32_t pid : ended_drains_.front()) {
            if (harvesting())
                ready_.insert(pid); // let go once its samples are named
            else
                forget_process(pid);
        }
        ended_drains_.pop_front();
    }
    const uint64_t now = monotonic_ns();
    if (!ready_.empty() && (ready_.size() >= kHarvestBatch || now - last_harvest_ns_ >= kHarvestEveryNs)) {
        last_harvest_ns_ = now;
        harvest();
    }
}

void StackCollection::forget_process(uint32_t pid)
{
    if (unwinder_)
        unwinder_->forget(static_cast<pid_t>(pid));
    modules_->forget(static_cast<pid_t>(pid));
    python_.forget(pid);
    to_read_.erase(pid);
    read_ns_.erase(pid);
}

// The samples of the processes in ready_ (the kernel's, taken out of its map,
// and the unwound ones), named while their files are known; then what was
// kept for them goes.
void StackCollection::harvest()
{
    give_back_pages(); // what unwinding touched since the last naming, before this one adds its own
    RawStacks raw;
    bool unknown_build_id = false; // named "[unknown]": the directories are scanned at the end only
    for (const auto &[key, bytes] : kernel_.take_stack_bytes(ready_))
        raw.samples.push_back({key.tgid, key.tid, key.user_stack, key.kernel_stack, bytes});
    for (const RawStackSample &sample : raw.samples)
        add_user_frames(raw, sample.user_id, unknown_build_id);
    if (dwarf_)
        dwarf_->take(ready_, raw);
    add_kernel_frames(raw);
    if (config_.per_thread) {
        std::set<uint32_t> tids;
        for (const RawStackSample &sample : raw.samples)
            tids.insert(sample.tid);
        for (auto &[tid, name] : kernel_.take_thread_names(tids))
            raw.thread_names[tid] = name;
    }
    std::map<uint32_t, std::string> comms;
    std::map<uint32_t, uid_t> uids;
    for (uint32_t pid : ready_) {
        if (auto it = ended_comms_.find(pid); it != ended_comms_.end()) {
            comms[pid] = it->second;
            ended_comms_.erase(it);
        }
        if (auto it = uids_.find(pid); it != uids_.end()) {
            uids[pid] = it->second;
            uids_.erase(it);
        }
    }
    naming_->add(raw, comms, uids);
    naming_->forget_processes(ready_);
    for (uint32_t pid : ready_)
        forget_process(pid);
    ready_.clear();
    release_files();
    give_back_pages();
}

// memtrace's own pages it can do without: those of the files still open that
// are still the file's (read again from the page cache if needed), and the
// heap's free pages. ~2 ms, at most about once a second.
void StackCollection::give_back_pages()
{
    drop_file_pages();
    malloc_trim(0);
}

// Files no process maps and no kept stack refers to (for 10 s, unless
// deleted): closed, with all that was read of them (caches by file first: the
// pointers dangle next). A walk of every process's mappings, about once a
// second: ~1 ms for 300 processes.
void StackCollection::release_files()
{
    std::set<const ModuleFile *> needed;
    if (dwarf_)
        dwarf_->files_in_use(needed);
    for (const MappingChange &c : mapping_changes_) // to be applied: found by inode then
        if (c.mapping)
            if (const ModuleFile *file = modules_->by_kernel_id(c.mapping->dev, c.mapping->ino))
                needed.insert(file);
    // Deleted files go at once (they hold disk space, and no new run maps them);
    // the others once unused for a while.
    std::set<const ModuleFile *> idle = modules_->unused_files(needed), unused;
    for (const ModuleFile *file : idle)
        if (modules_->deleted(file))
            unused.insert(file);
    std::erase_if(idle, [&](const ModuleFile *file) { return unused.count(file) != 0; });
    unused.merge(idle_files_.expired(idle, monotonic_ns()));
    naming_->forget_files(unused);
    if (unwinder_)
        unwinder_->forget_files(unused);
    hints_.forget_files(unused);
    python_.forget_files(unused);
    modules_->release(unused);
}

void StackCollection::add_kernel_frames(RawStacks &raw)
{
    for (const RawStackSample &sample : raw.samples) // kernel stacks of both kinds of sample
        if (sample.kernel_id >= 0 && !raw.kernel.count(sample.kernel_id))
            raw.kernel.emplace(sample.kernel_id, kernel_.read_kernel_stack(sample.kernel_id));
}

std::map<std::string, uint64_t> StackCollection::cut_short() const
{
    return dwarf_ ? dwarf_->cut_short() : std::map<std::string, uint64_t>{};
}

namespace {

std::string hex(const uint8_t *bytes, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    std::string out;
    for (size_t i = 0; i < n; ++i) {
        out += digits[bytes[i] >> 4];
        out += digits[bytes[i] & 15];
    }
    return out;
}

} // namespace

void StackCollection::add_user_frames(RawStacks &raw, int32_t id, bool &unknown_build_id)
{
    if (id < 0 || raw.user.count(id))
        return;
    std::vector<RawUserFrame> frames;
    for (const UserStackFrame &f : kernel_.read_user_stack(id)) {
        RawUserFrame frame;
        frame.value = f.value;
        if (f.has_build_id) {
            frame.kind = RawUserFrame::BuildId;
            frame.build_id = hex(f.build_id, sizeof(f.build_id));
            unknown_build_id |= modules_->by_build_id(frame.build_id) == nullptr;
        }
        frames.push_back(std::move(frame));
    }
    raw.user.emplace(id, std::move(frames));
}

StackEvidence StackCollection::finish(const std::map<uint32_t, std::string> &comms,
                                      const std::map<uint32_t, uint64_t> &cut_ns)
{
    StackEvidence ev;
    give_back_pages(); // the last naming is the biggest: it starts from what tracing left
    RawStacks &raw = ev.raw;
    bool unknown_build_id = false;
    for (const auto &[key, bytes] : kernel_.read_stack_bytes())
        raw.samples.push_back({key.tgid, key.tid, key.user_stack, key.kernel_stack, bytes});
    raw.samples.insert(raw.samples.end(), samples_.begin(), samples_.end());
    if (dwarf_)
        dwarf_->unwind_pending(/*last_chance=*/true);
    mappings_until(UINT64_MAX); // their files name build-ids too
    for (const RawStackSample &sample : raw.samples)
        add_user_frames(raw, sample.user_id, unknown_build_id);
    if (dwarf_)
        dwarf_->merge_into(raw);
    if (config_.resident_stacks())
        untracked_ = ranges_.keep_resident(raw.samples, cut_ns);
    add_kernel_frames(raw);
    if (config_.per_thread)
        for (auto &[tid, name] : kernel_.read_thread_names())
            raw.thread_names[tid] = name;
    if (unknown_build_id) // a process gone before it could be read: try the library dirs
        modules_->scan_directories(LibrarySearch().default_dirs);
    ev.modules = modules_;
    ev.comms = comms;
    for (const auto &[pid, comm] : ended_comms_) // ended, not named yet: the table may not keep them
        ev.comms.emplace(pid, comm);
    if (lines_)
        ev.lines = lines_->evidence();
    ev.uids = uids_;
    ev.naming = naming_;
    return ev;
}

} // namespace memtrace
