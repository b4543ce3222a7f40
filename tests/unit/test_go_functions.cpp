// .gopclntab read as Go's runtime lays it out: tables built here by hand in
// the Go 1.20 and Go 1.2 layouts, and hostile ones.
#include <catch2/catch.hpp>

#include <cstring>

#include "symbols/go_functions.h"

using namespace memtrace;

namespace {

void put(std::vector<uint8_t> &b, size_t at, uint64_t v, size_t size)
{
    if (b.size() < at + size)
        b.resize(at + size);
    std::memcpy(b.data() + at, &v, size);
}

// Go 1.18+: a 72-byte header, names, then the function table of 32-bit
// offsets from runtime.text and the _func records it points to.
std::vector<uint8_t> go120_table(uint64_t text, uint32_t magic = 0xfffffff1)
{
    std::vector<uint8_t> b(72, 0);
    put(b, 0, magic, 4);
    put(b, 6, 1, 1); // instruction quantum
    put(b, 7, 8, 1); // pointer size
    put(b, 8, 2, 8); // nfunc
    put(b, 24, text, 8);
    const char names[] = "main.main\0runtime.mallocgc";
    const size_t names_at = 72;
    std::memcpy((b.resize(names_at + sizeof(names)), b.data() + names_at), names, sizeof(names));
    put(b, 32, names_at, 8);
    const size_t pcln = 128;
    put(b, 64, pcln, 8);
    // functab: {entryoff, funcoff} x 2, then the end
    put(b, pcln + 0, 0x0, 4);
    put(b, pcln + 4, 24, 4);
    put(b, pcln + 8, 0x100, 4);
    put(b, pcln + 12, 32, 4);
    put(b, pcln + 16, 0x180, 4);
    // _func records: {entryOff, nameOff}
    put(b, pcln + 24, 0x0, 4);
    put(b, pcln + 28, 0, 4);
    put(b, pcln + 32, 0x100, 4);
    put(b, pcln + 36, 10, 4);
    return b;
}

} // namespace

TEST_CASE("go: function names from a Go 1.20 .gopclntab")
{
    auto go = GoFunctions::parse(go120_table(0x401000));
    REQUIRE(go);
    CHECK(go->size() == 2);
    CHECK(go->name_at(0x401000) == "main.main");
    CHECK(go->name_at(0x4010ff) == "main.main");
    CHECK(go->name_at(0x401100) == "runtime.mallocgc");
    CHECK(go->name_at(0x40117f) == "runtime.mallocgc");
    CHECK(go->name_at(0x401180).empty()); // past the end of the code
    CHECK(go->name_at(0x400fff).empty());
    CHECK(GoFunctions::parse(go120_table(0x401000, 0xfffffff0))); // Go 1.18-1.19: same layout
}

TEST_CASE("go: function names from a Go 1.2 .gopclntab (absolute pcs, pointer-sized table)")
{
    std::vector<uint8_t> b(16, 0);
    put(b, 0, 0xfffffffb, 4);
    put(b, 6, 1, 1);
    put(b, 7, 8, 1);
    put(b, 8, 1, 8); // nfunc
    put(b, 16, 0x450000, 8); // {pc, funcoff}
    put(b, 24, 48, 8);
    put(b, 32, 0x450040, 8); // end
    put(b, 48, 0x450000, 8); // _func: {entry, nameoff from the table's start}
    put(b, 56, 64, 4);
    const char name[] = "main.work";
    b.resize(64 + sizeof(name));
    std::memcpy(b.data() + 64, name, sizeof(name));
    auto go = GoFunctions::parse(b);
    REQUIRE(go);
    CHECK(go->name_at(0x450020) == "main.work");
    CHECK(go->name_at(0x450040).empty());
}

TEST_CASE("go: a hostile .gopclntab is refused or read within its bounds")
{
    std::vector<uint8_t> good = go120_table(0x401000);
    SECTION("unknown magic")
    {
        put(good, 0, 0x12345678, 4);
        CHECK_FALSE(GoFunctions::parse(good));
    }
    SECTION("truncated anywhere")
    {
        for (size_t n = 0; n < good.size(); ++n) {
            auto go = GoFunctions::parse(std::vector<uint8_t>(good.begin(), good.begin() + n));
            if (go) // the names may be cut: never read past the end
                CHECK(go->name_at(0x401100).size() <= n);
        }
    }
    SECTION("a function count beyond the table")
    {
        put(good, 8, uint64_t{1} << 60, 8);
        CHECK_FALSE(GoFunctions::parse(good));
    }
    SECTION("a name offset outside the table")
    {
        put(good, 128 + 36, 0x7fffffff, 4);
        auto go = GoFunctions::parse(good);
        REQUIRE(go);
        CHECK(go->name_at(0x401100).empty());
    }
    SECTION("entries out of order")
    {
        put(good, 128 + 8, 0x300, 4);
        CHECK_FALSE(GoFunctions::parse(good));
    }
}
