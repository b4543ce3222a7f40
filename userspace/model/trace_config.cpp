#include "model/trace_config.h"

namespace memtrace {

const char *unwind_name(UnwindMode mode)
{
    switch (mode) {
    case UnwindMode::FramePointers: return "fp";
    case UnwindMode::Dwarf: return "dwarf";
    case UnwindMode::Auto: return "auto";
    }
    return "?";
}

const char *weight_name(StackWeight weight)
{
    switch (weight) {
    case StackWeight::None: return "none";
    case StackWeight::Touch: return "touch";
    case StackWeight::Map: return "map";
    case StackWeight::Peak: return "peak";
    case StackWeight::End: return "end";
    }
    return "?";
}

} // namespace memtrace
