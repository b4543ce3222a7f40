// Bash completion for memtrace, from the option table: options, their values
// (--stacks touch|map|peak|end, --unwind fp|dwarf|auto), files, PIDs, the
// command after --, and the subcommands' own options.
#pragma once

#include <string>

#include "cli/option_docs.h"

namespace memtrace {

std::string bash_completion(const ManualDoc &doc);

} // namespace memtrace
