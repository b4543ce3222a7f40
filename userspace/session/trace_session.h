// The session stage: checks that fail before anything is loaded (privileges,
// BTF, targets, -f patterns), the command forked and held, the BPF side
// loaded and attached; later the command released, and ended as the run's
// stop asks. Hands the collector its plan and the kernel side.
#pragma once

#include <memory>
#include <optional>

#include "collect/collector.h"
#include "collect/kernel_side.h"
#include "collect/signal_inbox.h"
#include "model/collected_run.h"
#include "model/progress.h"
#include "model/trace_config.h"
#include "session/command.h"

namespace memtrace {

class BpfLoader;
class ExecProbes;

class TraceSession {
public:
    // Throws Error for bad input or failed set-up, with nothing left attached.
    // Create the SignalInbox first: the held command must not see Ctrl-C as
    // memtrace's death.
    TraceSession(const TraceConfig &config, Progress &progress);
    ~TraceSession();
    TraceSession(const TraceSession &) = delete;
    TraceSession &operator=(const TraceSession &) = delete;

    KernelSide &kernel();
    const CollectPlan &plan() const { return plan_; }

    // Lets the command exec. Throws Error if it could not.
    void start();
    // The command outlives the trace: -d ends it as timeout(1) does; after a
    // signal (most likely sent to it too, same terminal) it gets a moment.
    // Then it is reaped; one left running is said so.
    std::optional<CommandEnd> end(const Stop &stop, SignalInbox &signals);

private:
    const TraceConfig &config_;
    Progress &progress_;
    std::optional<HeldCommand> command_;
    std::unique_ptr<BpfLoader> loader_;
    std::unique_ptr<ExecProbes> exec_probes_; // uses loader_: declared after it, destroyed first
    CollectPlan plan_;
};

} // namespace memtrace
