// --folded FILE: one line per distinct stack, "root;...;leaf BYTES": root first,
// exactly one space, an integer; lines sorted.
#pragma once

#include <ostream>

#include "model/folded.h"

namespace memtrace {

void write_folded(std::ostream &out, const FoldedStacks &stacks);

} // namespace memtrace
