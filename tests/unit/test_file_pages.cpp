#include <catch2/catch.hpp>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "symbols/file_pages.h"
#include "symbols/modules.h"
#include "temp_dir.h"

using namespace memtrace;

namespace {

MapsEntry entry(uint64_t start, uint64_t end, const std::string &perms, const std::string &path)
{
    MapsEntry e;
    e.start = start;
    e.end = end;
    e.perms = perms;
    e.path = path;
    return e;
}

// Pages of [p, p + n) in memtrace's page tables (/proc/self/pagemap "present").
size_t present_pages(const char *p, size_t pages)
{
    int fd = open("/proc/self/pagemap", O_RDONLY);
    REQUIRE(fd >= 0);
    size_t present = 0;
    for (size_t i = 0; i < pages; ++i) {
        uint64_t e = 0;
        const off_t at = static_cast<off_t>((reinterpret_cast<uintptr_t>(p) / 4096 + i) * 8);
        REQUIRE(pread(fd, &e, 8, at) == 8);
        present += (e >> 63) & 1;
    }
    close(fd);
    return present;
}

} // namespace

TEST_CASE("file pages: only private, non-executable file mappings outside loaded objects")
{
    const std::vector<std::pair<uint64_t, uint64_t>> loaded = {{0x1000, 0x5000}};
    CHECK(droppable_mapping(entry(0x10000, 0x20000, "r--p", "/usr/lib/debug/x.debug"), loaded));
    CHECK(droppable_mapping(entry(0x10000, 0x20000, "rw-p", "/usr/bin/git"), loaded)); // libdwfl's
    CHECK_FALSE(droppable_mapping(entry(0x10000, 0x20000, "r-xp", "/usr/bin/git"), loaded));
    CHECK_FALSE(droppable_mapping(entry(0x10000, 0x20000, "r--s", "/dev/shm/x"), loaded));
    CHECK_FALSE(droppable_mapping(entry(0x10000, 0x20000, "r--s", "anon_inode:bpf-map"), loaded));
    CHECK_FALSE(droppable_mapping(entry(0x10000, 0x20000, "rw-p", ""), loaded));
    CHECK_FALSE(droppable_mapping(entry(0x10000, 0x20000, "rw-p", "[heap]"), loaded));
    CHECK_FALSE(droppable_mapping(entry(0x4000, 0x6000, "r--p", "/usr/lib/libc.so.6"), loaded)); // RELRO
}

TEST_CASE("file pages: read pages go, a page written through a private mapping keeps what was written")
{
    testing::TempDir dir;
    const size_t pages = 8;
    const std::string content(pages * 4096, 'f');
    const std::string path = dir.write("data.bin", content).string();
    int fd = open(path.c_str(), O_RDONLY);
    REQUIRE(fd >= 0);
    auto *p = static_cast<char *>(mmap(nullptr, pages * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0));
    close(fd);
    REQUIRE(p != MAP_FAILED);
    volatile char sum = 0;
    for (size_t i = 0; i < pages; ++i)
        sum = static_cast<char>(sum + p[i * 4096]); // read: the file's pages
    p[3 * 4096] = 'w';                               // written: memtrace's own copy now
    REQUIRE(present_pages(p, pages) == pages);

    CHECK(drop_file_pages() >= (pages - 1) * 4096);
    CHECK(present_pages(p + 3 * 4096, 1) == 1); // the written page stays, as written
    CHECK(present_pages(p, 3) == 0);
    CHECK(present_pages(p + 4 * 4096, pages - 4) == 0);
    CHECK(p[3 * 4096] == 'w');
    CHECK(p[0] == 'f'); // the others read again from the file
    CHECK(p[7 * 4096] == 'f');
    munmap(p, pages * 4096);
}
