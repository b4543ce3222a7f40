// The processes of a trace grouped by the program they ran (--children, -a):
// one row per program instead of one per process. Each program a process ran
// counts (a process that exec'd counts for each of its programs).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "model/functions.h"
#include "model/process.h"

namespace memtrace {

struct ProgramGroup {
    std::string program;      // the executable's path, or "[comm]" where it is not known
    std::string comm;         // of the run with the largest peak
    size_t runs = 0;          // processes that ran it (each program of an exec chain counts)
    size_t running = 0;       // ... still running when tracing ended
    uint64_t max_peak_rss = 0; // the largest peak of one run
    uint32_t max_peak_pid = 0;
    uint64_t final_rss = 0;   // sum of the RSS of the runs still running at the end
    uint64_t page_faults = 0; // sums over the runs
    uint64_t touched = 0;
    uint64_t mapped = 0;
    uint64_t unmapped = 0;
    double first_start_s = 0;
};

// Every program each process ran, oldest first: the earlier programs of an
// exec chain (each with replaced = true), then the current one.
std::vector<ProcessRecord> program_runs(const std::vector<ProcessRecord> &processes);

// The key a run is grouped by: its executable, or "[comm]".
std::string program_of(const ProcessRecord &run);

// Adds one run of its program to `group` (program named by program_of).
void add_program_run(ProgramGroup &group, const ProcessRecord &run);

// Grouped by program, the largest single peak first; `unlisted`: the groups
// of processes no longer listed (-a keeps the largest), added in.
std::vector<ProgramGroup> group_by_program(const std::vector<ProcessRecord> &processes,
                                           const std::vector<ProgramGroup> &unlisted = {});

// The sum of the current RSS of the processes still running at the end, and
// how many they are.
struct RunningTotal {
    uint64_t rss = 0;
    size_t processes = 0;
};
RunningTotal running_total(const std::vector<ProcessRecord> &processes);

// Traced functions grouped by (program of the process, function): calls,
// unreturned, active and net summed, peaks the largest, pid that of the call
// with the largest peak increment. Sorted by peak increment.
struct FunctionGroup {
    std::string program;
    FunctionRecord figures; // pid: of the largest call
    size_t processes = 0;
};
std::vector<FunctionGroup> group_functions(const std::vector<FunctionRecord> &functions,
                                           const std::vector<ProcessRecord> &processes);

} // namespace memtrace
