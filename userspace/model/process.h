// One traced process and its memory figures, in bytes (design.md section 5).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace memtrace {

struct ProcessRecord {
    uint32_t pid = 0;
    uint32_t ppid = 0;
    std::string comm;
    std::string cmdline;
    std::string exe; // the program's file (as exec was given it, or /proc/PID/exe); "" unknown

    uint64_t start_rss = 0;  // RSS when tracing of this program began
    uint64_t final_rss = 0;  // at exit, or when tracing ended
    uint64_t peak_rss = 0;   // exact high-water mark of file + anon + shmem
    uint64_t peak_anon = 0;  // split of peak_rss at the moment of the peak
    uint64_t peak_file = 0;
    uint64_t peak_shmem = 0;
    uint64_t final_swap = 0; // swapped-out anonymous memory at the end
    uint64_t final_anon = 0; // the split of final_rss (--listen shows it)
    uint64_t final_file = 0;
    uint64_t final_shmem = 0;
    uint64_t final_vm = 0;
    uint64_t peak_vm = 0;
    uint64_t page_faults = 0; // user page faults
    uint64_t touched = 0;     // memory brought into RSS (sum of RSS increments)
    uint64_t mapped = 0;      // virtual memory mapped (mmap, brk, mremap growth)
    uint64_t unmapped = 0;
    // by the programs it ran before its latest exec (the figures above are the
    // current program's, as VmHWM): stack totals count them
    uint64_t touched_before_exec = 0;
    uint64_t mapped_before_exec = 0;

    double start_s = 0;              // seconds since the trace began
    double peak_s = 0;
    std::optional<double> end_s;     // exit time, if it exited

    bool attached = false; // already running when tracing began
    bool forked = false;   // forked by a traced process
    bool execed = false;   // figures cover the program since its exec

    bool exited = false;
    std::optional<int> wait_status;          // as wait(2) encodes it
    std::optional<uint64_t> kernel_maxrss;   // ru_maxrss from wait4, for the command
    // The kernel's own high-water mark of this program's address space at its end
    // (exit or exec): VmHWM then. ru_maxrss is the highest of every program the
    // process ran, memtrace's copy before the command's exec included.
    std::optional<uint64_t> kernel_hwm;
    bool replaced = false; // this program ended by an exec (an earlier program)
    // The programs this process ran before the current one, oldest first
    // (each with replaced = true): a chain of execs hides no peak.
    std::vector<ProcessRecord> earlier_programs;
    uint64_t earlier_programs_not_kept = 0; // past kEarlierProgramsKept, the smallest go
    static constexpr size_t kEarlierProgramsKept = 1000;

    uint64_t growth() const { return peak_rss > start_rss ? peak_rss - start_rss : 0; }
    std::optional<int> exit_code() const;    // status, or 128 + signal
    std::optional<int> exit_signal() const;  // the signal that killed it
};

// A program started by exec: its name and command line.
struct ProcessExec {
    uint32_t pid = 0;
    uint32_t ppid = 0;
    std::string comm;
    std::string cmdline;
    std::string exe; // as execve was given it
};

// Takes the kernel's latest figures of a process (`figures`: a record as the
// kernel side describes it, collect/kernel_figures.h) into `rec`, keeping what
// only userspace knows (command line, wait status, ru_maxrss).
void apply_figures(ProcessRecord &rec, const ProcessRecord &figures);

// The highest peak of every program the process ran (its own, and those
// before its latest exec).
uint64_t highest_peak(const ProcessRecord &rec);

// "SIGKILL" for 9, "signal 64" where no name is known.
std::string signal_name(int sig);

} // namespace memtrace
