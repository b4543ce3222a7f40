#include "model/process_table.h"

#include <algorithm>

namespace memtrace {

ProcessRecord &ProcessTable::live_record(uint32_t pid)
{
    auto [it, inserted] = live_.try_emplace(pid);
    if (inserted)
        it->second.pid = pid;
    return it->second;
}

void ProcessTable::inherit_cmdline(ProcessRecord &rec) const
{
    // A child forked without exec runs its parent's program.
    if (!rec.forked || rec.execed || !rec.ppid)
        return;
    const ProcessRecord *parent = find(rec.ppid);
    if (!parent)
        return;
    if (rec.cmdline.empty())
        rec.cmdline = parent->cmdline;
    if (rec.exe.empty())
        rec.exe = parent->exe;
}

void ProcessTable::apply_exec(const ProcessExec &exec)
{
    ProcessRecord &p = live_record(exec.pid);
    p.comm = exec.comm;
    if (!exec.cmdline.empty())
        p.cmdline = exec.cmdline;
    if (exec.ppid)
        p.ppid = exec.ppid;
    p.exe = exec.exe;
    p.execed = true;
}

void ProcessTable::apply_replaced(const ProcessRecord &figures)
{
    ProcessRecord &p = live_record(figures.pid);
    ProcessRecord image;
    image.pid = p.pid;
    image.ppid = p.ppid;
    image.comm = p.comm;
    image.cmdline = p.cmdline;
    image.exe = p.exe;
    apply_figures(image, figures);
    image.exited = false;
    image.end_s = figures.end_s; // when it exec'd
    inherit_cmdline(image);
    std::vector<ProcessRecord> &earlier = p.earlier_programs;
    earlier.push_back(std::move(image));
    if (earlier.size() > ProcessRecord::kEarlierProgramsKept) {
        // a process that execs without end: the smallest peak goes, counted
        auto smallest = std::min_element(earlier.begin(), earlier.end(), [](auto &a, auto &b) {
            return a.peak_rss < b.peak_rss;
        });
        earlier.erase(smallest);
        ++p.earlier_programs_not_kept;
    }
}

void ProcessTable::apply_exit(const ProcessRecord &figures)
{
    ProcessRecord &p = live_record(figures.pid);
    apply_figures(p, figures);
    inherit_cmdline(p);
    finish(figures.pid);
}

void ProcessTable::apply_snapshot(const std::vector<ProcessRecord> &figures)
{
    for (const ProcessRecord &f : figures) {
        ProcessRecord &p = live_record(f.pid);
        apply_figures(p, f);
        inherit_cmdline(p);
        if (p.exited)
            finish(f.pid);
    }
}

void ProcessTable::finish(uint32_t pid)
{
    auto it = live_.find(pid);
    if (it == live_.end())
        return;
    ProcessRecord rec = std::move(it->second);
    live_.erase(it);
    rec.exited = true;
    ended_.push_back(std::move(rec));
    if (ended_.size() > ended_limit_ + ended_limit_ / 2)
        prune_ended(); // amortized: once per limit/2 exits
}

void ProcessTable::trim_ended()
{
    if (ended_.size() > ended_limit_)
        prune_ended();
}

void ProcessTable::prune_ended()
{
    // Keep the half of the limit with the highest peaks and the half with the
    // most growth (often the same processes), in their original order.
    size_t half = ended_limit_ / 2;
    std::vector<size_t> order(ended_.size());
    for (size_t i = 0; i < order.size(); ++i)
        order[i] = i;
    std::vector<bool> keep(ended_.size(), false);
    auto mark_top = [&](auto key) {
        std::stable_sort(order.begin(), order.end(),
                         [&](size_t a, size_t b) { return key(ended_[a]) > key(ended_[b]); });
        for (size_t i = 0; i < half && i < order.size(); ++i)
            keep[order[i]] = true;
    };
    mark_top([](const ProcessRecord &p) { return p.peak_rss; });
    mark_top([](const ProcessRecord &p) { return p.growth(); });
    std::vector<ProcessRecord> kept;
    for (size_t i = 0; i < ended_.size(); ++i) {
        if (keep[i]) {
            kept.push_back(std::move(ended_[i]));
            continue;
        }
        ++ended_not_kept_;
        for (const ProcessRecord &run : program_runs({ended_[i]}))
            add_program_run(unlisted_[program_of(run)], run);
    }
    ended_ = std::move(kept);
}

std::vector<ProgramGroup> ProcessTable::unlisted_programs() const
{
    std::vector<ProgramGroup> out;
    for (const auto &[program, group] : unlisted_)
        out.push_back(group);
    return out;
}

void ProcessTable::set_wait_result(uint32_t pid, int wait_status, uint64_t maxrss_bytes)
{
    for (auto it = ended_.rbegin(); it != ended_.rend(); ++it) {
        if (it->pid == pid) {
            it->wait_status = wait_status;
            it->kernel_maxrss = maxrss_bytes;
            return;
        }
    }
    if (auto it = live_.find(pid); it != live_.end()) {
        it->second.wait_status = wait_status;
        it->second.kernel_maxrss = maxrss_bytes;
        finish(pid);
    }
}

void ProcessTable::set_cmdline(uint32_t pid, const std::string &cmdline)
{
    if (auto it = live_.find(pid); it != live_.end())
        it->second.cmdline = cmdline;
}

void ProcessTable::set_exe(uint32_t pid, const std::string &exe)
{
    if (auto it = live_.find(pid); it != live_.end() && it->second.exe.empty())
        it->second.exe = exe;
}

std::vector<uint32_t> ProcessTable::live_pids_without_cmdline() const
{
    std::vector<uint32_t> out;
    for (const auto &[pid, rec] : live_)
        if (rec.cmdline.empty())
            out.push_back(pid);
    return out;
}

const ProcessRecord *ProcessTable::find(uint32_t pid) const
{
    if (auto it = live_.find(pid); it != live_.end())
        return &it->second;
    for (auto it = ended_.rbegin(); it != ended_.rend(); ++it)
        if (it->pid == pid)
            return &*it;
    return nullptr;
}

std::vector<ProcessRecord> ProcessTable::records() const
{
    std::vector<ProcessRecord> out = ended_;
    for (const auto &[pid, rec] : live_)
        out.push_back(rec);
    return out;
}

std::vector<ProcessRecord> ProcessTable::live() const
{
    std::vector<ProcessRecord> out;
    for (const auto &[pid, rec] : live_)
        out.push_back(rec);
    return out;
}

} // namespace memtrace
