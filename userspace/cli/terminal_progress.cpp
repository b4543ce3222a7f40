#include "cli/terminal_progress.h"

#include <cstdio>

#include "report/live_line.h"
#include "report/units.h"

namespace memtrace {

TerminalProgress::TerminalProgress(const TraceConfig &config, std::ostream &out)
    : quiet_(config.quiet), verbose_(config.verbose), out_(out)
{
}

void TerminalProgress::info(const std::string &line)
{
    if (!quiet_)
        out_ << "memtrace: " << line << '\n';
}

void TerminalProgress::warning(const std::string &line)
{
    out_ << "memtrace: warning: " << line << '\n';
}

void TerminalProgress::detail(const std::string &line)
{
    if (verbose_)
        out_ << "memtrace: " << line << '\n';
}

void TerminalProgress::hot(const HotFunction &f)
{
    char slower[32], text[200];
    // Past ~95%, the function's own time is the small remainder, within the
    // measurement's error: the factor is a lower bound.
    if (f.share >= 0.99)
        std::snprintf(slower, sizeof(slower), "100x or more");
    else
        std::snprintf(slower, sizeof(slower), "%s~%.1fx", f.share >= 0.95 ? "at least " : "", 1 / (1 - f.share));
    std::snprintf(text, sizeof(text),
                  " times/s: its probes (%.1f µs a call, %s) take ~%.0f%% of the "
                  "program's time: it runs %s slower than untraced",
                  f.cost_per_call_us, f.measured ? "measured" : "estimated", f.share * 100, slower);
    warning("'" + f.name + "' is called " + format_count(static_cast<uint64_t>(f.calls_per_s)) +
            text + ". Trace a less frequent caller, or raise --hot-limit");
}

void TerminalProgress::live(double elapsed_s, const ProcessRecord &now, uint64_t previous_rss)
{
    out_ << live_line(elapsed_s, now, previous_rss) << '\n';
}

} // namespace memtrace
