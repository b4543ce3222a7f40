// The processes of one trace: live ones by pid, and those that ended, in order.
// Fed with decoded records and map snapshots; never prints.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "model/process.h"
#include "model/program_groups.h"

namespace memtrace {

class ProcessTable {
public:
    void apply_exec(const ProcessExec &exec);
    // The final figures of a process that ended.
    void apply_exit(const ProcessRecord &figures);
    // The final figures of a program that a process replaced by exec: kept as
    // one of its earlier programs.
    void apply_replaced(const ProcessRecord &figures);
    // Figures of processes still in the kernel's map (live, or exited when
    // their exit record was lost).
    void apply_snapshot(const std::vector<ProcessRecord> &figures);

    // The command memtrace ran: its wait status and ru_maxrss from wait4.
    void set_wait_result(uint32_t pid, int wait_status, uint64_t maxrss_bytes);
    void set_cmdline(uint32_t pid, const std::string &cmdline);
    void set_exe(uint32_t pid, const std::string &exe); // where exec did not say

    // With -a a long trace sees processes without end: keep at most `limit`
    // ended ones, the largest by peak RSS and by growth; count the others,
    // and add their figures to their programs' (unlisted_programs).
    // During the trace up to 1.5 times `limit` are held (pruned by halves);
    // trim_ended() brings them down to `limit`, for the report.
    void limit_ended(size_t limit) { ended_limit_ = limit; }
    void trim_ended();
    uint64_t ended_not_kept() const { return ended_not_kept_; }
    std::vector<ProgramGroup> unlisted_programs() const;
    // Processes that ended, those not kept included.
    uint64_t ended_count() const { return ended_.size() + ended_not_kept_; }

    std::vector<uint32_t> live_pids_without_cmdline() const;
    const ProcessRecord *find(uint32_t pid) const; // live first, then the last that ended
    std::vector<ProcessRecord> records() const;    // ended, then live (by pid)
    std::vector<ProcessRecord> live() const;

private:
    ProcessRecord &live_record(uint32_t pid);
    void inherit_cmdline(ProcessRecord &rec) const;
    void finish(uint32_t pid);
    void prune_ended();

    std::map<uint32_t, ProcessRecord> live_;
    std::vector<ProcessRecord> ended_;
    size_t ended_limit_ = SIZE_MAX;
    uint64_t ended_not_kept_ = 0;
    std::map<std::string, ProgramGroup> unlisted_; // by program
};

} // namespace memtrace
