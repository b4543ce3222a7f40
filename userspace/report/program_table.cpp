#include "report/program_table.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "report/text_table.h"
#include "report/units.h"

namespace memtrace {
namespace {

constexpr size_t kProgramWidth = 50;

std::string shorten_left(const std::string &text, size_t width)
{
    // a path: its end says most
    return text.size() <= width ? text : "..." + text.substr(text.size() - (width - 3));
}

std::string counted(size_t n, const char *one, const char *many)
{
    return format_count(n) + " " + (n == 1 ? one : many);
}

} // namespace

void write_program_groups(std::ostream &out, const std::vector<ProgramGroup> &groups)
{
    using A = TextTable::Align;
    TextTable t;
    for (const char *name : {"PROGRAM", "COMM"})
        t.add_column(name, A::Left);
    for (const char *name : {"PROCS", "RUNNING", "MAX PEAK RSS", "PID", "FINAL RSS", "FAULTS",
                             "TOUCHED", "MAPPED", "UNMAPPED"})
        t.add_column(name, A::Right);
    for (const ProgramGroup &g : groups)
        t.add_row({shorten_left(terminal_safe(g.program), kProgramWidth), terminal_safe(g.comm),
                   format_count(g.runs), g.running ? format_count(g.running) : "",
                   format_bytes(g.max_peak_rss), std::to_string(g.max_peak_pid),
                   g.running ? format_bytes(g.final_rss) : "", format_count(g.page_faults),
                   format_bytes(g.touched), format_bytes(g.mapped), format_bytes(g.unmapped)});
    t.write(out);
}

void write_program_legend(std::ostream &out)
{
    out << "\nOne row per program (--per-process: one per process). PROCS: processes that ran it\n"
           "  (a process that exec'd counts for each program it ran); RUNNING: still running at the\n"
           "  end. MAX PEAK RSS: the largest peak of one of them (PID). FINAL RSS: the sum of the\n"
           "  running ones'. FAULTS, TOUCHED, MAPPED, UNMAPPED: summed over them.\n";
}

void write_running_total(std::ostream &out, const RunningTotal &total)
{
    out << "Running at the end: " << counted(total.processes, "traced process", "traced processes") << " holding "
        << format_bytes(total.rss)
        << " of RSS in all (the sum of their RSS: pages shared between processes count in each).\n";
}

void write_total_peak(std::ostream &out, const RunReport &r)
{
    if (r.processes.size() < 2 || !r.total_peak.bytes)
        return;
    char at[32];
    std::snprintf(at, sizeof(at), "%.2f", r.total_peak.at_s);
    out << "All traced processes together: at most " << format_bytes(r.total_peak.bytes)
        << " of RSS at one moment (+" << at
        << " s; the sum of their RSS: pages shared between processes count in each).\n";
}

void write_command_line(std::ostream &out, const RunReport &r)
{
    auto cmd = std::find_if(r.processes.begin(), r.processes.end(),
                            [&](const ProcessRecord &p) { return p.pid == r.command_pid; });
    if (r.mode != TraceMode::Command || cmd == r.processes.end())
        return;
    size_t programs = 0;
    for (const ProcessRecord &p : r.processes)
        programs += 1 + p.earlier_programs.size();
    out << "The command (pid " << cmd->pid << ", " << terminal_safe(cmd->comm) << "): peak RSS "
        << format_bytes(highest_peak(*cmd));
    if (cmd->kernel_hwm)
        out << " (kernel's VmHWM at its end: " << format_bytes(*cmd->kernel_hwm) << ")";
    out << "; " << counted(r.processes.size(), "process", "processes") << " traced, "
        << counted(programs, "program", "programs") << " run.\n";
}

void write_function_groups(std::ostream &out, const std::vector<FunctionGroup> &groups)
{
    using A = TextTable::Align;
    TextTable t;
    for (const char *name : {"FUNCTION", "MODULE", "PROGRAM"})
        t.add_column(name, A::Left);
    for (const char *name : {"PROCS", "CALLS", "PEAK INCREMENT", "PEAK RSS", "NET (TOTAL)",
                             "UNRETURNED", "ACTIVE"})
        t.add_column(name, A::Right);
    for (const FunctionGroup &g : groups) {
        const FunctionRecord &f = g.figures;
        t.add_row({terminal_safe(f.demangled.empty() ? f.symbol : f.demangled),
                   terminal_safe(std::filesystem::path(f.module).filename().string()),
                   shorten_left(terminal_safe(g.program), 30), format_count(g.processes),
                   format_count(f.calls), format_bytes(f.max_peak_increment),
                   format_bytes(f.max_peak_rss), format_signed_bytes(f.total_net),
                   format_count(f.unreturned), f.active ? format_count(f.active) : ""});
    }
    out << "\nTraced functions, per program, by the largest peak increment of one call:\n";
    t.write(out);
}

} // namespace memtrace
