#include "unwind/frame_pointers.h"

#include <cstring>

#include "symbols/elf_file.h"
#include "symbols/go_functions.h"

namespace memtrace {

FramePointers detect_frame_pointers(const ElfFile &elf)
{
    // Go keeps frame pointers on x86-64 (its prologues check the stack first:
    // "push %rbp" is not their first instruction), and has little CFI.
    if (is_go_program(elf))
        return FramePointers::Yes;
    static const uint8_t endbr64[] = {0xf3, 0x0f, 0x1e, 0xfa};
    static const uint8_t prologue[] = {0x55, 0x48, 0x89, 0xe5}; // push %rbp; mov %rsp,%rbp
    size_t looked = 0, with = 0;
    for (const ElfSymbol &f : elf.functions()) {
        if (f.ifunc || f.size < 32)
            continue; // tiny leaf functions skip the frame even with -fno-omit-frame-pointer
        auto code = elf.read(f.value, 12);
        if (!code)
            continue;
        const uint8_t *p = code->data();
        if (std::memcmp(p, endbr64, 4) == 0)
            p += 4;
        with += std::memcmp(p, prologue, 4) == 0;
        if (++looked == 200)
            break;
    }
    if (looked < 4)
        return FramePointers::Unknown;
    if (with * 2 >= looked)
        return FramePointers::Yes;
    if (with * 7 < looked)
        return FramePointers::No;
    return FramePointers::Unknown;
}

} // namespace memtrace
