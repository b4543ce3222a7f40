// libFuzzer: the ELF reader on arbitrary bytes must never crash or hang.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "error.h"
#include "symbols/elf_file.h"
#include "symbols/go_functions.h"
#include "unwind/frame_pointers.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    try {
        memtrace::ElfFile elf("fuzz", std::vector<char>(data, data + size));
        elf.build_id();
        elf.debuglink();
        elf.needed();
        elf.search_path();
        elf.has_symtab();
        elf.is_shared_object();
        for (const auto &f : elf.functions()) {
            elf.file_offset(f.value);
            elf.read(f.value, f.size < 4096 ? f.size : 4096);
        }
        for (const auto &seg : elf.segments())
            elf.vaddr_of(seg.offset);
        memtrace::detect_frame_pointers(elf);
        if (auto go = memtrace::GoFunctions::read(elf))
            for (const auto &seg : elf.segments())
                go->name_at(seg.vaddr + seg.filesz / 2);
    } catch (const memtrace::Error &) {
        // a refused file is fine; a crash is not
    }
    return 0;
}
