// One compact progress line per process for --interval (stderr).
#pragma once

#include <string>

#include "model/process.h"

namespace memtrace {

// "[   2.0s] 3050 memwork  rss 120.3 MiB (+20.0 MiB)  peak 250.0 MiB  vm 300.0 MiB  faults 12,345"
// `previous_rss` is the RSS at the previous line, for the change.
std::string live_line(double elapsed_s, const ProcessRecord &proc, uint64_t previous_rss);

} // namespace memtrace
