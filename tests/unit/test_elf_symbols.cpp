// Reads the funcwork binaries the build makes (PIE, non-PIE, stripped, with a
// separate debug file): real ELF files, no root needed.
#include <catch2/catch.hpp>
#include <filesystem>

#include "error.h"
#include "symbols/debug_file.h"
#include "symbols/elf_file.h"
#include "temp_dir.h"

using namespace memtrace;

namespace {

std::string workload(const std::string &name)
{
    return std::string(MT_BUILD_DIR) + "/workloads/" + name;
}

const ElfSymbol *find(const std::vector<ElfSymbol> &symbols, const std::string &name)
{
    for (const auto &s : symbols)
        if (s.name == name)
            return &s;
    return nullptr;
}

} // namespace

TEST_CASE("ELF: a PIE's functions, segments and file offsets")
{
    ElfFile elf(workload("funcwork"));
    CHECK(elf.is_shared_object());
    CHECK(elf.has_symtab());
    auto functions = elf.functions();
    const ElfSymbol *spike = find(functions, "transient_spike");
    REQUIRE(spike);
    CHECK(spike->size > 0);
    CHECK(find(functions, "_ZN5Index5buildEm"));
    auto offset = elf.file_offset(spike->value);
    REQUIRE(offset);
    auto code = elf.read(spike->value, spike->size);
    REQUIRE(code);
    CHECK(code->size() == spike->size);
    CHECK_FALSE(elf.file_offset(0xffffffffffull));
    CHECK(elf.build_id().size() == 40);
    auto needed = elf.needed();
    CHECK(std::find(needed.begin(), needed.end(), "libc.so.6") != needed.end());
}

TEST_CASE("ELF: a non-PIE executable")
{
    ElfFile elf(workload("funcwork-nopie"));
    CHECK_FALSE(elf.is_shared_object());
    auto functions = elf.functions(); // find() points into it: keep it alive
    const ElfSymbol *spike = find(functions, "transient_spike");
    REQUIRE(spike);
    CHECK(spike->value >= 0x400000); // linked at a fixed address
    CHECK(elf.file_offset(spike->value) < spike->value);
}

TEST_CASE("ELF: stripped to .dynsym, exported functions remain")
{
    ElfFile elf(workload("funcwork-dynsym"));
    CHECK_FALSE(elf.has_symtab());
    CHECK(find(elf.functions(), "transient_spike"));
}

TEST_CASE("ELF: fully stripped; the debug file is found by debuglink and by build-id")
{
    ElfFile elf(workload("funcwork-debuglink"));
    CHECK_FALSE(elf.has_symtab());
    CHECK_FALSE(find(elf.functions(), "transient_spike"));
    REQUIRE(elf.debuglink());
    CHECK(*elf.debuglink() == "funcwork-debuglink.debug");

    auto by_link = find_debug_file(elf, {});
    REQUIRE(by_link);
    CHECK(find(ElfFile(*by_link).functions(), "transient_spike"));

    // a copy elsewhere has no debug file beside it: found by build-id only
    memtrace::testing::TempDir dir;
    std::filesystem::copy_file(workload("funcwork-debuglink"), dir.path() / "copy");
    ElfFile copy((dir.path() / "copy").string());
    CHECK_FALSE(find_debug_file(copy, {}));
    auto by_id = find_debug_file(copy, {workload("debug")});
    REQUIRE(by_id);
    CHECK(by_id->find("/.build-id/") != std::string::npos);
}

TEST_CASE("ELF: not a file, not ELF")
{
    CHECK_THROWS_AS(ElfFile("/nonexistent/x"), Error);
    memtrace::testing::TempDir dir;
    auto text = dir.write("text", "#!/bin/sh\n");
    CHECK_THROWS_WITH(ElfFile(text.string()), Catch::Contains("not an ELF file"));
}
