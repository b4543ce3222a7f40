#include "symbols/debug_file.h"

#include <filesystem>

#include "symbols/elf_file.h"

namespace memtrace {
namespace fs = std::filesystem;

std::optional<std::string> find_debug_file(const ElfFile &binary,
                                           const std::vector<std::string> &debug_dirs)
{
    auto readable = [](const fs::path &p) {
        std::error_code ec;
        return fs::is_regular_file(p, ec);
    };
    std::string id = binary.build_id();
    if (id.size() > 2) {
        for (const auto &dir : debug_dirs) {
            fs::path candidate = fs::path(dir) / ".build-id" / id.substr(0, 2) / (id.substr(2) + ".debug");
            if (!readable(candidate))
                continue;
            // unreadable or not ELF: not the debug file, whatever the reason
            ElfOpen debug = ElfFile::try_open(candidate.string());
            if (debug.file && debug.file->build_id() == id)
                return candidate.string();
        }
    }
    if (auto link = binary.debuglink()) {
        fs::path dir = fs::path(binary.path()).parent_path();
        std::vector<fs::path> candidates = {dir / *link, dir / ".debug" / *link};
        for (const auto &debug_dir : debug_dirs)
            candidates.push_back(fs::path(debug_dir) / dir.relative_path() / *link);
        for (const auto &candidate : candidates) {
            if (!readable(candidate) || fs::equivalent(candidate, binary.path()))
                continue;
            ElfOpen debug = ElfFile::try_open(candidate.string());
            if (!debug.file)
                continue; // unreadable or not ELF: not the debug file, whatever the reason
            std::string debug_id = debug.file->build_id();
            if (id.empty() || debug_id.empty() || debug_id == id)
                return candidate.string();
        }
    }
    return std::nullopt;
}

} // namespace memtrace
