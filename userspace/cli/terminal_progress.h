// Progress on stderr, as the options ask: -q hides what memtrace is doing,
// -v adds details; warnings and -i lines always show.
#pragma once

#include <ostream>

#include "model/progress.h"
#include "model/trace_config.h"

namespace memtrace {

class TerminalProgress final : public Progress {
public:
    TerminalProgress(const TraceConfig &config, std::ostream &out);
    void info(const std::string &line) override;
    void warning(const std::string &line) override;
    void detail(const std::string &line) override;
    void hot(const HotFunction &function) override;
    void live(double elapsed_s, const ProcessRecord &now, uint64_t previous_rss) override;

private:
    bool quiet_;
    bool verbose_;
    std::ostream &out_;
};

} // namespace memtrace
