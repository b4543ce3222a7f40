#include <catch2/catch.hpp>
#include <elfutils/libdw.h>
#include <fcntl.h>
#include <gelf.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "symbols/debug_cache.h"
#include "symbols/elf_file.h"
#include "temp_dir.h"

using namespace memtrace;
namespace fs = std::filesystem;

namespace {

const std::string compressed = std::string(MT_BUILD_DIR) + "/workloads/linework-gz"; // -gz=zlib
const std::string plain = std::string(MT_BUILD_DIR) + "/workloads/linework";

// Every DIE's tag and name, depth first, as libdw reads them.
std::vector<std::string> dies(const std::string &path)
{
    std::vector<std::string> out;
    int fd = open(path.c_str(), O_RDONLY);
    REQUIRE(fd >= 0);
    Dwarf *dw = dwarf_begin(fd, DWARF_C_READ);
    REQUIRE(dw != nullptr);
    Dwarf_Off off = 0, next = 0;
    size_t header = 0;
    while (dwarf_nextcu(dw, off, &next, &header, nullptr, nullptr, nullptr) == 0) {
        Dwarf_Die cu;
        if (dwarf_offdie(dw, off + header, &cu)) {
            std::vector<Dwarf_Die> todo = {cu};
            while (!todo.empty()) {
                Dwarf_Die die = todo.back();
                todo.pop_back();
                const char *name = dwarf_diename(&die);
                out.push_back(std::to_string(dwarf_tag(&die)) + ":" + (name ? name : ""));
                Dwarf_Die child;
                if (dwarf_child(&die, &child) == 0)
                    do
                        todo.push_back(child);
                    while (dwarf_siblingof(&child, &child) == 0);
            }
        }
        off = next;
    }
    dwarf_end(dw);
    close(fd);
    return out;
}

std::string slurp(const std::string &path)
{
    std::ifstream in(path, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

GElf_Shdr section(const std::string &path, const std::string &name)
{
    int fd = open(path.c_str(), O_RDONLY);
    REQUIRE(fd >= 0);
    Elf *elf = elf_begin(fd, ELF_C_READ, nullptr);
    size_t strndx = 0;
    REQUIRE(elf_getshdrstrndx(elf, &strndx) == 0);
    GElf_Shdr found{};
    for (Elf_Scn *scn = nullptr; (scn = elf_nextscn(elf, scn));) {
        GElf_Shdr sh;
        if (gelf_getshdr(scn, &sh) && name == elf_strptr(elf, strndx, sh.sh_name))
            found = sh;
    }
    elf_end(elf);
    close(fd);
    REQUIRE(found.sh_offset != 0);
    return found;
}

size_t entries(const fs::path &dir)
{
    return static_cast<size_t>(std::distance(fs::directory_iterator(dir), fs::directory_iterator()));
}

} // namespace

TEST_CASE("debug cache: a copy with the DWARF sections uncompressed, the same DWARF, made once")
{
    testing::TempDir tmp;
    const std::string dir = (tmp.path() / "cache").string();
    const std::string id = ElfFile(compressed).build_id();
    REQUIRE(!id.empty());
    REQUIRE(has_compressed_sections(compressed));
    CHECK_FALSE(has_compressed_sections(plain));

    auto copy = uncompressed_debug_copy(compressed, id, dir);
    REQUIRE(copy);
    CHECK(*copy == dir + "/" + id + ".debug");
    CHECK_FALSE(has_compressed_sections(*copy));
    CHECK(ElfFile(*copy).build_id() == id);
    const std::vector<std::string> want = dies(compressed);
    CHECK(want.size() > 20);
    CHECK(dies(*copy) == want);
    const GElf_Shdr was = section(compressed, ".debug_info"), now = section(*copy, ".debug_info");
    CHECK((was.sh_flags & SHF_COMPRESSED) != 0);
    CHECK((now.sh_flags & SHF_COMPRESSED) == 0);
    CHECK(now.sh_size > was.sh_size); // inflated
    struct stat st {};
    REQUIRE(stat(dir.c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0700);

    struct stat before {}, again {};
    REQUIRE(stat(copy->c_str(), &before) == 0);
    CHECK(uncompressed_debug_copy(compressed, id, dir) == copy); // found, not made again
    REQUIRE(stat(copy->c_str(), &again) == 0);
    CHECK(again.st_ino == before.st_ino);
    CHECK(entries(dir) == 1); // no temporary file left
}

TEST_CASE("debug cache: nothing to do, or a cache it cannot trust: the file itself serves")
{
    testing::TempDir tmp;
    const std::string dir = (tmp.path() / "cache").string();
    const std::string id = ElfFile(compressed).build_id();

    CHECK_FALSE(uncompressed_debug_copy(plain, ElfFile(plain).build_id(), dir)); // nothing compressed
    CHECK_FALSE(uncompressed_debug_copy(compressed, "../../etc/x", dir));        // not a build-id
    CHECK_FALSE(uncompressed_debug_copy(compressed, id, ""));                   // cache off
    CHECK_FALSE(uncompressed_debug_copy(compressed, "abcd1234", dir));          // not its build-id
    CHECK(entries(dir) == 0);                                                  // and nothing kept

    fs::create_directories(dir);
    chmod(dir.c_str(), 0777); // others could swap the copies
    CHECK_FALSE(uncompressed_debug_copy(compressed, id, dir));
    chmod(dir.c_str(), 0700);

    // a debug file another user could have written is read in place, never copied
    const std::string theirs = tmp.write("theirs.debug", slurp(compressed)).string();
    chmod(theirs.c_str(), 0644);
    if (geteuid() == 0) { // root: a file of nobody's
        REQUIRE(chown(theirs.c_str(), 65534, 65534) == 0);
        CHECK_FALSE(uncompressed_debug_copy(theirs, id, dir));
    }
    chmod(theirs.c_str(), 0666); // anyone's to rewrite
    CHECK_FALSE(uncompressed_debug_copy(theirs, id, dir));
    CHECK(entries(dir) == 0);

    // a symlink where the copy goes is replaced, never followed or written through
    const std::string victim = tmp.write("victim", "untouched").string();
    fs::create_symlink(victim, dir + "/" + id + ".debug");
    auto copy = uncompressed_debug_copy(compressed, id, dir);
    REQUIRE(copy);
    CHECK_FALSE(fs::is_symlink(*copy));
    CHECK(slurp(victim) == "untouched");
}

TEST_CASE("debug cache: a truncated or corrupt debug file makes no copy and leaves nothing behind")
{
    testing::TempDir tmp;
    const std::string dir = (tmp.path() / "cache").string();
    const std::string id = ElfFile(compressed).build_id();
    const std::string whole = slurp(compressed);

    // cut inside the sections: their headers (at the end) are gone
    CHECK_FALSE(uncompressed_debug_copy(tmp.write("cut", whole.substr(0, whole.size() / 2)).string(), id, dir));
    // the compressed bytes garbled: zlib refuses them
    std::string garbled = whole;
    const size_t zlib = section(compressed, ".debug_info").sh_offset + sizeof(Elf64_Chdr);
    REQUIRE(zlib + 64 < garbled.size());
    for (size_t i = zlib + 2; i < zlib + 64; ++i) // past the zlib header
        garbled[i] = static_cast<char>(garbled[i] ^ 0x5a);
    CHECK_FALSE(uncompressed_debug_copy(tmp.write("garbled", garbled).string(), id, dir));
    CHECK((!fs::exists(dir) || entries(dir) == 0));
}
