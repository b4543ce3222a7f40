#include "cli/terminal_progress.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "report/live_line.h"
#include "report/live_screen.h"
#include "report/units.h"

namespace memtrace {

TerminalProgress::TerminalProgress(const TraceConfig &config, std::ostream &out, bool terminal)
    : terminal_(terminal), quiet_(config.quiet), verbose_(config.verbose), out_(out)
{
}

bool TerminalProgress::stderr_is_terminal()
{
    const char *term = std::getenv("TERM");
    return isatty(STDERR_FILENO) && term && *term && std::strcmp(term, "dumb") != 0;
}

void TerminalProgress::message(const std::string &line)
{
    out_ << line << '\n';
    drawn_ = 0;
}

void TerminalProgress::info(const std::string &line)
{
    if (!quiet_)
        message("memtrace: " + line);
}

void TerminalProgress::warning(const std::string &line)
{
    message("memtrace: warning: " + line);
}

void TerminalProgress::detail(const std::string &line)
{
    if (verbose_)
        message("memtrace: " + line);
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

void TerminalProgress::live(double elapsed_s, const std::vector<LiveProcess> &processes, size_t rows)
{
    if (!terminal_) {
        for (size_t i = 0; i < processes.size() && i < rows; ++i)
            out_ << live_line(elapsed_s, processes[i].now, processes[i].previous_rss) << '\n';
        return;
    }
    winsize size{};
    if (ioctl(STDERR_FILENO, TIOCGWINSZ, &size) != 0 || size.ws_col == 0 || size.ws_row == 0)
        size = {24, 80, 0, 0};
    // The title, the header and a line for the cursor stay on the screen with the rows.
    const size_t fit = size.ws_row > 4 ? size.ws_row - 3u : 1u;
    const std::vector<std::string> lines = live_screen(elapsed_s, processes, std::min(rows, fit), size.ws_col);
    out_ << redraw(lines, drawn_) << std::flush;
    drawn_ = lines.size();
}

} // namespace memtrace
