#include "report/live_screen.h"

#include <algorithm>
#include <sstream>

#include "report/text_table.h"
#include "report/units.h"

namespace memtrace {
namespace {

// Cut to `width` columns, counting a UTF-8 sequence as one (a comm, a unit like µs).
std::string cut_to_width(const std::string &line, size_t width)
{
    size_t columns = 0;
    for (size_t i = 0; i < line.size(); ++i) {
        if ((static_cast<unsigned char>(line[i]) & 0xc0) == 0x80)
            continue;
        if (++columns > width)
            return line.substr(0, i);
    }
    return line;
}

} // namespace

std::vector<std::string> live_screen(double elapsed_s, const std::vector<LiveProcess> &processes,
                                     size_t rows, size_t width)
{
    std::vector<const LiveProcess *> order;
    for (const LiveProcess &p : processes)
        order.push_back(&p);
    std::stable_sort(order.begin(), order.end(), [](const LiveProcess *a, const LiveProcess *b) {
        return a->now.peak_rss > b->now.peak_rss;
    });
    TextTable table;
    for (const char *h : {"PID", "COMM", "RSS", "CHANGE", "GROWTH", "PEAK RSS", "VM", "FAULTS"})
        table.add_column(h, std::string(h) == "COMM" ? TextTable::Align::Left : TextTable::Align::Right);
    for (size_t i = 0; i < order.size() && i < rows; ++i) {
        const ProcessRecord &p = order[i]->now;
        const auto signed_change = [](uint64_t now, uint64_t before) {
            return format_signed_bytes(static_cast<int64_t>(now) - static_cast<int64_t>(before));
        };
        table.add_row({std::to_string(p.pid), terminal_safe(p.comm), format_bytes(p.final_rss),
                       signed_change(p.final_rss, order[i]->previous_rss),
                       signed_change(p.final_rss, p.start_rss), format_bytes(p.peak_rss),
                       format_bytes(p.final_vm), format_count(p.page_faults)});
    }
    std::ostringstream text;
    text << "memtrace: " << format_seconds(elapsed_s) << ", " << format_count(processes.size())
         << (processes.size() == 1 ? " process" : " processes") << " traced";
    if (order.size() > rows)
        text << ", the " << format_count(rows) << " largest by peak RSS shown";
    text << "; Ctrl-C stops and writes the results\n";
    table.write(text);
    std::vector<std::string> lines;
    std::istringstream in(text.str());
    for (std::string line; std::getline(in, line);)
        lines.push_back(cut_to_width(line, width));
    return lines;
}

std::string redraw(const std::vector<std::string> &lines, size_t previous)
{
    std::string out;
    if (previous)
        out += "\r\x1b[" + std::to_string(previous) + "A"; // back to the first line drawn
    for (const std::string &line : lines)
        out += line + "\x1b[K\n"; // the rest of a longer old line cleared
    out += "\x1b[J";                // old lines below cleared
    return out;
}

} // namespace memtrace
