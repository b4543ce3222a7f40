#include "symbols/file_pages.h"

#include <fcntl.h>
#include <link.h>
#include <sys/mman.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "symbols/modules.h"
#include "unique_fd.h"

namespace memtrace {

namespace {

using Ranges = std::vector<std::pair<uint64_t, uint64_t>>;

// The loaded segments of memtrace and its libraries (dlopen'ed ones too).
Ranges loaded_ranges()
{
    Ranges out;
    dl_iterate_phdr(
        [](dl_phdr_info *info, size_t, void *data) {
            auto *ranges = static_cast<Ranges *>(data);
            for (int i = 0; i < info->dlpi_phnum; ++i) {
                const ElfW(Phdr) &ph = info->dlpi_phdr[i];
                if (ph.p_type == PT_LOAD)
                    ranges->push_back({info->dlpi_addr + ph.p_vaddr, info->dlpi_addr + ph.p_vaddr + ph.p_memsz});
            }
            return 0;
        },
        &out);
    return out;
}

constexpr uint64_t kPresent = 1ull << 63;
constexpr uint64_t kFilePage = 1ull << 61; // file page or shared anonymous

uint64_t drop_in(int pagemap, const MapsEntry &e, uint64_t page)
{
    const uint64_t pages = (e.end - e.start) / page;
    std::vector<uint64_t> entries(pages);
    const ssize_t want = static_cast<ssize_t>(pages * sizeof(uint64_t));
    if (pread(pagemap, entries.data(), static_cast<size_t>(want),
              static_cast<off_t>(e.start / page * sizeof(uint64_t))) != want)
        return 0;
    uint64_t dropped = 0;
    for (uint64_t i = 0; i < pages;) {
        if ((entries[i] & (kPresent | kFilePage)) != (kPresent | kFilePage)) {
            ++i;
            continue;
        }
        uint64_t run = i;
        while (run < pages && (entries[run] & (kPresent | kFilePage)) == (kPresent | kFilePage))
            ++run;
        if (madvise(reinterpret_cast<void *>(e.start + i * page), (run - i) * page, MADV_DONTNEED) == 0)
            dropped += (run - i) * page;
        i = run;
    }
    return dropped;
}

} // namespace

bool droppable_mapping(const MapsEntry &e, const Ranges &loaded)
{
    if (e.path.empty() || e.path[0] != '/' || e.perms.size() < 4 || e.perms[3] != 'p' ||
        e.perms[2] == 'x' || e.end <= e.start)
        return false;
    for (const auto &[start, end] : loaded)
        if (e.start < end && start < e.end)
            return false;
    return true;
}

uint64_t drop_file_pages()
{
    std::ifstream in("/proc/self/maps");
    std::stringstream text;
    text << in.rdbuf();
    UniqueFd pagemap(open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC));
    if (pagemap.get() < 0)
        return 0;
    const uint64_t page = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
    const Ranges loaded = loaded_ranges();
    uint64_t dropped = 0;
    for (const MapsEntry &e : parse_maps(text.str()))
        if (droppable_mapping(e, loaded))
            dropped += drop_in(pagemap.get(), e, page);
    return dropped;
}

} // namespace memtrace
