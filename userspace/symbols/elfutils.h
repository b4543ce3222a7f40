// What memtrace's readers of elfutils share: handles with one owner (ended
// when the owner goes), and where libdwfl looks for debug files.
#pragma once

#include <elfutils/libdwfl.h>
#include <libelf.h>

#include <memory>
#include <string>
#include <vector>

namespace memtrace {

struct ElfEnd {
    void operator()(Elf *elf) const { elf_end(elf); }
};
using ElfPtr = std::unique_ptr<Elf, ElfEnd>;

struct DwflEnd {
    void operator()(Dwfl *dwfl) const { dwfl_end(dwfl); }
};
using DwflPtr = std::unique_ptr<Dwfl, DwflEnd>;

// libdwfl's search path (Dwfl_Callbacks::debuginfo_path): "-" skips CRC
// checks, ".debug" is the binary's own .debug/ directory, then the debug roots
// (build-id and path layouts).
inline std::string dwfl_debuginfo_path(const std::vector<std::string> &debug_dirs)
{
    std::string path = "-:.debug";
    for (const auto &dir : debug_dirs)
        path += ":" + dir;
    return path;
}

} // namespace memtrace
