// What a trace tells its user while it runs. The CLI shows it on stderr (and
// decides what -q and -v hide); tests capture it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "model/process.h"

namespace memtrace {

// A traced function called so often that its probes slow the program down.
struct HotFunction {
    std::string name;
    double calls_per_s = 0;
    double cost_per_call_us = 0; // its probes' cost per call
    double share = 0;            // of the program's time its probes take (0..0.99)
    bool measured = false;       // cost: trap measured at start + BPF run time measured now
};

// -i: a process as it is now, and its RSS at the previous interval.
struct LiveProcess {
    ProcessRecord now;
    uint64_t previous_rss = 0;
};

class Progress {
public:
    virtual ~Progress() = default;
    virtual void info(const std::string &line) = 0;    // what memtrace is doing; hidden by -q
    virtual void warning(const std::string &line) = 0; // something the user should act on
    virtual void detail(const std::string &line) = 0;  // shown with -v only
    virtual void hot(const HotFunction &function) = 0; // once per function
    // -i: the processes traced now, largest RSS first; at most `rows` of them
    // are worth showing (--top; 10 with -a).
    virtual void live(double elapsed_s, const std::vector<LiveProcess> &processes, size_t rows) = 0;
};

} // namespace memtrace
