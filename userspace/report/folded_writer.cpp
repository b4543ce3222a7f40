#include "report/folded_writer.h"

namespace memtrace {

void write_folded(std::ostream &out, const FoldedStacks &stacks)
{
    stacks.each([&](const std::string &stack, uint64_t bytes) { out << stack << ' ' << bytes << '\n'; });
}

} // namespace memtrace
