#include "session/trace_session.h"

#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>

#include "collect/procfs.h"
#include "error.h"
#include "session/functions.h"
#include "session/loader.h"
#include "session/preflight.h"

namespace memtrace {
namespace {

LoaderConfig loader_config(const TraceConfig &config, bool functions)
{
    LoaderConfig lc;
    lc.trace_all = config.mode == TraceMode::All;
    lc.follow_children = config.children;
    lc.max_procs = config.max_procs;
    lc.verbose = config.verbose;
    lc.functions = functions;
    lc.seed_running = config.mode != TraceMode::Command;
    lc.stacks = config.stacks;
    lc.sample_bytes = config.sample_bytes;
    lc.kernel_stacks = config.kernel_stacks;
    lc.per_thread = config.per_thread;
    lc.unwind = config.unwind;
    lc.stack_copy = config.python_frames_only() ? 0 : config.stack_bytes;
    lc.lines = config.lines;
    if (config.timeline)
        lc.timeline_ns = static_cast<uint64_t>(config.resolution_ms * 1e6);
    return lc;
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
    // --lines reads Python functions from stack samples: no per-call tracing needed
    if (!config.python_functions.empty() && !config.lines)
        throw Error("-f py:" + config.python_functions.front() +
                    ": Python function tracing is being built; --folded names Python functions today");
    std::vector<FunctionProbe> probes;
    if (!config.functions.empty())
        probes = plan_functions(config.functions, config, plan_.executable, plan_.pids, procfs);
    plan_.functions = traced_functions(probes);
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

    loader_ = std::make_unique<BpfLoader>(loader_config(config, !probes.empty()));
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
    const int pidfd = open_pidfd(pid); // -1: reaped already (cannot be: memtrace reaps it here)
    if (stop.cause == StopCause::Duration) {
        kill(pid, SIGTERM);
        if (!wait_for_end(pidfd, 2000, signals)) {
            kill(pid, SIGKILL);
            wait_for_end(pidfd, 2000, signals);
        }
    } else if (stop.cause == StopCause::Signal) {
        wait_for_end(pidfd, 1000, signals);
    }
    if (pidfd >= 0)
        close(pidfd);

    CommandEnd end;
    end.pid = static_cast<uint32_t>(pid);
    rusage usage{};
    if (wait4(pid, &end.wait_status, WNOHANG, &usage) == pid) {
        end.reaped = true;
        end.maxrss_bytes = static_cast<uint64_t>(usage.ru_maxrss) * 1024;
    } else {
        progress_.info("stopped tracing; '" + config_.command.front() + "' (pid " +
                       std::to_string(pid) + ") keeps running, untraced");
    }
    return end;
}

} // namespace memtrace
