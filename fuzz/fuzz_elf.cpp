// libFuzzer: the ELF reader on arbitrary bytes must never crash or hang.
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "error.h"
#include "symbols/debug_cache.h"
#include "symbols/elf_file.h"
#include "symbols/go_functions.h"
#include "unwind/frame_pointers.h"

namespace {

// The debug cache's copier on the same bytes, as a debug file a user put next
// to a binary: a copy or none, never a crash, a hang or a file left behind.
void copy_as_debug_file(const uint8_t *data, size_t size)
{
    static std::string dir = [] {
        char pattern[] = "/tmp/memtrace-fuzz-XXXXXX";
        return std::string(mkdtemp(pattern)) + "/cache";
    }();
    int fd = memfd_create("fuzz-debug", MFD_CLOEXEC);
    if (fd < 0)
        return;
    if (write(fd, data, size) == static_cast<ssize_t>(size))
        if (auto copy = memtrace::uncompressed_debug_copy("/proc/self/fd/" + std::to_string(fd), "00ff", dir))
            unlink(copy->c_str());
    close(fd);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    copy_as_debug_file(data, size);
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
