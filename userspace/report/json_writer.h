// The end-of-run report for programs. Keys keep their meaning across versions;
// later features add keys. Sizes are bytes.
#pragma once

#include <nlohmann/json.hpp>
#include <ostream>

#include "model/run_report.h"

namespace memtrace {

void write_json(std::ostream &out, const RunReport &report);
nlohmann::ordered_json report_json(const RunReport &report);

// The inverse, for `memtrace report FILE`: a report read back from its JSON.
// Throws Error on JSON that is not a memtrace report.
RunReport report_from_json(const nlohmann::ordered_json &json);

} // namespace memtrace
