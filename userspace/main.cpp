// memtrace: kernel events -> in-kernel aggregation -> userspace model -> reports.
//
// A trace is five stages joined by plain data:
//   config (cli/) -> session (session/: checks, probes, held command, BPF loaded)
//   -> collect (collect/: records and maps until the targets end)
//   -> build (model/: the run report; stacks named by collect/stack_naming)
//   -> write (commands/trace_outputs, report/).
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <iostream>

#include "cli/options.h"
#include "cli/terminal_progress.h"
#include "collect/collector.h"
#include "collect/signal_inbox.h"
#include "collect/stack_naming.h"
#include "commands/commands.h"
#include "commands/trace_outputs.h"
#include "error.h"
#include "model/run_builder.h"
#include "session/trace_session.h"

using namespace memtrace;

namespace {

int trace(const Options &options)
{
    const TraceConfig &config = options.trace;
    TraceOutputs outputs(options);
    TerminalProgress progress(config, std::cerr, config.interval_s && TerminalProgress::stderr_is_terminal());
    SignalInbox signals; // before the command is forked

    TraceSession session(config, progress);
    Collector collector(session.kernel(), config, session.plan(), progress);
    if (RecordingStream *stream = outputs.recording_stream())
        collector.stream_recording(*stream);
    if (MetricsService *metrics = outputs.metrics_service())
        collector.serve_metrics(*metrics);
    collector.seed();
    session.start();
    const Stop stop = collector.run(signals);
    const std::optional<CommandEnd> command = session.end(stop, signals);
    Collected collected = collector.finish(stop, command);

    std::optional<NamedStacks> stacks;
    if (collected.stacks) {
        stacks = name_stacks(*collected.stacks, config);
        measure_own_usage(collected.run.cost); // naming the stacks is memtrace's work too
    }
    RunResult run = build_run(std::move(collected.run), std::move(stacks), config);
    if (!outputs.write(run) && run.exit_code == 0)
        return 1;
    return run.exit_code;
}

// Stacks keep a descriptor per mapped file of the running processes (-a: hundreds).
void raise_file_limit()
{
    rlimit files{};
    if (getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
        files.rlim_cur = files.rlim_max;
        setrlimit(RLIMIT_NOFILE, &files);
    }
}

// A closed stdin, stdout or stderr would be the number the next open() returns:
// the table would go into the --json file. Each is held by /dev/null opened the
// wrong way round, so writes to a closed stdout still fail (EBADF) as before.
// In ascending order, open() takes the lowest free number: the closed one.
void hold_closed_standard_fds()
{
    for (int fd : {STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO})
        if (fcntl(fd, F_GETFD) == -1 && errno == EBADF)
            open("/dev/null", fd == STDIN_FILENO ? O_WRONLY : O_RDONLY);
}

int run_command_line(std::vector<std::string> args)
{
    if (!args.empty() && args.front() == "plot")
        return plot_command({args.begin() + 1, args.end()});
    if (!args.empty() && args.front() == "report")
        return report_command({args.begin() + 1, args.end()});
    if (!args.empty() && args.front() == "record")
        args = record_arguments({args.begin() + 1, args.end()}, default_recording_name());
    auto parsed = parse_options(args);
    if (auto *early = std::get_if<EarlyExit>(&parsed)) {
        std::cout << early->text;
        return 0;
    }
    const Options &options = std::get<Options>(parsed);
    use_debug_cache(options);
    if (!options.list_funcs.empty())
        return list_functions(options, std::cout);
    return trace(options);
}

} // namespace

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN); // a closed stdout is a write error, not a silent death
    hold_closed_standard_fds();
    raise_file_limit();
    try {
        return run_command_line(std::vector<std::string>(argv + 1, argv + argc));
    } catch (const Error &e) {
        std::cerr << "memtrace: " << e.what() << '\n';
        return e.exit_code();
    } catch (const std::exception &e) {
        std::cerr << "memtrace: internal error: " << e.what() << '\n';
        return 1;
    }
}
