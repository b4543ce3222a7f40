// Separate debug files: where distributions put the symbols they strip.
#pragma once

#include <elfutils/libdwfl.h>

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
// The same, from the binary's path, build-id (hex, "" if none) and debuglink.
std::optional<std::string> find_debug_file(const std::string &binary_path, const std::string &build_id,
                                           const std::optional<std::string> &debuglink,
                                           const std::vector<std::string> &debug_dirs);

// A Dwfl_Callbacks::find_debuginfo that opens only regular files, without
// blocking (libdwfl's own opens a FIFO named by a debuglink and waits forever).
// The module's userdata (dwfl_module_info) must point to the debug directories
// (a std::vector<std::string>), or be null for none.
int find_debuginfo_nonblocking(Dwfl_Module *mod, void **userdata, const char *modname,
                               Dwarf_Addr base, const char *file_name, const char *debuglink_file,
                               GElf_Word debuglink_crc, char **debuginfo_file_name);
// Points the module's userdata to `debug_dirs` (which must outlive the module).
void set_debug_dirs(Dwfl_Module *mod, const std::vector<std::string> &debug_dirs);

} // namespace memtrace
