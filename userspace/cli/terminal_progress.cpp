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
    char text[160];
    std::snprintf(text, sizeof(text),
                  " times/s: its probes (~%.0f µs a call) take ~%.0f%% of the "
                  "program's time (~%.1fx slower)",
                  f.cost_per_call_us, f.share * 100, 1 / (1 - f.share));
    warning("'" + f.name + "' is called " + format_count(static_cast<uint64_t>(f.calls_per_s)) +
            text + ". Trace a less frequent caller, or raise --hot-limit");
}

void TerminalProgress::live(double elapsed_s, const ProcessRecord &now, uint64_t previous_rss)
{
    out_ << live_line(elapsed_s, now, previous_rss) << '\n';
}

} // namespace memtrace
