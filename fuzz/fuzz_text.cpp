// libFuzzer: the text parsers (/proc/PID/maps, perf maps, kallsyms-like lines,
// -f patterns, demangling) on arbitrary bytes must never crash.
#include <cstddef>
#include <cstdint>
#include <string>

#include "error.h"
#include "symbols/demangle.h"
#include "probes/function_pattern.h"
#include "symbols/modules.h"
#include "symbols/symbolizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    std::string text(reinterpret_cast<const char *>(data), size);
    memtrace::parse_maps(text);
    memtrace::PerfMap map = memtrace::PerfMap::parse(text);
    map.name_at(0x1000);
    memtrace::without_parameters(memtrace::demangle(text));
    try {
        for (const auto &p : memtrace::parse_function_patterns(text))
            memtrace::symbol_matches(p.symbol, text, text);
    } catch (const memtrace::Error &) {
    }
    return 0;
}
