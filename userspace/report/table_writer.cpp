#include "report/table_writer.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <map>

#include "model/program_groups.h"
#include "report/line_table_writer.h"
#include "report/program_table.h"
#include "report/text_table.h"
#include "report/units.h"

namespace memtrace {
namespace {

constexpr size_t kCmdlineWidth = 60;

std::string exit_cell(const ProcessRecord &p)
{
    if (p.replaced)
        return "exec"; // an earlier program of the process: exec replaced it
    if (auto sig = p.exit_signal())
        return signal_name(*sig);
    if (auto code = p.exit_code())
        return std::to_string(*code);
    return p.exited ? "?" : "running";
}

std::string shorten(const std::string &text, size_t width)
{
    return text.size() <= width ? text : text.substr(0, width - 3) + "...";
}

void write_processes(std::ostream &out, const std::vector<ProcessRecord> &procs, bool with_growth)
{
    using A = TextTable::Align;
    TextTable t;
    t.add_column("PID", A::Right);
    t.add_column("COMM", A::Left);
    t.add_column("PEAK RSS", A::Right);
    if (with_growth)
        t.add_column("GROWTH", A::Right);
    t.add_column("ANON", A::Right);
    t.add_column("FILE", A::Right);
    t.add_column("SHMEM", A::Right);
    t.add_column("START RSS", A::Right);
    t.add_column("FINAL RSS", A::Right);
    t.add_column("PEAK VM", A::Right);
    t.add_column("FAULTS", A::Right);
    t.add_column("TOUCHED", A::Right);
    t.add_column("MAPPED", A::Right);
    t.add_column("UNMAPPED", A::Right);
    t.add_column("EXIT", A::Left);
    t.add_column("COMMAND LINE", A::Left);
    for (const ProcessRecord &p : procs) {
        std::vector<std::string> row{std::to_string(p.pid), terminal_safe(p.comm), format_bytes(p.peak_rss)};
        if (with_growth)
            row.push_back(format_signed_bytes(static_cast<int64_t>(p.growth())));
        for (uint64_t v : {p.peak_anon, p.peak_file, p.peak_shmem, p.start_rss, p.final_rss, p.peak_vm})
            row.push_back(format_bytes(v));
        row.push_back(format_count(p.page_faults));
        for (uint64_t v : {p.touched, p.mapped, p.unmapped})
            row.push_back(format_bytes(v));
        row.push_back(exit_cell(p));
        row.push_back(shorten(terminal_safe(p.cmdline.empty() ? "[" + p.comm + "]" : p.cmdline), kCmdlineWidth));
        t.add_row(std::move(row));
    }
    t.write(out);
}

std::string pid_list(const std::vector<uint32_t> &pids)
{
    std::string out = pids.size() == 1 ? "pid " : "pids ";
    for (size_t i = 0; i < pids.size(); ++i)
        out += (i ? "," : "") + std::to_string(pids[i]);
    return out;
}

std::string join(const std::vector<std::string> &words)
{
    std::string out;
    for (const auto &w : words)
        out += (out.empty() ? "" : " ") + w;
    return out;
}

void write_headline(std::ostream &out, const RunReport &r)
{
    std::string duration = format_seconds(r.duration_s);
    switch (r.mode) {
    case TraceMode::Command: {
        out << "memtrace: '" << shorten(terminal_safe(join(r.command)), kCmdlineWidth) << "' (pid " << r.command_pid
            << ")";
        const ProcessRecord *cmd = nullptr;
        for (const auto &p : r.processes)
            if (p.pid == r.command_pid)
                cmd = &p;
        if (cmd)
            out << ' ' << describe_end(*cmd);
        out << "; traced " << duration;
        break;
    }
    case TraceMode::Pids:
        out << "memtrace: traced " << pid_list(r.pids) << " for " << duration;
        break;
    case TraceMode::All: {
        size_t ended = static_cast<size_t>(
            std::count_if(r.processes.begin(), r.processes.end(), [](auto &p) { return p.exited; }));
        out << "memtrace: traced every process for " << duration << ": "
            << r.processes.size() + r.stats.ended_not_kept << " seen, "
            << ended + r.stats.ended_not_kept << " exited";
        break;
    }
    }
    if (!r.end_reason.empty())
        out << " (" << r.end_reason << ")";
    out << "\n\n";
}

void write_legend(std::ostream &out, bool with_growth)
{
    out << "\nPEAK RSS: exact high-water mark of resident memory (anon + file + shmem), split into\n"
           "  ANON / FILE / SHMEM at the moment of the peak. START / FINAL RSS: when tracing of the\n"
           "  program began (attach, fork or exec) and ended (exit or end of trace).\n";
    if (with_growth)
        out << "GROWTH: PEAK RSS - START RSS.\n";
    out << "FAULTS: user page faults. TOUCHED: memory brought into RSS in all (pages mapped in).\n"
           "MAPPED / UNMAPPED: virtual memory mapped and released (mmap, brk, mremap, munmap).\n";
}

std::string function_name(const FunctionRecord &f)
{
    // a Python function's name is the traced program's text (co_qualname can be anything)
    return shorten(terminal_safe(f.demangled.empty() ? f.symbol : f.demangled), 50);
}

void write_functions(std::ostream &out, const RunReport &r)
{
    if (r.functions.empty())
        return;
    using A = TextTable::Align;
    bool several_pids = false;
    for (const auto &f : r.functions)
        several_pids |= f.pid != r.functions.front().pid;
    const bool grouped = several_pids && r.by_program();
    TextTable t;
    t.add_column("FUNCTION", A::Left);
    t.add_column("MODULE", A::Left);
    if (several_pids)
        t.add_column("PID", A::Right);
    t.add_column("CALLS", A::Right);
    t.add_column("PEAK INCREMENT", A::Right);
    t.add_column("PEAK RSS", A::Right);
    t.add_column("NET (TOTAL)", A::Right);
    t.add_column("UNRETURNED", A::Right);
    t.add_column("ACTIVE", A::Right);
    double cost = 0;
    uint64_t hits = 0;
    for (const FunctionRecord &f : r.functions) {
        std::vector<std::string> row{function_name(f),
                                     terminal_safe(std::filesystem::path(f.module).filename().string())};
        if (several_pids)
            row.push_back(std::to_string(f.pid));
        row.push_back(format_count(f.calls));
        row.push_back(format_bytes(f.max_peak_increment));
        row.push_back(format_bytes(f.max_peak_rss));
        row.push_back(format_signed_bytes(f.total_net));
        row.push_back(format_count(f.unreturned));
        row.push_back(f.active ? format_count(f.active) : "");
        t.add_row(std::move(row));
        cost += f.estimated_cost_s;
        hits += f.probe_hits();
    }
    if (grouped) {
        write_function_groups(out, group_functions(r.functions, r.processes));
    } else {
        out << "\nTraced functions, by the largest peak increment of one call:\n";
        t.write(out);
    }
    out << "\nPEAK INCREMENT: the most one call raised the process's RSS above its RSS at entry,\n"
           "  at its highest point (memory allocated and freed inside the call counts; any thread).\n"
           "PEAK RSS: the highest process RSS during a call. NET (TOTAL): what the calls kept,\n"
           "  summed (RSS at return - RSS at entry). UNRETURNED: calls left by an exception, longjmp,\n"
           "  thread exit or exec. ACTIVE: still running when tracing ended (peak so far counted).\n";
    if (std::any_of(r.functions.begin(), r.functions.end(), [](const auto &f) { return f.python; }))
        out << "Python functions (py:): seen at RSS changes, from their frames. CALLS counts the calls\n"
               "  seen (a call during which RSS never changed is not); UNRETURNED: still running when\n"
               "  their thread ended or exec'd (a call left by an exception counts as returned).\n";
    if (std::all_of(r.functions.begin(), r.functions.end(), [](const auto &f) { return f.python; }))
        return; // no probes: Python calls are read from the frames at RSS changes
    const bool measured = std::all_of(r.functions.begin(), r.functions.end(),
                                      [](const auto &f) { return f.python || f.cost_measured; });
    char line[300], spent[32];
    double share = r.duration_s > 0 ? cost / r.duration_s * 100 : 0;
    if (cost < 1)
        std::snprintf(spent, sizeof(spent), "%.1f ms", cost * 1000);
    else
        std::snprintf(spent, sizeof(spent), "%s", format_seconds(cost).c_str());
    std::snprintf(line, sizeof(line),
                  "Probe cost: %s probe hits, about %s of the traced program's time (%.1f%% of %s);\n"
                  "  %.1f µs a hit, %s.\n",
                  format_count(hits).c_str(), spent, share, format_seconds(r.duration_s).c_str(),
                  hits ? cost * 1e6 / static_cast<double>(hits) : 0.0,
                  measured ? "measured (the trap, timed at start, + the BPF programs' run time)"
                           : "estimated from the probed instructions");
    out << line;
}

// --stacks peak|end: what the folded total stands for, and what it cannot see.
void write_resident(std::ostream &out, const StacksSummary &st)
{
    const bool peak = st.kind == "peak";
    out << format_bytes(st.folded_total) << (peak ? " resident at each process's peak" : " still resident at the end")
        << ", against " << format_bytes(st.exact_total) << " of RSS growth by then ("
        << (peak ? "peak" : "final") << " RSS - start RSS; the difference: each thread's last partial "
        << "sample, pages the kernel reclaimed).\n";
    if (st.untracked)
        out << "  " << format_bytes(st.untracked)
            << " of it came in without a user fault (MAP_POPULATE, mlock, read by the kernel for "
               "the process): counted resident until exec or the end.\n";
    if (st.samples_dropped || st.ranges_dropped)
        out << "warning: " << format_count(st.samples_dropped) << " samples and "
            << format_count(st.ranges_dropped)
            << " ranges leaving RSS lost (ring buffer or map full): the folded file misses the "
               "former and may still hold the latter\n";
}

void write_stacks(std::ostream &out, const RunReport &r)
{
    if (!r.stacks)
        return;
    const StacksSummary &st = *r.stacks;
    const bool resident = st.kind == "peak" || st.kind == "end";
    const std::string files = st.pprof_path.empty() ? st.path
                              : st.path.empty()     ? st.pprof_path
                                                    : st.path + ", " + st.pprof_path;
    out << "\nStacks (" << (files.empty() ? "sampled for --lines" : files)
        << "): " << format_count(st.samples) << " samples, one per "
        << format_bytes(st.sample_bytes) << (st.kind == "map" ? " mapped" : " brought in")
        << " per thread, in " << format_count(r.folded.size()) << " distinct stacks; ";
    if (resident)
        write_resident(out, st);
    else
        out << format_bytes(st.folded_total) << " of the " << format_bytes(st.exact_total)
            << (st.kind == "touch" ? " touched" : " mapped")
            << " (the rest: each thread's last partial sample).\n";
    if (st.stack_bytes == 0 && st.unwind != "fp")
        out << "  Python frames only: --lines on py: functions copies no native stack (--folded would).\n";
    if (st.stack_bytes != 0 && (st.unwind == "dwarf" || st.unwind == "auto")) {
        out << "  Unwound (--unwind " << st.unwind << "): " << format_count(st.by_frame_pointers)
            << " by frame pointers, " << format_count(st.by_dwarf)
            << " with DWARF CFI from stack copies of up to " << format_bytes(st.stack_bytes);
        uint64_t cut = 0;
        std::string why;
        for (const auto &[reason, n] : st.cut_short) {
            cut += n;
            why += (why.empty() ? "" : ", ") + format_count(n) + " " + reason;
        }
        if (cut)
            out << "; " << format_count(cut) << " cut short (" << why
                << "), shown under a [cut short: ...] frame";
        out << ".\n";
        if (st.copies_too_short)
            out << "  Deeper stacks than the copy: raise --stack-bytes (up to 64K).\n";
        if (st.python_samples)
            out << "  Python: " << format_count(st.python_samples)
                << " samples carry Python frames, shown as 'function (file.py:LINE)' in place of "
                   "the interpreter's.\n";
        if (st.python_codes_lost)
            out << "warning: " << format_count(st.python_codes_lost)
                << " Python functions could not be named (too many): shown as [python code 0x...]\n";
        if (st.copies_lost)
            out << "warning: " << format_count(st.copies_lost)
                << " stack copies lost (ring buffer full): their bytes are not in the folded file\n";
    }
    if (!st.without_frame_pointers.empty()) {
        std::string list;
        for (const auto &f : st.without_frame_pointers)
            list += (list.empty() ? "" : ", ") + std::filesystem::path(f).filename().string();
        out << "note: built without frame pointers: " << list
            << ".\n  Stacks through their code stop short: use --unwind auto (the default) or "
               "dwarf, or rebuild with -fno-omit-frame-pointer.\n";
    }
    if (st.user_stacks_lost || st.samples_lost)
        out << "warning: " << format_count(st.user_stacks_lost + st.samples_lost)
            << " samples without a stack (stack maps full): their bytes are under "
               "[stack not captured]\n";
}

void write_warnings(std::ostream &out, const TraceStats &s)
{
    if (s.ringbuf_drops)
        out << "warning: " << format_count(s.ringbuf_drops)
            << " exec/exit records lost (ring buffer full): some command lines or exits are missing\n";
    if (s.procs_not_traced)
        out << "warning: " << format_count(s.procs_not_traced)
            << " processes not traced (process map full: raise --max-procs)\n";
    if (s.mm_not_owned)
        out << "warning: " << format_count(s.mm_not_owned)
            << " address spaces not attributed (map full: raise --max-procs)\n";
    if (s.percpu_misses)
        out << "warning: " << format_count(s.percpu_misses)
            << " per-CPU counter reads failed: RSS figures may be up to 0.5 MiB low\n";
    if (s.malformed_records)
        out << "warning: " << format_count(s.malformed_records) << " malformed records ignored\n";
    if (s.frames_overflow)
        out << "warning: " << format_count(s.frames_overflow) << " calls not tracked: more than "
            << TraceStats::kOpenCallsPerThread << " traced calls open on one thread\n";
    if (s.slots_full)
        out << "warning: " << format_count(s.slots_full) << " calls with an approximate peak: more than "
            << TraceStats::kOpenCallsPerProcess << " traced calls open at once in one process\n";
    if (s.func_stats_full || s.threads_full)
        out << "warning: " << format_count(s.func_stats_full + s.threads_full)
            << " function figures lost: maps full (too many processes or threads)\n";
}

} // namespace

void write_points_table(std::ostream &out, const Recording &recording)
{
    struct Seen {
        uint64_t peak = 0, last = 0;
        double last_t = 0;
    };
    std::map<uint32_t, Seen> seen;
    for (const TimelinePoint &p : recording.points) {
        Seen &s = seen[p.pid];
        s.peak = std::max(s.peak, p.max_rss);
        if (p.t >= s.last_t) {
            s.last = p.rss;
            s.last_t = p.t;
        }
    }
    using A = TextTable::Align;
    TextTable t;
    t.add_column("PID", A::Right);
    t.add_column("PEAK RSS", A::Right);
    t.add_column("LAST RSS", A::Right);
    t.add_column("LAST SEEN", A::Right);
    for (const auto &[pid, s] : seen)
        t.add_row({std::to_string(pid), format_bytes(s.peak), format_bytes(s.last), format_seconds(s.last_t)});
    out << "memtrace: '" << shorten(terminal_safe(recording.label), kCmdlineWidth)
        << "': cut off before the end-of-run report; the last point is at "
        << format_seconds(recording.duration) << "\n\n";
    t.write(out);
    out << "\nPEAK RSS: the highest RSS of the intervals recorded (exact within them). LAST RSS: at\n"
           "  the end of the last interval written (LAST SEEN, since the trace began).\n";
}

std::string describe_end(const ProcessRecord &p)
{
    if (auto sig = p.exit_signal())
        return "was killed by " + signal_name(*sig);
    if (auto code = p.exit_code())
        return "exited with status " + std::to_string(*code);
    return p.exited ? "exited" : "is still running";
}

namespace {

// -a: the biggest and the fastest-growing processes, and programs.
void write_all_tables(std::ostream &out, const RunReport &r, const std::vector<ProcessRecord> &procs)
{
    size_t top = r.top.value_or(10);
    auto by_peak = procs;
    std::stable_sort(by_peak.begin(), by_peak.end(), [](auto &a, auto &b) { return a.peak_rss > b.peak_rss; });
    if (by_peak.size() > top)
        by_peak.resize(top);
    out << "Top " << by_peak.size() << " by peak RSS:\n";
    write_processes(out, by_peak, false);

    auto by_growth = procs;
    std::stable_sort(by_growth.begin(), by_growth.end(),
                     [](auto &a, auto &b) { return a.growth() > b.growth(); });
    if (by_growth.size() > top)
        by_growth.resize(top);
    out << "\nTop " << by_growth.size() << " by growth while traced:\n";
    write_processes(out, by_growth, true);
    write_legend(out, true);
    if (r.by_program()) {
        auto groups = group_by_program(r.processes, r.unlisted_programs);
        if (groups.size() > top)
            groups.resize(top);
        out << "\nTop " << groups.size() << " programs by the largest peak of one process:\n";
        write_program_groups(out, groups);
        write_program_legend(out);
    }
    out << '\n';
    write_running_total(out, running_total(r.processes));
    write_total_peak(out, r);
    if (r.stats.ended_not_kept)
        out << "Not listed: " << format_count(r.stats.ended_not_kept)
            << " processes that ended while traced (counted in 'seen'): past "
            << format_count(TraceStats::kEndedKept)
            << " ended processes, memtrace keeps only the biggest and fastest-growing"
            << (r.by_program() ? " (the programs table counts them all).\n" : ".\n");
}

// A command, its children, or -p: every program each process ran.
void write_tree_tables(std::ostream &out, const RunReport &r, std::vector<ProcessRecord> procs)
{
    if (r.by_program()) {
        auto groups = group_by_program(r.processes, r.unlisted_programs);
        if (r.top && groups.size() > *r.top)
            groups.resize(*r.top);
        write_program_groups(out, groups);
        write_program_legend(out);
        write_command_line(out, r);
        write_total_peak(out, r);
        return;
    }
    // Parents before the children they started; a process's programs in order.
    std::stable_sort(procs.begin(), procs.end(), [](auto &a, auto &b) {
        return a.start_s != b.start_s ? a.start_s < b.start_s : a.pid < b.pid;
    });
    if (r.top && procs.size() > *r.top) {
        std::stable_sort(procs.begin(), procs.end(), [](auto &a, auto &b) { return a.peak_rss > b.peak_rss; });
        procs.resize(*r.top);
    }
    write_processes(out, procs, false);
    write_legend(out, false);
    if (std::any_of(procs.begin(), procs.end(), [](auto &p) { return p.replaced; }))
        out << "EXIT exec: a program the process replaced by exec (its figures end there).\n";
}

} // namespace

void write_table(std::ostream &out, const RunReport &r)
{
    write_headline(out, r);
    std::vector<ProcessRecord> runs = program_runs(r.processes); // each program of an exec chain
    if (runs.empty()) {
        out << "No process was traced.\n";
        write_warnings(out, r.stats);
        return;
    }
    if (r.mode == TraceMode::All)
        write_all_tables(out, r, runs);
    else
        write_tree_tables(out, r, std::move(runs));
    write_functions(out, r);
    write_line_tables(out, r.lines, r.lines_sample_bytes, r.stacks ? r.stacks->copies_lost : 0);
    write_stacks(out, r);
    write_warnings(out, r.stats);
}

} // namespace memtrace
