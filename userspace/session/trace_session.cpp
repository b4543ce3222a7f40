#include "session/trace_session.h"

#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <set>
#include <vector>

#include "collect/procfs.h"
#include "collect/python_functions.h"
#include "collect/signal_inbox.h"
#include "error.h"
#include "session/exec_probes.h"
#include "session/functions.h"
#include "session/probe_calibration.h"
#include "session/loader.h"
#include "session/preflight.h"

namespace memtrace {
namespace {

// Patterns left waiting for programs exec'd later: not under -a without a
// MODULE (every new program in the system would be held), nor beside py:
// (Python functions' ids follow the native ones, fixed at start).
void check_waiting(const std::vector<WaitingPattern> &waiting, const TraceConfig &config,
                   Progress &progress)
{
    for (const auto &[p, why] : waiting) {
        if (config.mode == TraceMode::All && p.module.empty())
            throw Error("no function matches '" + p.text + "': with -a, name its program or "
                        "library (-f MODULE:" + p.symbol + ")");
        if (!config.python_functions.empty())
            throw Error("-f '" + p.text + "' names no function in the target yet (a program it "
                        "execs later may have it), which cannot be combined with -f py: yet: "
                        "give the file's path (-f /path/to/program:" + p.symbol + ")");
        progress.info("-f '" + p.text + "' waits for a program the traced processes exec (" + why + ")");
    }
}

LoaderConfig loader_config(const TraceConfig &config, bool probes, uint32_t native_functions)
{
    LoaderConfig lc;
    lc.trace_all = config.mode == TraceMode::All;
    lc.follow_children = config.children;
    lc.max_procs = config.max_procs;
    lc.verbose = config.verbose;
    lc.uprobes = probes;
    lc.python_patterns = kernel_python_patterns(config.python_functions);
    lc.python_func_base = native_functions;
    lc.functions = probes || !lc.python_patterns.empty();
    lc.seed_running = config.mode != TraceMode::Command;
    lc.stacks = config.stacks;
    lc.sample_bytes = config.sample_bytes;
    lc.kernel_stacks = config.kernel_stacks;
    lc.per_thread = config.per_thread;
    lc.unwind = config.unwind;
    lc.stack_copy = config.python_frames_only() ? 0 : config.stack_bytes;
    lc.lines = config.lines;
    lc.python_frames = config.python_frames;
    if (config.timeline)
        lc.timeline_ns = static_cast<uint64_t>(config.resolution_ms * 1e6);
    return lc;
}

// -d: the command and everything it started get SIGTERM (and SIGCONT, should
// one be stopped), as timeout(1) signals its process group; what is left after
// 2 s gets SIGKILL. memtrace is their subreaper, so orphans stay below it, and
// a job that left the process group is ended too. A signal to memtrace meanwhile
// cuts the wait short.
void end_command_tree(SignalInbox &signals)
{
    const ProcFs procfs;
    const pid_t self = getpid();
    for (int sig : {SIGTERM, SIGKILL}) {
        const uint64_t until = monotonic_ns() + 2000000000ull;
        std::set<pid_t> signalled;
        std::vector<pid_t> left = procfs.live_descendants(self);
        while (!left.empty() && monotonic_ns() < until) {
            for (pid_t pid : left)
                if (signalled.insert(pid).second) {
                    kill(pid, sig);
                    if (sig != SIGKILL)
                        kill(pid, SIGCONT);
                }
            pollfd inbox{signals.fd(), POLLIN, 0};
            if (poll(&inbox, 1, 20) > 0 && signals.take())
                break;
            left = procfs.live_descendants(self);
        }
        if (left.empty())
            return;
    }
}

// The probes' cost, measured: BPF run time while tracing, traps now.
TrapCosts measured_probe_costs(BpfLoader &loader, Progress &progress)
{
    if (!loader.enable_run_time_stats())
        progress.detail("BPF run-time statistics refused: probe costs are design.md's estimates");
    TrapCosts traps = measure_trap_costs(loader);
    progress.detail("uprobe trap costs (µs): nop5 " + std::to_string(traps.nop5_us) + ", emulated " +
                    std::to_string(traps.emulated_us) + ", single-stepped " +
                    std::to_string(traps.single_step_us) + ", ret " + std::to_string(traps.ret_us) +
                    (traps.measured ? "" : " (not all measured)"));
    return traps;
}

} // namespace

TraceSession::TraceSession(const TraceConfig &config, Progress &progress)
    : config_(config), progress_(progress)
{
    ProcFs procfs;
    check_privileges();
    check_kernel_btf();

    // Bad targets fail here, before anything is loaded.
    if (config.mode == TraceMode::Command) {
        const char *path_env = getenv("PATH");
        plan_.executable = resolve_command(config.command.front(), path_env ? path_env : "");
    }
    if (config.mode == TraceMode::Pids) {
        std::vector<std::string> notes;
        plan_.pids = resolve_pids(config.pids, procfs, notes);
        for (const auto &note : notes)
            progress.info(note);
    }
    // Functions: found in the target's files now, so a bad pattern fails
    // before anything is loaded.
    if (!config.python_functions.empty()) {
        kernel_python_patterns(config.python_functions); // a pattern the kernel cannot match fails now
        if (config.mode == TraceMode::Pids && !config.children)
            check_python_pids(config.python_functions.front(), plan_.pids);
    }
    std::vector<FunctionProbe> probes;
    // With --children (or -a), a pattern may name a program a target execs
    // later. Without, a pattern that names nothing is refused now (a typo
    // said at once), as a MODULE nowhere to be found.
    std::vector<WaitingPattern> waiting;
    const bool may_exec = config.children || config.mode == TraceMode::All;
    if (!config.functions.empty())
        probes = plan_functions(config.functions, config, plan_.executable, plan_.pids, procfs,
                                may_exec ? &waiting : nullptr);
    check_waiting(waiting, config, progress);
    if (config.lines)
        if (std::optional<RunAs> who = sudo_invoker())
            plan_.source_reader = SourceReader{who->uid, who->groups.empty() ? std::vector<gid_t>{who->gid}
                                                                             : who->groups};

    if (ensure_tracefs())
        progress.detail("mounted tracefs at /sys/kernel/tracing");

    // Forked before loading BPF: memtrace is small now, so the child's brief
    // pre-exec copy of it weighs little in its ru_maxrss.
    if (config.mode == TraceMode::Command) {
        command_.emplace(config.command, plan_.executable,
                         config.as_root ? std::nullopt : sudo_invoker());
        plan_.command = command_->pid();
    }

    LoaderConfig lc = loader_config(config, !probes.empty() || !waiting.empty(),
                                    static_cast<uint32_t>(probes.size()));
    lc.hold_execs = !waiting.empty();
    loader_ = std::make_unique<BpfLoader>(lc);
    const TrapCosts traps =
        (!probes.empty() || !waiting.empty()) ? measured_probe_costs(*loader_, progress) : TrapCosts{};
    plan_.functions = traced_functions(probes, traps);
    if (command_)
        loader_->add_target(static_cast<uint32_t>(command_->pid()), /*held=*/true);
    for (pid_t pid : plan_.pids)
        loader_->add_target(static_cast<uint32_t>(pid));
    // With a pid filter the kernel plants breakpoints only in the targets;
    // children and -a need them in every process using the file.
    if (!config.children && command_)
        plan_.probe_pids = {command_->pid()};
    else if (!config.children && config.mode == TraceMode::Pids)
        plan_.probe_pids = plan_.pids;
    if (!probes.empty()) {
        loader_->attach_probes(probe_sites(probes), plan_.probe_pids);
        // return addresses probed up front: those found while tracing skip them
        for (const FunctionProbe &f : probes)
            for (uint64_t off : f.retaddr_offsets)
                plan_.probed_returns.emplace(f.module, off);
    }
    if (!waiting.empty()) {
        exec_probes_ = std::make_unique<ExecProbes>(*loader_, std::move(waiting), config,
                                                    plan_.probe_pids, plan_.executable, progress);
        plan_.exec_functions = exec_probes_.get();
    }
}

TraceSession::~TraceSession() = default;

KernelSide &TraceSession::kernel()
{
    return *loader_;
}

void TraceSession::start()
{
    if (command_)
        command_->release(); // throws if exec failed
}

std::optional<CommandEnd> TraceSession::end(const Stop &stop, SignalInbox &signals)
{
    if (!command_)
        return std::nullopt;
    const pid_t pid = command_->pid();
    if (stop.cause == StopCause::Duration) {
        end_command_tree(signals);
    } else if (stop.cause == StopCause::Signal) {
        const int pidfd = open_pidfd(pid); // -1: reaped already (cannot be: memtrace reaps it here)
        wait_for_end(pidfd, 1000, signals);
        if (pidfd >= 0)
            close(pidfd);
    }

    CommandEnd end;
    end.pid = static_cast<uint32_t>(pid);
    rusage usage{};
    if (wait4(pid, &end.wait_status, WNOHANG, &usage) == pid) {
        end.reaped = true;
        end.maxrss_bytes = static_cast<uint64_t>(usage.ru_maxrss) * 1024;
        reap_orphans(-1);
    } else {
        progress_.info("stopped tracing; '" + config_.command.front() + "' (pid " +
                       std::to_string(pid) + ") keeps running, untraced");
    }
    return end;
}

} // namespace memtrace
