// Progress on stderr, as the options ask: -q hides what memtrace is doing,
// -v adds details; warnings and -i lines always show. On a terminal, -i is a
// top-like table redrawn in place; elsewhere (a pipe, a file) plain lines.
#pragma once

#include <ostream>

#include "model/progress.h"
#include "model/trace_config.h"

namespace memtrace {

class TerminalProgress final : public Progress {
public:
    // `terminal`: `out` is a terminal that understands ANSI escapes.
    TerminalProgress(const TraceConfig &config, std::ostream &out, bool terminal = false);
    void info(const std::string &line) override;
    void warning(const std::string &line) override;
    void detail(const std::string &line) override;
    void hot(const HotFunction &function) override;
    void live(double elapsed_s, const std::vector<LiveProcess> &processes, size_t rows) override;

    // Whether stderr is a terminal to draw the live table on (not TERM=dumb).
    static bool stderr_is_terminal();

private:
    void message(const std::string &line); // below a live table, which then starts afresh
    bool terminal_;
    size_t drawn_ = 0; // lines of the live table on the screen, above the cursor
    bool quiet_;
    bool verbose_;
    std::ostream &out_;
};

} // namespace memtrace
