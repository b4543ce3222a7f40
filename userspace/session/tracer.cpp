#include "session/tracer.h"

#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <map>
#include <optional>
#include <set>

#include "collect/records.h"
#include "collect/dwarf_stacks.h"
#include "collect/stacks.h"
#include "symbols/elf_file.h"
#include "unwind/frame_pointers.h"
#include "symbols/module_index.h"
#include "symbols/modules.h"
#include "symbols/stack_namer.h"
#include "symbols/symbolizer.h"
#include "unwind/unwind_hints.h"
#include "error.h"
#include "model/process_table.h"
#include "report/live_line.h"
#include "report/json_writer.h"
#include "report/units.h"
#include "session/command.h"
#include "session/functions.h"
#include "session/loader.h"
#include "session/preflight.h"
#include "session/procfs.h"

namespace memtrace {
namespace {

uint64_t now_ns()
{
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts); // the clock of bpf_ktime_get_ns()
    return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

// SIGINT/SIGTERM/SIGHUP/SIGQUIT arrive on a file descriptor instead of killing
// memtrace, so results are still written. They stay blocked until exit.
class SignalInbox {
public:
    SignalInbox()
    {
        sigemptyset(&set_);
        for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT})
            sigaddset(&set_, sig);
        sigprocmask(SIG_BLOCK, &set_, nullptr);
        fd_ = signalfd(-1, &set_, SFD_CLOEXEC | SFD_NONBLOCK);
        if (fd_ < 0)
            throw Error(std::string("cannot create a signalfd: ") + std::strerror(errno));
    }
    ~SignalInbox() { close(fd_); }
    SignalInbox(const SignalInbox &) = delete;
    SignalInbox &operator=(const SignalInbox &) = delete;

    int fd() const { return fd_; }
    std::optional<int> take()
    {
        signalfd_siginfo info{};
        if (read(fd_, &info, sizeof(info)) == static_cast<ssize_t>(sizeof(info)))
            return static_cast<int>(info.ssi_signo);
        return std::nullopt;
    }

private:
    sigset_t set_{};
    int fd_ = -1;
};

// A process whose end memtrace waits for: the command, or a -p target.
struct Watched {
    pid_t pid = 0;
    int pidfd = -1; // -1 once it has ended
};

int open_pidfd(pid_t pid)
{
    // glibc 2.36's <sys/pidfd.h> lacks extern "C" for C++: call the kernel directly.
    return static_cast<int>(syscall(SYS_pidfd_open, pid, 0)); // -1 (ESRCH) if already gone
}

// Waits up to timeout_ms for a pidfd to become readable (the process ended).
// Returns early, with false, if a signal arrives.
bool wait_for_end(int pidfd, int timeout_ms, SignalInbox &signals)
{
    if (pidfd < 0)
        return true;
    pollfd fds[2] = {{pidfd, POLLIN, 0}, {signals.fd(), POLLIN, 0}};
    uint64_t deadline = now_ns() + static_cast<uint64_t>(timeout_ms) * 1000000ull;
    for (;;) {
        uint64_t now = now_ns();
        if (now >= deadline)
            return false;
        int left = static_cast<int>((deadline - now) / 1000000ull) + 1;
        int n = poll(fds, 2, left);
        if (n < 0 && errno != EINTR)
            return false;
        if (fds[0].revents)
            return true;
        if (fds[1].revents) {
            signals.take();
            return false;
        }
    }
}

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

std::string describe_signal_stop(int sig)
{
    const char *abbrev = sigabbrev_np(sig);
    return std::string("interrupted by SIG") + (abbrev ? abbrev : "?");
}

} // namespace

TraceOutcome run_trace(const Options &opt)
{
    ProcFs procfs;
    check_privileges();
    check_kernel_btf();

    // Bad targets fail here, before anything is loaded.
    std::string executable;
    std::vector<pid_t> pids;
    if (opt.mode == TraceMode::Command) {
        const char *path_env = getenv("PATH");
        executable = resolve_command(opt.command.front(), path_env ? path_env : "");
    }
    if (opt.mode == TraceMode::Pids) {
        std::vector<std::string> notes;
        pids = resolve_pids(opt.pids, procfs, notes);
        if (!opt.quiet)
            for (const auto &note : notes)
                std::cerr << "memtrace: " << note << '\n';
    }
    // Functions: found in the target's files now, so a bad pattern fails before
    // anything is loaded.
    std::vector<FunctionProbe> function_probes;
    if (!opt.functions.empty())
        function_probes = plan_functions(opt.functions, opt, executable, pids, procfs);

    if (ensure_tracefs() && opt.verbose)
        std::cerr << "memtrace: mounted tracefs at /sys/kernel/tracing\n";

    SignalInbox signals;
    // Forked before loading BPF: memtrace is small now, so the child's brief
    // pre-exec copy of it weighs little in its ru_maxrss.
    std::optional<HeldCommand> command;
    if (opt.mode == TraceMode::Command)
        command.emplace(opt.command, executable,
                        opt.as_root ? std::nullopt : sudo_invoker());

    LoaderConfig config;
    config.trace_all = opt.mode == TraceMode::All;
    config.follow_children = opt.children;
    config.max_procs = opt.max_procs;
    config.verbose = opt.verbose;
    config.functions = !function_probes.empty();
    config.stacks = opt.stacks;
    config.sample_bytes = opt.sample_bytes;
    config.kernel_stacks = opt.kernel_stacks;
    config.per_thread = opt.per_thread;
    config.unwind = opt.unwind;
    config.stack_copy = opt.stack_bytes;
    if (!opt.timeline_path.empty())
        config.timeline_ns = static_cast<uint64_t>(opt.resolution_ms * 1e6);
    BpfTracer tracer(config);
    if (command)
        tracer.add_target(static_cast<uint32_t>(command->pid()), /*held=*/true);
    for (pid_t pid : pids)
        tracer.add_target(static_cast<uint32_t>(pid));
    // With a pid filter the kernel plants breakpoints only in the targets;
    // children and -a need them in every process using the file.
    std::vector<pid_t> probe_pids;
    std::set<std::pair<std::string, uint64_t>> retsites_attached; // (file, offset)
    uint64_t retsites_failed = 0;
    if (!opt.children && command)
        probe_pids = {command->pid()};
    else if (!opt.children && opt.mode == TraceMode::Pids)
        probe_pids = pids;
    if (!function_probes.empty()) {
        tracer.attach_probes(probe_sites(function_probes), probe_pids);
        // return addresses probed up front: the run-time ones skip them
        for (const FunctionProbe &f : function_probes)
            for (uint64_t off : f.retaddr_offsets)
                retsites_attached.emplace(f.module, off);
    }

    const uint64_t page_size = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
    const uint64_t start_ns = now_ns();
    timespec wall{};
    clock_gettime(CLOCK_REALTIME, &wall);
    const double start_unix = static_cast<double>(wall.tv_sec) + static_cast<double>(wall.tv_nsec) / 1e9;
    ProcessTable table(page_size, start_ns);
    std::optional<Recording> recording;
    if (!opt.timeline_path.empty()) {
        recording.emplace();
        recording->resolution = opt.resolution_ms / 1000.0;
        recording->start_unix = start_unix;
    }
    auto since_start = [&](uint64_t ns) {
        return (static_cast<double>(ns) - static_cast<double>(start_ns)) / 1e9;
    };
    if (opt.mode == TraceMode::All)
        table.limit_ended(20000);
    uint64_t malformed = 0;
    // Stacks are named from the files processes map: read their mappings at
    // attach, after exec and after each executable mmap, while they are alive.
    std::optional<ModuleIndex> modules;
    std::set<uint32_t> to_snapshot;
    // Calls that leave by tail call return through the tail callee: a probe at
    // their return address (attached while tracing) ends them on time.
    std::vector<RetsiteRecord> wanted_retsites;
    // --unwind dwarf|auto: copied stacks, unwound in userspace.
    std::optional<DwarfUnwinder> unwinder;
    std::optional<DwarfStacks> dwarf_stacks;
    UnwindHints unwind_hints;
    const bool copies = opt.stacks && opt.unwind != MT_UNWIND_FP;
    // Reads a process's mappings; under auto, tells the kernel side where its
    // code lacks frame pointers.
    auto snapshot_process = [&](uint32_t pid) {
        const uint64_t gen = opt.unwind == MT_UNWIND_AUTO ? tracer.code_gen(pid) : 0;
        if (!modules->snapshot(static_cast<pid_t>(pid)))
            return;
        if (opt.unwind == MT_UNWIND_AUTO)
            if (const auto *maps = modules->mappings(static_cast<pid_t>(pid))) {
                mt_unwind_hint hint = unwind_hints.for_process(*maps);
                hint.code_gen = gen;
                tracer.set_unwind_hint(pid, hint);
            }
    };
    if (opt.stacks) {
        modules.emplace();
        if (copies) {
            unwinder.emplace(*modules, opt.debug_dirs);
            dwarf_stacks.emplace(*modules, *unwinder, snapshot_process, [&] {
                for (uint32_t pid : to_snapshot)
                    snapshot_process(pid);
                to_snapshot.clear();
            });
        }
        if (!executable.empty()) {
            const char *env = getenv("LD_LIBRARY_PATH");
            for (const Module &m :
                 program_modules(executable, LibrarySearch::from_environment(env ? env : "")))
                modules->add_file(m.open_path);
        }
    }
    const BpfTracer::RecordHandler on_record = [&](std::span<const std::byte> bytes) {
        try {
            Record rec = decode_record(bytes);
            if (auto *exec = std::get_if<ExecRecord>(&rec)) {
                table.apply(*exec);
                if (modules)
                    to_snapshot.insert(exec->pid);
            } else if (auto *exit = std::get_if<ExitRecord>(&rec)) {
                table.apply(*exit);
            } else if (auto *mapped = std::get_if<ExecMapRecord>(&rec)) {
                if (modules)
                    to_snapshot.insert(mapped->pid);
            } else if (auto *stack = std::get_if<StackRecord>(&rec)) {
                if (dwarf_stacks)
                    dwarf_stacks->add(std::move(*stack));
            } else if (auto *site = std::get_if<RetsiteRecord>(&rec)) {
                wanted_retsites.push_back(*site);
            } else if (auto *point = std::get_if<PointRecord>(&rec)) {
                if (recording)
                    recording->points.push_back({point->pid, since_start(point->ts_ns),
                                                 point->rss_end * page_size,
                                                 point->rss_max * page_size});
            } else if (auto *mark = std::get_if<MarkRecord>(&rec)) {
                if (recording && mark->func < function_probes.size()) {
                    const FunctionProbe &f = function_probes[mark->func];
                    recording->marks.push_back(
                        {mark->pid, mark->tid, f.demangled.empty() ? f.symbol : f.demangled,
                         since_start(mark->entry_ns), since_start(mark->exit_ns),
                         mark->base * page_size, mark->peak * page_size,
                         mark->rss_end * page_size, mark->returned});
                }
            } else {
                ++malformed;
            }
        } catch (...) {
            ++malformed; // nothing may throw through libbpf
        }
    };
    auto attach_retsites = [&] {
        for (const RetsiteRecord &site : wanted_retsites) {
            auto where = file_offset_at(static_cast<pid_t>(site.pid), site.ret_addr);
            if (!where || site.func >= function_probes.size())
                continue;
            if (!retsites_attached.emplace(where->path, where->offset).second)
                continue; // this file offset is probed already (another process, same code)
            const FunctionProbe &f = function_probes[site.func];
            ProbeSite probe{where->open_path, where->offset, MT_COOKIE(MT_PROBE_RETADDR, site.func),
                            false, "the return address of '" + (f.demangled.empty() ? f.symbol : f.demangled) + "'"};
            try {
                tracer.attach_probes({probe}, probe_pids);
            } catch (const Error &e) {
                ++retsites_failed; // such calls still end, when their thread is next seen
                if (opt.verbose)
                    std::cerr << "memtrace: " << e.what() << '\n';
            }
        }
        wanted_retsites.clear();
    };
    auto take_snapshots = [&] {
        for (uint32_t pid : to_snapshot)
            snapshot_process(pid);
        to_snapshot.clear();
        if (dwarf_stacks)
            dwarf_stacks->unwind_pending();
    };
    auto fill_cmdlines = [&] {
        for (uint32_t pid : table.live_pids_without_cmdline())
            if (auto line = procfs.cmdline(static_cast<pid_t>(pid)))
                table.set_cmdline(pid, *line);
    };

    if (opt.mode != TraceMode::Command) {
        tracer.seed_running();
        table.apply_snapshot(tracer.read_procs());
        fill_cmdlines();
        if (modules)
            for (const ProcessRecord &p : table.live())
                snapshot_process(p.pid);
    }
    std::vector<Watched> watched;
    for (pid_t pid : pids) {
        const ProcessRecord *rec = table.find(static_cast<uint32_t>(pid));
        if (!rec || rec->exited)
            throw Error("pid " + std::to_string(pid) + " exited while memtrace was attaching");
        watched.push_back({pid, open_pidfd(pid)});
    }
    if (command) {
        command->release(); // throws if exec failed
        watched.push_back({command->pid(), open_pidfd(command->pid())});
    }

    std::string functions_note;
    if (!function_probes.empty())
        functions_note = ", " + std::to_string(function_probes.size()) +
                         (function_probes.size() == 1 ? " function" : " functions") + " (" +
                         std::to_string(tracer.probes_attached()) + " probes)";
    if (!opt.quiet && opt.mode == TraceMode::Pids) {
        std::cerr << "memtrace: tracing";
        for (pid_t pid : pids) {
            const ProcessRecord *rec = table.find(static_cast<uint32_t>(pid));
            std::cerr << " pid " << pid << " (" << (rec ? rec->comm : "?") << ")";
        }
        std::cerr << functions_note << "; Ctrl-C to stop\n";
    } else if (!opt.quiet && opt.mode == TraceMode::All) {
        std::cerr << "memtrace: tracing every process (" << table.live().size() << " running"
                  << functions_note << "); Ctrl-C to stop\n";
    }

    // The loop: records as they come, the end of the watched processes,
    // signals, the progress interval and the duration.
    std::optional<uint64_t> deadline;
    if (opt.duration_s)
        deadline = start_ns + static_cast<uint64_t>(*opt.duration_s * 1e9);
    std::optional<uint64_t> next_tick;
    if (opt.interval_s)
        next_tick = start_ns + static_cast<uint64_t>(*opt.interval_s * 1e9);
    std::map<uint32_t, uint64_t> previous_rss;
    // Hot functions: probe hits per second, checked once a second.
    std::optional<uint64_t> next_hot_check;
    if (!function_probes.empty())
        next_hot_check = start_ns + 1000000000ull;
    std::map<uint32_t, uint64_t> hits_seen;
    std::vector<bool> warned_hot(function_probes.size(), false);
    uint64_t last_hot_check = start_ns;
    auto check_hot = [&](uint64_t now) {
        std::map<uint32_t, uint64_t> hits;
        for (const auto &[key, s] : tracer.read_func_stats())
            hits[key.func] += s.entry_hits;
        double seconds = static_cast<double>(now - last_hot_check) / 1e9;
        for (const auto &[func, total] : hits) {
            double rate = static_cast<double>(total - hits_seen[func]) / seconds;
            if (func < warned_hot.size() && !warned_hot[func] &&
                rate > static_cast<double>(opt.hot_limit)) {
                warned_hot[func] = true;
                const FunctionProbe &f = function_probes[func];
                double per_call = probe_cost_us(f.entry_insn) + probe_cost_us(ProbeInsn::SingleStep);
                // probes take rate x cost of each second: the program runs 1/(1 - share) slower
                double share = std::min(0.99, rate * per_call / 1e6);
                char text[160];
                std::snprintf(text, sizeof(text),
                              " times/s: its probes (~%.0f µs a call) take ~%.0f%% of the "
                              "program's time (~%.1fx slower)",
                              per_call, share * 100, 1 / (1 - share));
                std::cerr << "memtrace: warning: '" << (f.demangled.empty() ? f.symbol : f.demangled)
                          << "' is called " << format_count(static_cast<uint64_t>(rate)) << text
                          << ". Trace a less frequent caller, or raise --hot-limit\n";
            }
            hits_seen[func] = total;
        }
        last_hot_check = now;
    };
    std::optional<int> stop_signal;
    bool duration_elapsed = false;
    int command_status = 0;
    rusage command_usage{};
    bool command_reaped = false;

    auto reap_command = [&] {
        if (!command || command_reaped)
            return;
        if (wait4(command->pid(), &command_status, WNOHANG, &command_usage) == command->pid())
            command_reaped = true;
    };
    auto all_ended = [&] {
        return std::all_of(watched.begin(), watched.end(), [](auto &w) { return w.pidfd < 0; });
    };

    // Stack copies, timeline points and call marks do not wake memtrace until
    // their ring is a quarter full (lazy_wakeup in bpf/memtrace.bpf.c): read
    // them at this pace meanwhile.
    std::optional<uint64_t> next_drain;
    if (copies || !opt.timeline_path.empty())
        next_drain = now_ns() + MT_DRAIN_MS * 1000000ull;

    while (!(opt.mode != TraceMode::All && all_ended())) {
        std::vector<pollfd> fds{{tracer.ring_fd(), POLLIN, 0}, {signals.fd(), POLLIN, 0}};
        for (const Watched &w : watched)
            if (w.pidfd >= 0)
                fds.push_back({w.pidfd, POLLIN, 0});
        uint64_t now = now_ns();
        uint64_t wake = UINT64_MAX;
        if (deadline)
            wake = std::min(wake, *deadline);
        if (next_tick)
            wake = std::min(wake, *next_tick);
        if (next_hot_check)
            wake = std::min(wake, *next_hot_check);
        if (next_drain)
            wake = std::min(wake, *next_drain);
        int timeout = wake == UINT64_MAX ? -1
                      : wake <= now     ? 0
                                        : static_cast<int>(std::min<uint64_t>((wake - now) / 1000000ull + 1, 60000));
        int n = poll(fds.data(), fds.size(), timeout);
        if (n < 0 && errno != EINTR)
            throw Error(std::string("poll failed: ") + std::strerror(errno));

        const bool drain_due = next_drain && now_ns() >= *next_drain;
        if (fds[0].revents || drain_due) {
            if (next_drain)
                next_drain = now_ns() + MT_DRAIN_MS * 1000000ull;
            tracer.consume(on_record);
            if (modules)
                take_snapshots();
            if (!wanted_retsites.empty())
                attach_retsites();
        }
        if (fds[1].revents) {
            if ((stop_signal = signals.take()))
                break;
        }
        for (size_t i = 2; i < fds.size(); ++i) {
            if (!fds[i].revents)
                continue;
            for (Watched &w : watched) {
                if (w.pidfd == fds[i].fd) {
                    close(w.pidfd);
                    w.pidfd = -1;
                }
            }
        }
        reap_command();

        now = now_ns();
        if (next_tick && now >= *next_tick) {
            table.apply_snapshot(tracer.read_procs());
            fill_cmdlines();
            std::vector<ProcessRecord> live = table.live();
            std::stable_sort(live.begin(), live.end(),
                             [](auto &a, auto &b) { return a.final_rss > b.final_rss; });
            size_t rows = opt.top.value_or(opt.mode == TraceMode::All ? 10 : live.size());
            double elapsed = static_cast<double>(now - start_ns) / 1e9;
            for (size_t i = 0; i < live.size() && i < rows; ++i) {
                auto [prev, fresh] = previous_rss.try_emplace(live[i].pid, live[i].start_rss);
                std::cerr << live_line(elapsed, live[i], prev->second) << '\n';
                previous_rss[live[i].pid] = live[i].final_rss;
            }
            while (*next_tick <= now)
                *next_tick += static_cast<uint64_t>(*opt.interval_s * 1e9);
        }
        if (next_hot_check && now >= *next_hot_check) {
            check_hot(now);
            *next_hot_check = now + 1000000000ull;
        }
        if (deadline && now >= *deadline) {
            duration_elapsed = true;
            break;
        }
    }

    // The command outlives the trace: -d ends it like timeout(1) does; on a
    // signal it most likely got the same one (same terminal), so give it a moment.
    Watched *cmd_watch = command ? &watched.back() : nullptr;
    if (cmd_watch && cmd_watch->pidfd >= 0) {
        if (duration_elapsed) {
            kill(command->pid(), SIGTERM);
            if (!wait_for_end(cmd_watch->pidfd, 2000, signals)) {
                kill(command->pid(), SIGKILL);
                wait_for_end(cmd_watch->pidfd, 2000, signals);
            }
        } else if (stop_signal) {
            wait_for_end(cmd_watch->pidfd, 1000, signals);
        }
        reap_command();
    }
    for (Watched &w : watched)
        if (w.pidfd >= 0)
            close(w.pidfd);

    // Drain: exit records are written before a process becomes waitable.
    tracer.consume(on_record);
    std::vector<mt_proc> final_procs = tracer.read_procs();
    table.apply_snapshot(final_procs);
    fill_cmdlines();
    if (modules) {
        for (const ProcessRecord &p : table.live())
            to_snapshot.insert(p.pid);
        take_snapshots();
    }
    if (command_reaped)
        table.set_wait_result(static_cast<uint32_t>(command->pid()), command_status,
                              static_cast<uint64_t>(command_usage.ru_maxrss) * 1024);

    TraceOutcome outcome;
    RunReport &report = outcome.report;
    report.mode = opt.mode;
    report.command = opt.command;
    report.command_pid = command ? static_cast<uint32_t>(command->pid()) : 0;
    for (pid_t pid : pids)
        report.pids.push_back(static_cast<uint32_t>(pid));
    report.duration_s = static_cast<double>(now_ns() - start_ns) / 1e9;
    report.top = opt.top;
    if (!function_probes.empty()) {
        FunctionInputs in;
        in.functions = traced_functions(function_probes);
        in.stats = tracer.read_func_stats();
        in.open_frames = tracer.read_thread_frames();
        in.slots = tracer.read_call_slots();
        for (const mt_proc &p : final_procs)
            in.current_rss.emplace_back(p.tgid, rss_pages(p));
        in.page_size = page_size;
        in.trace_start_ns = start_ns;
        in.now_ns = now_ns();
        if (command)
            in.every_function_for = {static_cast<uint32_t>(command->pid())};
        else if (pids.size() == 1)
            in.every_function_for = {static_cast<uint32_t>(pids.front())};
        report.functions = build_function_records(in);
        report.probes_attached = tracer.probes_attached();
    }
    report.stats = stats_from(tracer.read_stats(), malformed);
    report.stats.ended_not_kept = table.ended_not_kept();
    report.stats.retsites_attached = retsites_attached.size() - retsites_failed;
    report.stats.retsites_failed = retsites_failed;

    rusage own{};
    getrusage(RUSAGE_SELF, &own);
    report.cost.cpu_user_s = static_cast<double>(own.ru_utime.tv_sec) +
                             static_cast<double>(own.ru_utime.tv_usec) / 1e6;
    report.cost.cpu_system_s = static_cast<double>(own.ru_stime.tv_sec) +
                               static_cast<double>(own.ru_stime.tv_usec) / 1e6;
    report.cost.maxrss_bytes = static_cast<uint64_t>(own.ru_maxrss) * 1024;
    report.cost.bpf_stats_enabled = procfs_flag("/proc/sys/kernel/bpf_stats_enabled");
    BpfTracer::ProgramCost prog_cost = tracer.program_cost();
    report.cost.bpf_run_time_ns = prog_cost.run_time_ns;
    report.cost.bpf_run_count = prog_cost.run_count;
    const uint32_t self = static_cast<uint32_t>(getpid());
    for (ProcessRecord &rec : table.records())
        if (!(opt.mode == TraceMode::All && rec.pid == self))
            report.processes.push_back(std::move(rec));

    if (modules) {
        RawStacks raw;
        bool unknown_build_id = false;
        for (const auto &[key, bytes] : tracer.read_stack_bytes()) {
            raw.samples.push_back({key.tgid, key.tid, key.user_stack, key.kernel_stack, bytes});
            if (key.user_stack >= 0 && !raw.user.count(key.user_stack)) {
                std::vector<RawUserFrame> frames;
                for (const UserStackFrame &f : tracer.read_user_stack(key.user_stack)) {
                    RawUserFrame frame;
                    frame.value = f.value;
                    if (f.has_build_id) {
                        frame.kind = RawUserFrame::BuildId;
                        static const char digits[] = "0123456789abcdef";
                        for (uint8_t b : f.build_id) {
                            frame.build_id += digits[b >> 4];
                            frame.build_id += digits[b & 15];
                        }
                        unknown_build_id |= modules->by_build_id(frame.build_id) == nullptr;
                    }
                    frames.push_back(std::move(frame));
                }
                raw.user.emplace(key.user_stack, std::move(frames));
            }
            if (key.kernel_stack >= 0 && !raw.kernel.count(key.kernel_stack))
                raw.kernel.emplace(key.kernel_stack, tracer.read_kernel_stack(key.kernel_stack));
        }
        if (dwarf_stacks)
            dwarf_stacks->merge_into(raw);
        for (const RawStackSample &sample : raw.samples) // kernel stacks of DWARF samples
            if (sample.kernel_id >= 0 && !raw.kernel.count(sample.kernel_id))
                raw.kernel.emplace(sample.kernel_id, tracer.read_kernel_stack(sample.kernel_id));
        if (opt.per_thread)
            for (auto &[tid, name] : tracer.read_thread_names())
                raw.thread_names[tid] = name;
        if (unknown_build_id) // a process gone before it could be read: try the library dirs
            modules->scan_directories(LibrarySearch().default_dirs);

        Symbolizer symbolizer(opt.debug_dirs);
        std::optional<KernelSymbols> kernel_symbols;
        if (opt.kernel_stacks)
            kernel_symbols.emplace();
        StackNamer namer(*modules, symbolizer, kernel_symbols ? &*kernel_symbols : nullptr);
        FoldOptions fold;
        fold.per_pid = opt.per_pid;
        fold.per_thread = opt.per_thread;
        fold.trim_to_frame_pointer_roots = opt.unwind == MT_UNWIND_AUTO;
        fold.comm_of = [&](uint32_t pid) {
            const ProcessRecord *rec = table.find(pid);
            return rec ? rec->comm : std::string();
        };
        report.folded = fold_stacks(raw, namer, fold);

        StacksSummary st;
        st.kind = opt.stacks == MT_STACKS_MAP ? "map" : "touch";
        st.path = opt.folded_path == "-" ? "stdout" : opt.folded_path;
        st.sample_bytes = opt.sample_bytes;
        st.samples = report.stats.stack_samples;
        st.folded_total = report.folded.total();
        for (const ProcessRecord &p : report.processes)
            st.exact_total += opt.stacks == MT_STACKS_MAP ? p.mapped : p.touched;
        st.user_stacks_lost = report.stats.user_stacks_lost;
        st.kernel_stacks_lost = report.stats.kernel_stacks_lost;
        st.samples_lost = report.stats.stack_bytes_full;
        st.unwind = opt.unwind == MT_UNWIND_FP ? "fp" : opt.unwind == MT_UNWIND_DWARF ? "dwarf" : "auto";
        st.stack_bytes = copies ? opt.stack_bytes : 0;
        st.by_dwarf = dwarf_stacks ? dwarf_stacks->unwound() : 0;
        st.copies_lost = report.stats.stack_copy_drops;
        st.by_frame_pointers = st.samples - std::min(st.samples, report.stats.stack_copies + st.copies_lost);
        if (dwarf_stacks)
            st.cut_short = dwarf_stacks->cut_short();
        if (opt.unwind == MT_UNWIND_FP) // the others unwind such code with its CFI
            for (const auto &[open_path, shown] : namer.files_seen()) {
                try {
                    if (detect_frame_pointers(ElfFile(open_path)) == FramePointers::No)
                        st.without_frame_pointers.push_back(shown);
                } catch (...) {
                }
            }
        report.stacks = std::move(st);
    }

    if (recording) {
        // the interval each live process was in when tracing ended
        double end_t = since_start(now_ns());
        for (const mt_proc &p : final_procs)
            if (p.tl_slot) {
                uint64_t rss = rss_pages(p);
                recording->points.push_back(
                    {p.tgid, end_t, rss * page_size, std::max<uint64_t>(p.tl_max, rss) * page_size});
            }
        std::stable_sort(recording->points.begin(), recording->points.end(),
                         [](const auto &a, const auto &b) { return a.t < b.t; });
        std::stable_sort(recording->marks.begin(), recording->marks.end(),
                         [](const auto &a, const auto &b) { return a.start < b.start; });
        for (const auto &[key, s] : tracer.read_func_stats())
            recording->marks_dropped += s.marks_dropped;
    }

    if (stop_signal)
        report.end_reason = describe_signal_stop(*stop_signal);
    else if (duration_elapsed)
    {
        char text[64];
        std::snprintf(text, sizeof(text), "stopped after -d %g s", *opt.duration_s);
        report.end_reason = text;
    }
    else if (opt.mode == TraceMode::Pids)
        report.end_reason = pids.size() == 1 ? "it exited" : "all exited";

    if (recording) {
        recording->duration = report.duration_s;
        recording->command = opt.command;
        if (command) {
            recording->main_pid = static_cast<uint32_t>(command->pid());
            // the program's name and its arguments: short enough for a legend
            for (size_t i = 0; i < opt.command.size(); ++i)
                recording->label +=
                    (i ? " " + opt.command[i]
                       : std::filesystem::path(opt.command[i]).filename().string());
        } else if (!pids.empty()) {
            recording->main_pid = static_cast<uint32_t>(pids.front());
            const ProcessRecord *rec = table.find(recording->main_pid);
            recording->label = rec && !rec->cmdline.empty() ? rec->cmdline
                                                            : "pid " + std::to_string(pids.front());
        } else {
            recording->label = "every process";
        }
        for (const ProcessRecord &p : report.processes)
            recording->processes.push_back(
                {p.pid, p.ppid, p.comm, p.cmdline, p.start_s, p.end_s ? *p.end_s : -1.0});
        recording->report = report_json(report);
        outcome.recording = std::move(recording);
    }
    if (command) {
        if (command_reaped)
            outcome.exit_code = WIFEXITED(command_status) ? WEXITSTATUS(command_status)
                                                          : 128 + WTERMSIG(command_status);
        else {
            outcome.exit_code = 128 + stop_signal.value_or(SIGTERM);
            if (!opt.quiet)
                std::cerr << "memtrace: stopped tracing; '" << opt.command.front() << "' (pid "
                          << command->pid() << ") keeps running, untraced\n";
        }
    }
    return outcome;
}

} // namespace memtrace
