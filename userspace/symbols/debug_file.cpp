#include "symbols/debug_file.h"

#include <cstdio>
#include <cstring>
#include <filesystem>

#include "symbols/debug_cache.h"
#include "symbols/elf_file.h"
#include "symbols/regular_file.h"

namespace memtrace {
namespace fs = std::filesystem;

namespace {

bool regular(const fs::path &p)
{
    std::error_code ec;
    return fs::is_regular_file(p, ec);
}

bool same_file(const fs::path &a, const fs::path &b)
{
    std::error_code ec;
    return fs::equivalent(a, b, ec);
}

std::optional<std::string> by_build_id(const std::string &id, const std::vector<std::string> &debug_dirs)
{
    if (id.size() <= 2)
        return std::nullopt;
    for (const auto &dir : debug_dirs) {
        fs::path candidate = fs::path(dir) / ".build-id" / id.substr(0, 2) / (id.substr(2) + ".debug");
        if (!regular(candidate))
            continue;
        // unreadable or not ELF: not the debug file, whatever the reason
        ElfOpen debug = ElfFile::try_open(candidate.string());
        if (debug.file && debug.file->build_id() == id)
            return candidate.string();
    }
    return std::nullopt;
}

} // namespace

std::optional<std::string> find_debug_file(const std::string &binary_path, const std::string &id,
                                           const std::optional<std::string> &link,
                                           const std::vector<std::string> &debug_dirs)
{
    if (auto found = by_build_id(id, debug_dirs))
        return found;
    if (!link)
        return std::nullopt;
    fs::path dir = fs::path(binary_path).parent_path();
    std::vector<fs::path> candidates = {dir / *link, dir / ".debug" / *link};
    for (const auto &debug_dir : debug_dirs)
        candidates.push_back(fs::path(debug_dir) / dir.relative_path() / *link);
    for (const auto &candidate : candidates) {
        if (!regular(candidate) || same_file(candidate, binary_path))
            continue;
        ElfOpen debug = ElfFile::try_open(candidate.string());
        if (!debug.file)
            continue; // unreadable or not ELF: not the debug file, whatever the reason
        std::string debug_id = debug.file->build_id();
        if (id.empty() || debug_id.empty() || debug_id == id)
            return candidate.string();
    }
    return std::nullopt;
}

std::optional<std::string> find_debug_file(const ElfFile &binary,
                                           const std::vector<std::string> &debug_dirs)
{
    return find_debug_file(binary.path(), binary.build_id(), binary.debuglink(), debug_dirs);
}

int find_debuginfo_nonblocking(Dwfl_Module *mod, void **userdata, const char *, Dwarf_Addr,
                               const char *file_name, const char *debuglink_file, GElf_Word,
                               char **debuginfo_file_name)
{
    static const std::vector<std::string> none;
    const auto *dirs = userdata && *userdata ? static_cast<const std::vector<std::string> *>(*userdata)
                                             : &none;
    const unsigned char *bits = nullptr;
    GElf_Addr vaddr = 0;
    int n = dwfl_module_build_id(mod, &bits, &vaddr);
    std::string id;
    for (int i = 0; i < n; ++i) {
        char hex[3];
        std::snprintf(hex, sizeof(hex), "%02x", bits[i]);
        id += hex;
    }
    std::optional<std::string> link;
    if (debuglink_file && *debuglink_file)
        link = debuglink_file;
    std::optional<std::string> found = find_debug_file(file_name ? file_name : "", id, link, *dirs);
    if (!found)
        return -1;
    if (auto copy = uncompressed_debug_copy(*found, id)) // read through the page cache, not inflated in the heap
        found = copy;
    RegularFile file = open_regular_file(*found);
    if (!file.fd)
        return -1;
    *debuginfo_file_name = strdup(found->c_str()); // libdwfl frees it
    return file.fd.release();
}

void set_debug_dirs(Dwfl_Module *mod, const std::vector<std::string> &debug_dirs)
{
    void **userdata = nullptr;
    if (dwfl_module_info(mod, &userdata, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr) && userdata)
        *userdata = const_cast<std::vector<std::string> *>(&debug_dirs);
}

} // namespace memtrace
