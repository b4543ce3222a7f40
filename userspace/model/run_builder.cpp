#include "model/run_builder.h"

#include <signal.h>
#include <sys/wait.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>

namespace memtrace {
namespace {

// What the folded total should come to: what was touched or mapped, or the
// growth still resident at the peak (or the end) over what was there before.
uint64_t exact_stack_total(const ProcessRecord &p, StackWeight weight)
{
    switch (weight) {
    case StackWeight::Map: return p.mapped + p.mapped_before_exec; // earlier programs' samples stay
    case StackWeight::Peak: return p.growth();
    case StackWeight::End: return p.final_rss > p.start_rss ? p.final_rss - p.start_rss : 0;
    default: return p.touched + p.touched_before_exec;
    }
}

StacksSummary stacks_summary(const CollectedRun &run, const NamedStacks &named,
                             const TraceConfig &config)
{
    const TraceStats &stats = run.stats;
    StacksSummary st;
    st.kind = weight_name(config.stacks);
    st.sample_bytes = config.sample_bytes;
    st.samples = stats.stack_samples;
    st.folded_total = named.folded.total();
    for (const ProcessRecord &p : run.processes)
        st.exact_total += exact_stack_total(p, config.stacks);
    st.user_stacks_lost = stats.user_stacks_lost;
    st.kernel_stacks_lost = stats.kernel_stacks_lost;
    st.samples_lost = stats.stack_bytes_full;
    st.unwind = unwind_name(config.unwind);
    st.stack_bytes = config.stack_copies() && !config.python_frames_only() ? config.stack_bytes : 0;
    st.by_dwarf = run.stacks_by_dwarf;
    st.copies_lost = stats.stack_copy_drops;
    st.by_frame_pointers = st.samples - std::min(st.samples, stats.stack_copies + st.copies_lost);
    st.cut_short = run.stacks_cut_short;
    st.copies_too_short = run.stack_copy_too_short;
    st.without_frame_pointers = named.without_frame_pointers;
    st.python_samples = stats.python_stacks;
    st.python_codes_lost = stats.python_codes_full;
    st.untracked = run.stacks_untracked;
    st.samples_dropped = stats.samples_dropped;
    st.ranges_dropped = stats.ranges_dropped;
    return st;
}

std::string end_reason(const CollectedRun &run, const TraceConfig &config)
{
    switch (run.stop.cause) {
    case StopCause::Signal: {
        const char *abbrev = sigabbrev_np(run.stop.signal);
        return std::string("interrupted by SIG") + (abbrev ? abbrev : "?");
    }
    case StopCause::Duration: {
        char text[64];
        std::snprintf(text, sizeof(text), "stopped after -d %g s", config.duration_s.value_or(0));
        return text;
    }
    case StopCause::TargetsEnded:
        break;
    }
    if (config.mode == TraceMode::Pids)
        return run.pids.size() == 1 ? "it exited" : "all exited";
    return "";
}

// Its legend, main process and processes: the recording stands on its own.
void finish_recording(Recording &rec, const RunReport &report, const TraceConfig &config)
{
    std::stable_sort(rec.points.begin(), rec.points.end(),
                     [](const auto &a, const auto &b) { return a.t < b.t; });
    std::stable_sort(rec.marks.begin(), rec.marks.end(),
                     [](const auto &a, const auto &b) { return a.start < b.start; });
    rec.duration = report.duration_s;
    rec.command = config.command;
    rec.main_pid = report.command_pid ? report.command_pid
                                      : report.pids.empty() ? 0 : report.pids.front();
    auto main = std::find_if(report.processes.rbegin(), report.processes.rend(),
                             [&](const ProcessRecord &p) { return p.pid == rec.main_pid; });
    rec.label = recording_label(config.command, rec.main_pid,
                                main != report.processes.rend() ? main->cmdline : "");
    for (const ProcessRecord &p : report.processes)
        rec.processes.push_back({p.pid, p.ppid, p.comm, p.cmdline, p.start_s, p.end_s ? *p.end_s : -1.0});
}

int exit_code(const CollectedRun &run)
{
    if (!run.command)
        return 0;
    if (run.command->reaped) {
        const int status = run.command->wait_status;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    return 128 + (run.stop.cause == StopCause::Signal ? run.stop.signal : SIGTERM);
}

} // namespace

RunResult build_run(CollectedRun run, std::optional<NamedStacks> stacks, const TraceConfig &config)
{
    RunResult result;
    RunReport &report = result.report;
    report.mode = config.mode;
    report.command = config.command;
    report.command_pid = run.command ? run.command->pid : 0;
    report.pids = run.pids;
    report.duration_s = run.duration_s;
    report.top = config.top;
    report.children = config.children;
    report.per_process = config.per_process;
    report.end_reason = end_reason(run, config);
    if (!run.functions.functions.empty()) {
        report.functions = build_function_records(run.functions);
        report.probes_attached = run.probes_attached;
    }
    report.stats = run.stats;
    report.total_peak = run.total_peak;
    report.cost = run.cost;
    if (stacks) {
        report.stacks = stacks_summary(run, *stacks, config);
        report.folded = std::move(stacks->folded);
        report.lines = std::move(stacks->lines);
        if (config.lines)
            report.lines_sample_bytes = config.sample_bytes;
    }
    result.exit_code = exit_code(run);
    report.processes = std::move(run.processes);
    report.unlisted_programs = std::move(run.unlisted_programs);
    if (run.recording) {
        result.recording = std::move(run.recording);
        finish_recording(*result.recording, report, config);
    }
    return result;
}

} // namespace memtrace
