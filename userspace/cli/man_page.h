// memtrace.1: the manual page, in roff (man(7)), from the option table.
#pragma once

#include <string>

#include "cli/option_docs.h"

namespace memtrace {

std::string man_page(const ManualDoc &doc);

} // namespace memtrace
