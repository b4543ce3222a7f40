// --listen: /metrics in Prometheus' text exposition format (version 0.0.4):
// HELP and TYPE lines, then samples; units in the names (_bytes, _seconds),
// counters ending in _total. Label values escaped as the format says.
#pragma once

#include <ostream>
#include <string>

#include "model/metric_series.h"
#include "model/metrics_snapshot.h"

namespace memtrace {

inline constexpr const char *kMetricsContentType = "text/plain; version=0.0.4; charset=utf-8";

void write_metrics(std::ostream &out, const MetricsSnapshot &snapshot, const MetricSeries &series);

// A label value as the format wants it: backslash, double quote and newline
// escaped; bytes that are not UTF-8 replaced by U+FFFD.
std::string metric_label_value(const std::string &text);

} // namespace memtrace
