#include <catch2/catch.hpp>
#include <filesystem>

#include "symbols/modules.h"
#include "temp_dir.h"

using namespace memtrace;

TEST_CASE("maps lines: ranges, permissions, paths, deleted files")
{
    auto maps = parse_maps(
        "55d0c6a00000-55d0c6a01000 r--p 00000000 08:01 1234 /usr/bin/app\n"
        "55d0c6a01000-55d0c6a02000 r-xp 00001000 08:01 1234 /usr/bin/app\n"
        "7f00aa000000-7f00aa100000 r-xp 00028000 08:01 99 /tmp/gone lib.so (deleted)\n"
        "7ffd1000-7ffd2000 rw-p 00000000 00:00 0 [stack]\n"
        "7f00bb000000-7f00bb001000 rw-p 00000000 00:00 0\n");
    REQUIRE(maps.size() == 5);
    CHECK(maps[1].start == 0x55d0c6a01000);
    CHECK(maps[1].perms == "r-xp");
    CHECK(maps[1].offset == 0x1000);
    CHECK(maps[1].path == "/usr/bin/app");
    CHECK(maps[2].deleted);
    CHECK(maps[2].path == "/tmp/gone lib.so");
    CHECK(maps[3].path == "[stack]");
    CHECK(maps[4].path.empty());
}

TEST_CASE("process modules: this process, main program first")
{
    auto modules = process_modules(getpid());
    REQUIRE_FALSE(modules.empty());
    CHECK(modules[0].main);
    CHECK(modules[0].path.find("unit-tests") != std::string::npos);
    CHECK(modules[0].open_path.find("/proc/") == 0);
    bool libc = false;
    for (const auto &m : modules)
        libc |= m.path.find("libc.so") != std::string::npos;
    CHECK(libc);
}

TEST_CASE("find_library: exact names, short names, LD_LIBRARY_PATH first")
{
    memtrace::testing::TempDir dir;
    dir.write("lib/libmine.so.2", "x");
    LibrarySearch search;
    search.ld_library_path = {(dir.path() / "lib").string()};
    search.default_dirs = {};
    CHECK(find_library("libmine.so.2", search) == (dir.path() / "lib/libmine.so.2").string());
    CHECK(find_library("libmine", search) == (dir.path() / "lib/libmine.so.2").string());
    CHECK(find_library("libmine.so", search) == (dir.path() / "lib/libmine.so.2").string());
    CHECK_FALSE(find_library("libother", search));

    LibrarySearch system = LibrarySearch::from_environment("");
    auto libc = find_library("libc", system);
    REQUIRE(libc);
    CHECK(libc->find("libc.so.6") != std::string::npos);
}

TEST_CASE("program modules: the program, then what it needs, transitively")
{
    std::string program = std::string(MT_BUILD_DIR) + "/workloads/funcwork";
    auto modules = program_modules(program, LibrarySearch::from_environment(""));
    REQUIRE(modules.size() >= 3);
    CHECK(modules[0].main);
    std::vector<std::string> names;
    for (const auto &m : modules)
        names.push_back(std::filesystem::path(m.path).filename().string());
    CHECK(std::count(names.begin(), names.end(), "libc.so.6") == 1);
    CHECK(std::find_if(names.begin(), names.end(), [](auto &n) {
              return n.rfind("libstdc++", 0) == 0;
          }) != names.end());
}
