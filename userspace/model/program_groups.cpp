#include "model/program_groups.h"

#include <algorithm>
#include <map>
#include <tuple>

namespace memtrace {

std::vector<ProcessRecord> program_runs(const std::vector<ProcessRecord> &processes)
{
    std::vector<ProcessRecord> out;
    for (const ProcessRecord &p : processes) {
        for (const ProcessRecord &earlier : p.earlier_programs)
            out.push_back(earlier);
        out.push_back(p);
        out.back().earlier_programs.clear();
    }
    return out;
}

std::string program_of(const ProcessRecord &run)
{
    return run.exe.empty() ? "[" + run.comm + "]" : run.exe;
}

void add_program_run(ProgramGroup &g, const ProcessRecord &run)
{
    g.program = program_of(run);
    if (g.runs == 0 || run.start_s < g.first_start_s)
        g.first_start_s = run.start_s;
    ++g.runs;
    if (g.runs == 1 || run.peak_rss > g.max_peak_rss) {
        g.max_peak_rss = run.peak_rss;
        g.max_peak_pid = run.pid;
        g.comm = run.comm;
    }
    if (!run.exited && !run.replaced) {
        ++g.running;
        g.final_rss += run.final_rss;
    }
    g.page_faults += run.page_faults;
    g.touched += run.touched;
    g.mapped += run.mapped;
    g.unmapped += run.unmapped;
}

namespace {

void add_group(ProgramGroup &g, const ProgramGroup &more)
{
    if (g.runs == 0 || (more.runs && more.first_start_s < g.first_start_s))
        g.first_start_s = more.first_start_s;
    if (g.runs == 0 || more.max_peak_rss > g.max_peak_rss) {
        g.max_peak_rss = more.max_peak_rss;
        g.max_peak_pid = more.max_peak_pid;
        g.comm = more.comm;
    }
    g.program = more.program;
    g.runs += more.runs;
    g.running += more.running;
    g.final_rss += more.final_rss;
    g.page_faults += more.page_faults;
    g.touched += more.touched;
    g.mapped += more.mapped;
    g.unmapped += more.unmapped;
}

} // namespace

std::vector<ProgramGroup> group_by_program(const std::vector<ProcessRecord> &processes,
                                           const std::vector<ProgramGroup> &unlisted)
{
    std::map<std::string, ProgramGroup> groups;
    for (const ProcessRecord &run : program_runs(processes))
        add_program_run(groups[program_of(run)], run);
    for (const ProgramGroup &g : unlisted)
        add_group(groups[g.program], g);
    std::vector<ProgramGroup> out;
    for (auto &[name, g] : groups)
        out.push_back(std::move(g));
    std::stable_sort(out.begin(), out.end(), [](const ProgramGroup &a, const ProgramGroup &b) {
        return std::tie(a.max_peak_rss, b.first_start_s) > std::tie(b.max_peak_rss, a.first_start_s);
    });
    return out;
}

RunningTotal running_total(const std::vector<ProcessRecord> &processes)
{
    RunningTotal t;
    for (const ProcessRecord &p : processes) {
        if (p.exited)
            continue;
        t.rss += p.final_rss;
        ++t.processes;
    }
    return t;
}

namespace {

void add_function(FunctionGroup &g, const FunctionRecord &f)
{
    FunctionRecord &sum = g.figures;
    ++g.processes;
    if (g.processes == 1) {
        sum = f;
        return;
    }
    sum.calls += f.calls;
    sum.returned += f.returned;
    sum.unreturned += f.unreturned;
    sum.active += f.active;
    sum.folded += f.folded;
    sum.dropped += f.dropped;
    sum.total_net += f.total_net;
    sum.entry_hits += f.entry_hits;
    sum.return_hits += f.return_hits;
    sum.estimated_cost_s += f.estimated_cost_s;
    sum.max_peak_rss = std::max(sum.max_peak_rss, f.max_peak_rss);
    if (f.max_peak_increment > sum.max_peak_increment) {
        sum.max_peak_increment = f.max_peak_increment;
        sum.pid = f.pid;
        sum.max_tid = f.max_tid;
        sum.max_base = f.max_base;
        sum.max_start_s = f.max_start_s;
        sum.max_end_s = f.max_end_s;
    }
}

} // namespace

std::vector<FunctionGroup> group_functions(const std::vector<FunctionRecord> &functions,
                                           const std::vector<ProcessRecord> &processes)
{
    std::map<uint32_t, std::string> program; // a pid's latest program
    for (const ProcessRecord &p : processes)
        program[p.pid] = program_of(p);
    std::map<std::tuple<std::string, std::string, std::string>, FunctionGroup> groups;
    for (const FunctionRecord &f : functions) {
        auto it = program.find(f.pid);
        std::string prog = it != program.end() ? it->second : "[pid " + std::to_string(f.pid) + "]";
        FunctionGroup &g = groups[{prog, f.module, f.symbol}];
        g.program = prog;
        add_function(g, f);
    }
    std::vector<FunctionGroup> out;
    for (auto &[key, g] : groups)
        out.push_back(std::move(g));
    std::stable_sort(out.begin(), out.end(), [](const FunctionGroup &a, const FunctionGroup &b) {
        return a.figures.max_peak_increment > b.figures.max_peak_increment;
    });
    return out;
}

} // namespace memtrace
