// Does a file's code keep frame pointers? Stacks are walked by frame pointer:
// through code without them (GCC's -O2 default, Debian's libc) they are cut short.
#pragma once

namespace memtrace {

class ElfFile;

enum class FramePointers { Yes, No, Unknown };

// Looks at the prologues of up to 200 of its functions: "push %rbp; mov %rsp,%rbp"
// (after an optional endbr64) in most of them means frame pointers.
FramePointers detect_frame_pointers(const ElfFile &elf);

} // namespace memtrace
