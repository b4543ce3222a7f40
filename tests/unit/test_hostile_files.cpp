// Files memtrace reads on behalf of traced processes, as a hostile user leaves
// them: a FIFO where an ELF, debug or perf-map file should be must not hang
// root's memtrace; a perf map written by another user must not name frames.
#include <catch2/catch.hpp>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <future>

#include "symbols/elf_file.h"
#include "symbols/regular_file.h"
#include "symbols/symbolizer.h"
#include "temp_dir.h"

using namespace memtrace;
using memtrace::testing::TempDir;

namespace {

// Runs fn on another thread; true if it returned within 3 s. If not, opens and
// closes the FIFO's write end until it returns (a reader blocked in open()
// returns, then reads end of file), and says false.
template <typename Fn> bool returns_in_time(const std::string &fifo, Fn fn)
{
    auto done = std::async(std::launch::async, fn);
    if (done.wait_for(std::chrono::seconds(3)) == std::future_status::ready)
        return true;
    while (done.wait_for(std::chrono::milliseconds(100)) != std::future_status::ready) {
        int writer = open(fifo.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
        if (writer >= 0)
            close(writer);
    }
    return false;
}

std::string make_fifo(const TempDir &dir, const std::string &name)
{
    std::string path = (dir.path() / name).string();
    REQUIRE(mkfifo(path.c_str(), 0644) == 0);
    return path;
}

} // namespace

TEST_CASE("a FIFO named as an ELF file: refused at once, with a reason")
{
    TempDir dir;
    std::string fifo = make_fifo(dir, "prog");
    ElfOpen opened;
    CHECK(returns_in_time(fifo, [&] { opened = ElfFile::try_open(fifo); }));
    CHECK_FALSE(opened.file);
    CHECK(opened.why.find("is not a regular file") != std::string::npos);

    RegularFile file = open_regular_file(fifo);
    CHECK_FALSE(file.fd);
    CHECK_FALSE(open_regular_file("/dev/null").fd);
    CHECK(open_regular_file(dir.write("plain", "x").string()).fd);
}

TEST_CASE("a FIFO named by a binary's .gnu_debuglink: symbols without it, at once")
{
    TempDir dir;
    std::string binary = (dir.path() / "funcwork-debuglink").string();
    std::filesystem::copy_file(std::string(MT_BUILD_DIR) + "/workloads/funcwork-debuglink", binary);
    std::string fifo = make_fifo(dir, "funcwork-debuglink.debug");
    ElfFile elf(binary);
    uint64_t offset = 0;
    for (const LoadSegment &seg : elf.segments())
        if (seg.executable)
            offset = seg.offset + 16;
    REQUIRE(offset != 0);
    Symbolizer symbols(std::vector<std::string>{});
    CHECK(returns_in_time(fifo, [&] { symbols.function_at(binary, binary, offset); }));
}

TEST_CASE("a FIFO or a symlink as /tmp/perf-PID.map: ignored at once")
{
    TempDir dir;
    std::string fifo = make_fifo(dir, "perf-" + std::to_string(getpid()) + ".map");
    PerfMap map;
    CHECK(returns_in_time(fifo, [&] { map = PerfMap::load(fifo); }));
    CHECK(map.empty());

    std::string real = dir.write("real.map", "1000 10 jitted\n").string();
    std::filesystem::path link = dir.path() / "perf-1.map";
    std::filesystem::create_symlink(real, link);
    CHECK(PerfMap::load(link.string(), getuid()).empty());
    CHECK_FALSE(PerfMap::load(real, getuid()).empty());
}

TEST_CASE("a perf map another user owns, or others may write: ignored, as perf does")
{
    TempDir dir;
    std::string name = "perf-" + std::to_string(getpid()) + ".map"; // this process: our uid
    std::string path = dir.write(name, "1000 10 jitted\n").string();
    chmod(path.c_str(), 0644);
    CHECK(PerfMap::load(path).name_at(0x1004) == "jitted");

    chmod(path.c_str(), 0666);
    CHECK(PerfMap::load(path).empty());
    chmod(path.c_str(), 0664);
    CHECK(PerfMap::load(path).empty());
    chmod(path.c_str(), 0644);

    if (geteuid() == 0) { // root (CI): a map that "nobody" wrote for our process
        REQUIRE(chown(path.c_str(), 65534, 65534) == 0);
        CHECK(PerfMap::load(path).empty());
        CHECK_FALSE(PerfMap::load(path, 65534).empty()); // nobody's own process: trusted
    }

    struct stat st {};
    st.st_mode = S_IFREG | 0644;
    st.st_uid = 0;
    CHECK(perf_map_trusted(st, std::nullopt)); // root's: trusted even for a process gone
    st.st_uid = 1000;
    CHECK_FALSE(perf_map_trusted(st, std::nullopt));
    CHECK(perf_map_trusted(st, 1000));
    CHECK_FALSE(perf_map_trusted(st, 1001));
    st.st_mode = S_IFREG | 0620;
    CHECK_FALSE(perf_map_trusted(st, 1000));
}

TEST_CASE("an ignored perf map says why (for -v)")
{
    TempDir dir;
    std::string path = dir.write("perf-" + std::to_string(getpid()) + ".map", "1000 10 jitted\n").string();
    chmod(path.c_str(), 0644);
    CHECK(PerfMap::ignored_because(path).empty());
    CHECK(PerfMap::ignored_because((dir.path() / "missing").string()).empty());
    chmod(path.c_str(), 0646);
    CHECK(PerfMap::ignored_because(path) == "writable by other users");
    chmod(path.c_str(), 0644);
    if (geteuid() == 0) {
        REQUIRE(chown(path.c_str(), 65534, 65534) == 0);
        CHECK(PerfMap::ignored_because(path) == "owned by uid 65534, not by the process's user or root");
    }
}
