#include "collect/collector.h"

#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "collect/kernel_figures.h"
#include "error.h"
#include "collect/procfs.h"
#include "symbols/modules.h"

namespace memtrace {
namespace {

bool procfs_flag(const char *path)
{
    FILE *f = std::fopen(path, "r");
    if (!f)
        return false;
    int value = 0;
    bool on = std::fscanf(f, "%d", &value) == 1 && value != 0;
    std::fclose(f);
    return on;
}

double wall_clock_s()
{
    timespec wall{};
    clock_gettime(CLOCK_REALTIME, &wall);
    return static_cast<double>(wall.tv_sec) + static_cast<double>(wall.tv_nsec) / 1e9;
}

// The next moment one of the optional deadlines falls due, as a poll timeout.
int poll_timeout(uint64_t now, std::initializer_list<std::optional<uint64_t>> deadlines)
{
    uint64_t wake = UINT64_MAX;
    for (const auto &d : deadlines)
        if (d)
            wake = std::min(wake, *d);
    if (wake == UINT64_MAX)
        return -1;
    if (wake <= now)
        return 0;
    return static_cast<int>(std::min<uint64_t>((wake - now) / 1000000ull + 1, 60000));
}

// SECONDS after `from` on the monotonic clock; none when it would never come
// (-d 1e300 must not wrap around to a moment already past).
std::optional<uint64_t> ns_after(uint64_t from, std::optional<double> seconds)
{
    if (!seconds || !(*seconds >= 0))
        return std::nullopt;
    const double ns = *seconds * 1e9;
    if (!(ns < static_cast<double>(UINT64_MAX - from)))
        return std::nullopt;
    return from + static_cast<uint64_t>(ns);
}

} // namespace

Collector::Collector(KernelSide &kernel, const TraceConfig &config, CollectPlan plan,
                     Progress &progress)
    : kernel_(kernel), config_(config), plan_(std::move(plan)), progress_(progress),
      page_size_(static_cast<uint64_t>(sysconf(_SC_PAGESIZE))), start_ns_(monotonic_ns()),
      units_{page_size_, start_ns_}, warned_hot_(plan_.functions.size(), false),
      last_hot_check_(start_ns_)
{
    if (config.timeline) {
        recording_.emplace();
        recording_->resolution = config.resolution_ms / 1000.0;
        recording_->start_unix = wall_clock_s();
    }
    if (config.mode == TraceMode::All)
        table_.limit_ended(TraceStats::kEndedKept);
    if (!config.python_functions.empty())
        python_functions_.emplace(kernel, static_cast<uint32_t>(plan_.functions.size()));
    if (config.stacks != StackWeight::None || python_functions_) {
        stacks_.emplace(kernel, config, progress);
        if (!plan_.executable.empty())
            stacks_->add_program(plan_.executable);
        if (config.lines)
            stacks_->sample_lines(plan_.functions, page_size_);
    }
}

Collector::~Collector()
{
    for (Watched &w : watched_)
        if (w.pidfd >= 0)
            close(w.pidfd);
}

double Collector::since_start(uint64_t ns) const
{
    return units_.seconds(ns);
}

std::string Collector::function_name(uint32_t id)
{
    if (id < plan_.functions.size()) {
        const TracedFunction &f = plan_.functions[id];
        return f.demangled.empty() ? f.symbol : f.demangled;
    }
    if (python_functions_)
        if (std::optional<TracedFunction> f = python_functions_->function(id))
            return f->symbol;
    return "[function " + std::to_string(id) + "]";
}

// Native functions by id, then the Python functions the kernel side found
// (ids from plan_.functions.size() on).
std::vector<TracedFunction> Collector::functions_by_id()
{
    std::vector<TracedFunction> out = plan_.functions;
    if (!python_functions_)
        return out;
    for (auto &[id, f] : python_functions_->all()) {
        while (out.size() < id) {
            TracedFunction unnamed;
            unnamed.symbol = "[python function " + std::to_string(out.size()) + "]";
            unnamed.python = true;
            out.push_back(std::move(unnamed));
        }
        out.push_back(std::move(f));
    }
    return out;
}

// -f py: a pattern that named nothing, or no Python at all, is said once.
void Collector::check_python_patterns()
{
    if (!python_functions_ || !stacks_)
        return;
    if (stacks_->python_processes() == 0) {
        if (!stacks_->python_unsupported())
            progress_.warning("-f py:" + config_.python_functions.front() +
                              ": no traced process ran CPython 3.11-3.13; py: names Python "
                              "functions (native functions: -f NAME without py:)");
        return;
    }
    for (const std::string &pattern : python_functions_->unmatched(config_.python_functions))
        progress_.warning("-f py:" + pattern +
                          ": no Python function of that name was seen running (they are seen "
                          "when memory changes); --folded names the Python functions that "
                          "allocate; try a glob ('py:*" +
                          pattern + "*') or MODULE.QUALNAME");
}

void Collector::seed()
{
    if (config_.mode != TraceMode::Command) {
        kernel_.seed_running();
        table_.apply_snapshot(figures_of(kernel_.read_procs(), units_));
        fill_cmdlines();
        if (stacks_)
            for (const ProcessRecord &p : table_.live())
                stacks_->read_mappings(p.pid);
    }
    for (pid_t pid : plan_.pids) {
        const ProcessRecord *rec = table_.find(static_cast<uint32_t>(pid));
        if (!rec || rec->exited)
            throw Error("pid " + std::to_string(pid) + " exited while memtrace was attaching");
        watched_.push_back({pid, open_pidfd(pid)});
    }
}

void Collector::announce() const
{
    std::string functions;
    if (!plan_.functions.empty())
        functions = ", " + std::to_string(plan_.functions.size()) +
                    (plan_.functions.size() == 1 ? " function" : " functions") + " (" +
                    std::to_string(kernel_.probes_attached()) + " probes)";
    if (config_.mode == TraceMode::Pids) {
        std::string line = "tracing";
        for (pid_t pid : plan_.pids) {
            const ProcessRecord *rec = table_.find(static_cast<uint32_t>(pid));
            line += " pid " + std::to_string(pid) + " (" + (rec ? rec->comm : "?") + ")";
        }
        progress_.info(line + functions + "; Ctrl-C to stop");
    } else if (config_.mode == TraceMode::All) {
        progress_.info("tracing every process (" + std::to_string(table_.live().size()) +
                       " running" + functions + "); Ctrl-C to stop");
    }
}

bool Collector::targets_ended() const
{
    return std::all_of(watched_.begin(), watched_.end(), [](const Watched &w) { return w.pidfd < 0; });
}

void Collector::begin_stream()
{
    if (!stream_ || !recording_)
        return;
    Recording header;
    header.command = config_.command;
    header.start_unix = recording_->start_unix;
    header.resolution = recording_->resolution;
    header.main_pid = static_cast<uint32_t>(plan_.command ? *plan_.command
                                            : plan_.pids.empty() ? 0 : plan_.pids.front());
    const ProcessRecord *main = table_.find(header.main_pid);
    header.label = recording_label(config_.command, header.main_pid, main ? main->cmdline : "");
    stream_->begin(header);
}

void Collector::feed_stream()
{
    if (!stream_ || !recording_)
        return;
    const auto &points = recording_->points;
    const auto &marks = recording_->marks;
    stream_->add({points.begin() + static_cast<std::ptrdiff_t>(points_streamed_), points.end()},
                 {marks.begin() + static_cast<std::ptrdiff_t>(marks_streamed_), marks.end()});
    points_streamed_ = points.size();
    marks_streamed_ = marks.size();
}

Stop Collector::run(SignalInbox &signals)
{
    if (plan_.command)
        watched_.push_back({*plan_.command, open_pidfd(*plan_.command)});
    announce();
    begin_stream();

    std::optional<uint64_t> deadline = ns_after(start_ns_, config_.duration_s);
    std::optional<uint64_t> next_tick = ns_after(start_ns_, config_.interval_s);
    std::optional<uint64_t> next_hot_check, next_drain;
    if (!plan_.functions.empty() || plan_.exec_functions)
        next_hot_check = start_ns_ + 1000000000ull;
    // Stack copies, timeline points and call marks do not wake memtrace until
    // their ring is a quarter full (lazy_wakeup in bpf/records.bpf.h): read
    // them at this pace meanwhile.
    if (config_.stack_copies() || config_.resident_stacks() || config_.timeline)
        next_drain = monotonic_ns() + MT_DRAIN_MS * 1000000ull;

    while (!(config_.mode != TraceMode::All && targets_ended())) {
        std::vector<pollfd> fds{{kernel_.ring_fd(), POLLIN, 0}, {signals.fd(), POLLIN, 0}};
        for (const Watched &w : watched_)
            if (w.pidfd >= 0)
                fds.push_back({w.pidfd, POLLIN, 0});
        const size_t served_from = fds.size();
        if (metrics_)
            metrics_->add_descriptors(fds);
        const int timeout = poll_timeout(monotonic_ns(), {deadline, next_tick, next_hot_check, next_drain,
                                                          metrics_ ? metrics_->wake_ns() : std::nullopt});
        if (poll(fds.data(), fds.size(), timeout) < 0 && errno != EINTR)
            throw Error(std::string("poll failed: ") + std::strerror(errno));

        if (fds[0].revents || (next_drain && monotonic_ns() >= *next_drain)) {
            if (next_drain)
                next_drain = monotonic_ns() + MT_DRAIN_MS * 1000000ull;
            drain();
        }
        if (fds[1].revents) {
            std::optional<int> sig = signals.take();
            if (signals.take_child_ended() && plan_.command)
                reap_orphans(*plan_.command);
            if (sig)
                return {StopCause::Signal, *sig};
        }
        for (size_t i = 2; i < served_from; ++i)
            for (Watched &w : watched_)
                if (fds[i].revents && w.pidfd == fds[i].fd) {
                    close(w.pidfd);
                    w.pidfd = -1;
                }
        if (metrics_)
            metrics_->serve(std::span(fds).subspan(served_from), [this] { return metrics_snapshot(); });

        const uint64_t now = monotonic_ns();
        if (next_tick && now >= *next_tick) {
            live_lines(now);
            while (next_tick && *next_tick <= now)
                next_tick = ns_after(*next_tick, config_.interval_s);
        }
        if (next_hot_check && now >= *next_hot_check) {
            check_hot(now);
            *next_hot_check = now + 1000000000ull;
        }
        if (deadline && now >= *deadline)
            return {StopCause::Duration, 0};
    }
    return {StopCause::TargetsEnded, 0};
}

void Collector::drain()
{
    kernel_.consume([this](std::span<const std::byte> bytes) {
        try {
            Record rec = decode_record(bytes);
            handle(rec);
        } catch (...) {
            ++malformed_; // nothing may throw through libbpf
        }
    });
    if (stacks_)
        stacks_->after_drain();
    if (!wanted_returns_.empty())
        attach_return_probes();
    feed_stream();
}

void Collector::handle(Record &record)
{
    if (auto *exec = std::get_if<ExecRecord>(&record)) {
        table_.apply_exec({exec->pid, exec->ppid, exec->comm, exec->cmdline, exec->exe});
        if (stacks_)
            stacks_->program_changed(exec->pid, exec->ts_ns);
        if (exec->held)
            held_exec(exec->pid);
    } else if (auto *exit = std::get_if<ExitRecord>(&record)) {
        if (exit->proc.flags & MT_PROC_REPLACED) { // an earlier program of an exec chain
            table_.apply_replaced(figures_of(exit->proc, units_));
        } else {
            table_.apply_exit(figures_of(exit->proc, units_));
            peak_ns_[exit->proc.tgid] = exit->proc.peak_ns;
            if (stacks_)
                stacks_->process_ended(exit->proc.tgid, comm_string(exit->proc.comm));
        }
    } else if (auto *mapping = std::get_if<MappingRecord>(&record)) {
        if (stacks_)
            stacks_->add_mapping(*mapping);
    } else if (auto *mapped = std::get_if<ExecMapRecord>(&record)) {
        if (stacks_)
            stacks_->mappings_changed(mapped->pid);
    } else if (auto *stack = std::get_if<StackRecord>(&record)) {
        if (stacks_)
            stacks_->add_copy(std::move(*stack));
    } else if (auto *sample = std::get_if<SampleRecord>(&record)) {
        if (stacks_)
            stacks_->add_sample(*sample);
    } else if (auto *range = std::get_if<RangeRecord>(&record)) {
        if (stacks_)
            stacks_->add_range(*range);
    } else if (auto *site = std::get_if<RetsiteRecord>(&record)) {
        wanted_returns_.push_back(*site);
    } else if (auto *point = std::get_if<PointRecord>(&record)) {
        if (recording_)
            recording_->points.push_back({point->pid, since_start(point->ts_ns),
                                          point->rss_end * page_size_, point->rss_max * page_size_});
    } else if (auto *mark = std::get_if<MarkRecord>(&record)) {
        if (recording_ && (mark->func < plan_.functions.size() || python_functions_))
            recording_->marks.push_back(
                {mark->pid, mark->tid, function_name(mark->func), since_start(mark->entry_ns),
                 since_start(mark->exit_ns), mark->base * page_size_, mark->peak * page_size_,
                 mark->rss_end * page_size_, mark->returned});
    } else {
        ++malformed_;
    }
}

// Held at exec for the -f patterns waiting for a program: probed, then resumed.
void Collector::held_exec(uint32_t pid)
{
    if (!plan_.exec_functions) {
        kill(static_cast<pid_t>(pid), SIGCONT); // cannot be: nothing holds then
        return;
    }
    for (TracedFunction &f : plan_.exec_functions->held_exec(pid, static_cast<uint32_t>(plan_.functions.size())))
        plan_.functions.push_back(std::move(f));
    warned_hot_.resize(plan_.functions.size(), false);
}

// Calls that leave by tail call return through the tail callee: a probe at
// their return address ends them on time.
void Collector::attach_return_probes()
{
    for (const RetsiteRecord &site : wanted_returns_) {
        auto where = file_offset_at(static_cast<pid_t>(site.pid), site.ret_addr);
        if (!where || site.func >= plan_.functions.size())
            continue;
        if (!plan_.probed_returns.emplace(where->path, where->offset).second)
            continue; // this file offset is probed already (another process, same code)
        ProbeSite probe{where->open_path, where->offset, ProbeKind::ReturnAddress, site.func,
                        "the return address of '" + function_name(site.func) + "'"};
        try {
            kernel_.attach_probes({probe}, plan_.probe_pids);
        } catch (const Error &e) {
            ++return_probes_failed_; // such calls still end, when their thread is next seen
            progress_.detail(e.what());
        }
    }
    wanted_returns_.clear();
}

void Collector::fill_cmdlines()
{
    ProcFs procfs;
    for (uint32_t pid : table_.live_pids_without_cmdline()) {
        if (auto line = procfs.cmdline(static_cast<pid_t>(pid)))
            table_.set_cmdline(pid, *line);
        if (auto exe = procfs.exe(static_cast<pid_t>(pid)))
            table_.set_exe(pid, *exe);
    }
}

// The kernel's figures of every process traced now into the table: the live
// view's per-interval snapshot, and each scrape's (--listen).
void Collector::refresh_live(const std::vector<mt_proc> &procs)
{
    table_.apply_snapshot(figures_of(procs, units_));
    fill_cmdlines();
}

void Collector::live_lines(uint64_t now)
{
    refresh_live(kernel_.read_procs());
    std::vector<ProcessRecord> live = table_.live();
    std::stable_sort(live.begin(), live.end(),
                     [](const auto &a, const auto &b) { return a.final_rss > b.final_rss; });
    const size_t rows = config_.top.value_or(config_.mode == TraceMode::All ? 10 : live.size());
    const double elapsed = static_cast<double>(now - start_ns_) / 1e9;
    std::vector<LiveProcess> processes;
    for (ProcessRecord &p : live) {
        auto [prev, fresh] = previous_rss_.try_emplace(p.pid, p.start_rss);
        const uint64_t previous = prev->second;
        prev->second = p.final_rss;
        processes.push_back({std::move(p), previous});
    }
    progress_.live(elapsed, processes, rows);
}

MetricsSnapshot Collector::metrics_snapshot()
{
    const uint64_t begin = monotonic_ns();
    const std::vector<mt_proc> procs = kernel_.read_procs();
    refresh_live(procs);
    MetricsSnapshot out;
    const uint32_t self = static_cast<uint32_t>(getpid());
    for (ProcessRecord &p : table_.live())
        if (p.pid != self) // -a: memtrace's own figures are its cost, below
            out.live.push_back(std::move(p));
    out.processes_seen = out.live.size() + table_.ended_count();
    out.total_peak_bytes = kernel_.total_peak().pages * page_size_;
    if (traces_functions())
        out.functions = build_function_records(function_inputs(procs));
    out.stats = current_stats();
    out.cost = self_cost();
    out.self_rss_bytes = ProcFs().status_kib(static_cast<pid_t>(self), "VmRSS").value_or(0) * 1024;
    out.elapsed_s = static_cast<double>(monotonic_ns() - start_ns_) / 1e9;
    out.collect_s = static_cast<double>(monotonic_ns() - begin) / 1e9;
    return out;
}

Collector::HitCost Collector::hit_cost(const TracedFunction &f) const
{
    if (!kernel_.run_time_stats())
        return {f.entry_cost_us, f.return_cost_us, false};
    const auto mean_us = [](const ProgramCost &c) {
        return c.run_count ? static_cast<double>(c.run_time_ns) / static_cast<double>(c.run_count) / 1000 : 0.0;
    };
    return {f.entry_trap_us + mean_us(kernel_.probe_program_cost(true)),
            f.return_trap_us + mean_us(kernel_.probe_program_cost(false)), true};
}

// Hot functions: probe hits per second, checked once a second in each
// process. The probes take hits x cost of the process's CPU time in that
// second (CPU, not wall time: on a busy machine it gets a part of a CPU), and
// the rest is its own work: it runs 1/(1 - share) slower.
void Collector::check_hot(uint64_t now)
{
    const double seconds = static_cast<double>(now - last_hot_check_) / 1e9;
    ProcFs procfs;
    for (const auto &[key, s] : kernel_.read_func_stats()) {
        HotSeen &seen = hits_seen_[{key.tgid, key.func}];
        const std::optional<double> cpu_s = procfs.cpu_seconds(static_cast<pid_t>(key.tgid));
        const double entries = static_cast<double>(s.entry_hits - seen.entries);
        const double returns = static_cast<double>(s.return_hits - seen.returns);
        // the first check: hits and CPU time since the process started
        const double cpu_window = cpu_s ? *cpu_s - seen.cpu_s.value_or(0) : 0;
        seen = {s.entry_hits, s.return_hits, cpu_s};
        const uint32_t func = key.func;
        const double rate = entries / seconds;
        if (func >= warned_hot_.size() || warned_hot_[func] || rate <= static_cast<double>(config_.hot_limit))
            continue;
        warned_hot_[func] = true;
        const HitCost cost = hit_cost(plan_.functions[func]);
        const double per_call = cost.entry_us + cost.return_us * (entries > 0 ? returns / entries : 1);
        const double probes_s = entries * per_call / 1e6;
        const double share = cpu_window > 0 ? probes_s / cpu_window : rate * per_call / 1e6;
        progress_.hot({function_name(func), rate, per_call, std::min(0.99, share), cost.measured});
    }
    last_hot_check_ = now;
}

Collected Collector::finish(Stop stop, const std::optional<CommandEnd> &command)
{
    if (plan_.exec_functions)
        plan_.exec_functions->stop_holding(); // the drain resumes those held meanwhile
    drain(); // exit records are written before a process becomes waitable
    if (!plan_.functions.empty())
        check_hot(monotonic_ns()); // a run shorter than the check's second is judged too
    const std::vector<mt_proc> final_procs = kernel_.read_procs();
    table_.apply_snapshot(figures_of(final_procs, units_));
    fill_cmdlines();
    if (stacks_) {
        for (const ProcessRecord &p : table_.live())
            stacks_->mappings_changed(p.pid);
        stacks_->after_drain();
    }
    if (command && command->reaped)
        table_.set_wait_result(command->pid, command->wait_status, command->maxrss_bytes);

    Collected out;
    CollectedRun &run = out.run;
    run.stop = stop;
    run.command = command;
    for (pid_t pid : plan_.pids)
        run.pids.push_back(static_cast<uint32_t>(pid));
    run.duration_s = static_cast<double>(monotonic_ns() - start_ns_) / 1e9;
    std::map<uint32_t, std::string> comms; // every process's, before the ended are trimmed
    if (stacks_ && config_.stacks != StackWeight::None)
        for (const ProcessRecord &p : table_.records())
            comms[p.pid] = p.comm; // the live process, or the last that ended
    table_.trim_ended();
    const uint32_t self = static_cast<uint32_t>(getpid());
    for (ProcessRecord &rec : table_.records())
        if (!(config_.mode == TraceMode::All && rec.pid == self))
            run.processes.push_back(std::move(rec));
    run.unlisted_programs = table_.unlisted_programs();
    fill_stats_and_functions(run, final_procs);
    run.cost = self_cost();
    if (stacks_ && config_.stacks != StackWeight::None) {
        out.stacks = stacks_->finish(comms, stack_cuts(final_procs));
        out.stacks->source_reader = plan_.source_reader;
        run.stacks_untracked = stacks_->untracked();
        run.stacks_by_dwarf = stacks_->unwound();
        run.stacks_cut_short = stacks_->cut_short();
        run.stack_copy_too_short = run.stacks_cut_short.count(unwind_end_name(UnwindEnd::StackTooShort));
    }
    finish_recording(run, final_procs);
    check_python_patterns();
    if (plan_.exec_functions)
        for (const std::string &line : plan_.exec_functions->never_matched())
            progress_.warning(line);
    return out;
}

// --stacks peak: each process's own peak moment; end: none (all it did).
std::map<uint32_t, uint64_t> Collector::stack_cuts(const std::vector<mt_proc> &final_procs)
{
    if (config_.stacks != StackWeight::Peak)
        return {};
    for (const mt_proc &p : final_procs)
        peak_ns_[p.tgid] = p.peak_ns;
    return peak_ns_;
}

TraceStats Collector::current_stats() const
{
    TraceStats stats = stats_from(kernel_.read_stats(), malformed_);
    stats.ended_not_kept = table_.ended_not_kept();
    stats.retsites_attached = plan_.probed_returns.size() - return_probes_failed_;
    stats.retsites_failed = return_probes_failed_;
    return stats;
}

// The functions' figures as the kernel side has them now; `procs`: the
// processes' figures read with them (open calls' peaks so far).
FunctionInputs Collector::function_inputs(const std::vector<mt_proc> &procs)
{
    FunctionInputs in;
    in.functions = functions_by_id();
    for (size_t id = 0; id < plan_.functions.size(); ++id) {
        const HitCost cost = hit_cost(plan_.functions[id]);
        in.functions[id].entry_cost_us = cost.entry_us;
        in.functions[id].return_cost_us = cost.return_us;
        in.functions[id].cost_measured = cost.measured;
    }
    in.totals = function_totals(kernel_.read_func_stats(), units_);
    in.open_calls = open_calls(kernel_.read_thread_frames(), kernel_.read_call_slots(), procs, units_);
    in.end_s = since_start(monotonic_ns());
    if (plan_.command)
        in.every_function_for = {static_cast<uint32_t>(*plan_.command)};
    else if (plan_.pids.size() == 1)
        in.every_function_for = {static_cast<uint32_t>(plan_.pids.front())};
    return in;
}

void Collector::fill_stats_and_functions(CollectedRun &run, const std::vector<mt_proc> &final_procs)
{
    run.stats = current_stats();
    const KernelTotalPeak total = kernel_.total_peak();
    run.total_peak = {total.pages * page_size_, total.ktime_ns ? units_.seconds(total.ktime_ns) : 0.0};
    if (!traces_functions())
        return;
    run.functions = function_inputs(final_procs);
    run.probes_attached = kernel_.probes_attached();
}

void measure_own_usage(SelfCost &cost)
{
    rusage own{};
    getrusage(RUSAGE_SELF, &own);
    cost.cpu_user_s = static_cast<double>(own.ru_utime.tv_sec) +
                      static_cast<double>(own.ru_utime.tv_usec) / 1e6;
    cost.cpu_system_s = static_cast<double>(own.ru_stime.tv_sec) +
                        static_cast<double>(own.ru_stime.tv_usec) / 1e6;
    cost.maxrss_bytes = static_cast<uint64_t>(own.ru_maxrss) * 1024;
}

SelfCost Collector::self_cost() const
{
    SelfCost cost;
    measure_own_usage(cost);
    cost.bpf_stats_enabled =
        kernel_.run_time_stats() || procfs_flag("/proc/sys/kernel/bpf_stats_enabled");
    const ProgramCost prog = kernel_.program_cost();
    cost.bpf_run_time_ns = prog.run_time_ns;
    cost.bpf_run_count = prog.run_count;
    return cost;
}

void Collector::finish_recording(CollectedRun &run, const std::vector<mt_proc> &final_procs)
{
    if (!recording_)
        return;
    // the interval each live process was in when tracing ended
    const double end_t = since_start(monotonic_ns());
    for (const mt_proc &p : final_procs)
        if (p.tl_slot) {
            const uint64_t rss = rss_pages(p);
            recording_->points.push_back(
                {p.tgid, end_t, rss * page_size_, std::max<uint64_t>(p.tl_max, rss) * page_size_});
        }
    for (const FunctionTotals &t : run.functions.totals)
        recording_->marks_dropped += t.marks_dropped;
    run.recording = std::move(recording_);
}

} // namespace memtrace
