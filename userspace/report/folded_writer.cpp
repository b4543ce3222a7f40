#include "report/folded_writer.h"

namespace memtrace {

void write_folded(std::ostream &out, const FoldedStacks &stacks)
{
    for (const FoldedLine &line : stacks.lines())
        out << line.stack << ' ' << line.bytes << '\n';
}

} // namespace memtrace
