// elfutils handles with one owner: ended when the owner goes.
#pragma once

#include <elfutils/libdwfl.h>
#include <libelf.h>

#include <memory>

namespace memtrace {

struct ElfEnd {
    void operator()(Elf *elf) const { elf_end(elf); }
};
using ElfPtr = std::unique_ptr<Elf, ElfEnd>;

struct DwflEnd {
    void operator()(Dwfl *dwfl) const { dwfl_end(dwfl); }
};
using DwflPtr = std::unique_ptr<Dwfl, DwflEnd>;

} // namespace memtrace
