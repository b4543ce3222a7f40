// Separate debug files: where distributions put the symbols they strip.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace memtrace {

class ElfFile;

// The debug file for `binary`: by build-id (DIR/.build-id/ab/cdef....debug in each
// debug directory), then by .gnu_debuglink (next to the binary, in its .debug/,
// and under each debug directory). A build-id candidate must carry the same id.
std::optional<std::string> find_debug_file(const ElfFile &binary,
                                           const std::vector<std::string> &debug_dirs);

} // namespace memtrace
