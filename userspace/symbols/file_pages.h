// memtrace reads ELF files (symbol tables, CFI, debug files) through private
// mappings (libelf's ELF_C_READ_MMAP): each page touched stays in memtrace's
// RSS until the file is closed, and under -a files stay open for as long as
// some process maps them. drop_file_pages() gives those pages back: the page
// cache keeps them, the next touch maps them again (a minor fault).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace memtrace {

struct MapsEntry;

// Of the mappings of memtrace itself (/proc/self/maps), those whose pages may
// be dropped: private, of a file, not executable, and not part of a loaded
// object (memtrace, its libraries: `loaded` ranges, [start, end)).
bool droppable_mapping(const MapsEntry &e, const std::vector<std::pair<uint64_t, uint64_t>> &loaded);

// Drops the resident pages of droppable mappings that are still the file's
// (never written: /proc/self/pagemap says file page), never a page written
// through a private mapping. Call it from the thread that uses libelf: the
// only writer of such mappings. Returns the bytes dropped.
uint64_t drop_file_pages();

} // namespace memtrace
