// memtrace plot: memory over time as a self-contained SVG (mprof plot's view):
// one line per recording, overlaid to compare runs, each peak marked with its
// value, the calls of traced functions as labelled brackets.
#pragma once

#include <string>
#include <vector>

#include "model/timeline.h"

namespace memtrace {

struct PlotOptions {
    std::string title;     // "" : from the recordings' labels
    bool functions = true; // brackets for traced calls
    int width = 960;
    int height = 540;
};

std::string plot_svg(const std::vector<Recording> &recordings, const PlotOptions &options);

// Axis ticks from 0 to at least `max`: steps of 1, 2, 2.5 or 5 x 10^k, about
// `target` of them.
std::vector<double> nice_ticks(double max, int target);

// "12", "2.5", "0.25": a tick label without trailing zeros.
std::string tick_label(double value);

} // namespace memtrace
