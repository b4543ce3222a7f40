// libFuzzer: recordings (.mtrace) are files anyone can hand to memtrace report
// and plot. Read from arbitrary bytes, they are refused with an Error or read,
// then plotted and tabled: nothing else may be thrown, nothing may crash.
#include <cstddef>
#include <cstdint>
#include <sstream>
#include <string>

#include "error.h"
#include "report/json_writer.h"
#include "report/recording.h"
#include "report/svg_plot.h"
#include "report/table_writer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    std::istringstream in(std::string(reinterpret_cast<const char *>(data), size));
    memtrace::Recording recording;
    try {
        recording = memtrace::read_recording(in, "fuzz.mtrace");
    } catch (const memtrace::Error &) {
        return 0;
    }
    memtrace::Recording plotted = recording; // its text out, so "nan" can only be a number
    plotted.label = "x";
    for (auto &mark : plotted.marks)
        mark.function = "f";
    const std::string svg = memtrace::plot_svg({plotted}, {});
    if (svg.find("nan") != std::string::npos || svg.find("inf") != std::string::npos ||
        svg.size() > (1u << 20))
        __builtin_trap(); // NaN coordinates, or an image not bounded by its pixels
    memtrace::plot_svg({recording}, {});
    std::ostringstream table;
    if (recording.cut_off) {
        memtrace::write_points_table(table, recording);
    } else {
        memtrace::write_table(table, memtrace::report_from_json(recording.report));
    }
    std::ostringstream mprof;
    memtrace::write_mprof(mprof, recording);
    return 0;
}
