#include "report/live_line.h"

#include <cstdio>

#include "report/text_table.h"
#include "report/units.h"

namespace memtrace {

std::string live_line(double elapsed_s, const ProcessRecord &p, uint64_t previous_rss)
{
    char stamp[32];
    std::snprintf(stamp, sizeof(stamp), "[%7.1fs]", elapsed_s);
    int64_t change = static_cast<int64_t>(p.final_rss) - static_cast<int64_t>(previous_rss);
    std::string line = std::string(stamp) + ' ' + std::to_string(p.pid) + ' ' + terminal_safe(p.comm) +
                       "  rss " + format_bytes(p.final_rss) + " (" + format_signed_bytes(change) +
                       ")  peak " + format_bytes(p.peak_rss) + "  vm " + format_bytes(p.final_vm) +
                       "  faults " + format_count(p.page_faults);
    if (p.exited)
        line += "  [exited]";
    return line;
}

} // namespace memtrace
