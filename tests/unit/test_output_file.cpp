#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "report/output_file.h"
#include "temp_dir.h"

using namespace memtrace;
namespace fs = std::filesystem;

namespace {

std::string slurp(const fs::path &path)
{
    std::ifstream in(path, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

} // namespace

TEST_CASE("output file: a streamed output larger than its chunks arrives whole, in place at the end")
{
    testing::TempDir dir;
    const fs::path path = dir.path() / "out.folded";
    std::string want;
    for (int i = 0; i < 100000; ++i) // ~3.4 MiB: several 1 MiB chunks
        want += "main;work;leaf_" + std::to_string(i) + " " + std::to_string(i * 4096) + "\n";
    {
        OutputFile file(path.string());
        CHECK_FALSE(fs::exists(path)); // only the temporary file until written
        CHECK(file.write_with([&](std::ostream &out) {
            for (size_t at = 0; at < want.size(); at += 777) // pieces of odd sizes
                out << want.substr(at, 777);
        }));
        CHECK_FALSE(file.write("again")); // written once only
    }
    CHECK(slurp(path) == want);
    CHECK(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator()) == 1);
}

TEST_CASE("output file: a streamed output that cannot be written says so")
{
    OutputFile full("/dev/full"); // a device: written in place; every write fails (ENOSPC)
    CHECK_FALSE(full.write_with([](std::ostream &out) { out << std::string(3 << 20, 'x'); }));
}
