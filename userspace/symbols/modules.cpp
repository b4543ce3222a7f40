#include "symbols/modules.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <set>
#include <sstream>

#include "symbols/elf_file.h"

namespace memtrace {
namespace fs = std::filesystem;

std::vector<MapsEntry> parse_maps(const std::string &text)
{
    std::vector<MapsEntry> out;
    std::istringstream lines(text);
    std::string line;
    while (std::getline(lines, line)) {
        MapsEntry e;
        char perms[8] = {0};
        unsigned long long start = 0, end = 0, offset = 0, inode = 0;
        int consumed = 0;
        char dev[32] = {0};
        if (std::sscanf(line.c_str(), "%llx-%llx %7s %llx %31s %llu %n", &start, &end, perms,
                        &offset, dev, &inode, &consumed) < 6)
            continue;
        e.start = start;
        e.end = end;
        e.offset = offset;
        e.perms = perms;
        if (consumed > 0 && static_cast<size_t>(consumed) <= line.size())
            e.path = line.substr(static_cast<size_t>(consumed));
        const std::string suffix = " (deleted)";
        if (e.path.size() > suffix.size() &&
            e.path.compare(e.path.size() - suffix.size(), suffix.size(), suffix) == 0) {
            e.deleted = true;
            e.path.resize(e.path.size() - suffix.size());
        }
        out.push_back(std::move(e));
    }
    return out;
}

std::string mapped_file_path(const std::string &proc_dir, const MapsEntry &e)
{
    if (!e.deleted)
        return proc_dir + "/root" + e.path;
    char range[64];
    std::snprintf(range, sizeof(range), "%llx-%llx", static_cast<unsigned long long>(e.start),
                  static_cast<unsigned long long>(e.end));
    return proc_dir + "/map_files/" + range;
}

std::vector<Module> process_modules(pid_t pid, const std::string &proc_root)
{
    std::string dir = proc_root + "/" + std::to_string(pid);
    std::ifstream in(dir + "/maps");
    std::stringstream text;
    text << in.rdbuf();
    std::error_code ec;
    std::string exe = fs::read_symlink(dir + "/exe", ec).string();
    const std::string deleted = " (deleted)";
    if (exe.size() > deleted.size() &&
        exe.compare(exe.size() - deleted.size(), deleted.size(), deleted) == 0)
        exe.resize(exe.size() - deleted.size());

    std::vector<Module> out;
    std::set<std::string> seen;
    for (const MapsEntry &e : parse_maps(text.str())) {
        if (e.perms.find('x') == std::string::npos || e.path.empty() || e.path[0] != '/')
            continue;
        if (!seen.insert(e.path).second)
            continue;
        Module m;
        m.path = e.path;
        m.main = e.path == exe;
        m.open_path = mapped_file_path(dir, e);
        out.push_back(std::move(m));
    }
    std::stable_partition(out.begin(), out.end(), [](const Module &m) { return m.main; });
    return out;
}

std::optional<FileOffset> file_offset_at(pid_t pid, uint64_t address, const std::string &proc_root)
{
    std::string dir = proc_root + "/" + std::to_string(pid);
    std::ifstream in(dir + "/maps");
    std::stringstream text;
    text << in.rdbuf();
    for (const MapsEntry &e : parse_maps(text.str())) {
        if (address < e.start || address >= e.end)
            continue;
        if (e.path.empty() || e.path[0] != '/')
            return std::nullopt;
        return FileOffset{mapped_file_path(dir, e), e.path, address - e.start + e.offset};
    }
    return std::nullopt;
}

LibrarySearch LibrarySearch::from_environment(const std::string &ld_library_path)
{
    LibrarySearch search;
    std::istringstream dirs(ld_library_path);
    std::string dir;
    while (std::getline(dirs, dir, ':'))
        if (!dir.empty())
            search.ld_library_path.push_back(dir);
    // ldconfig reads /etc/ld.so.cache for us: the well-kept reader of that format.
    struct Pclose {
        void operator()(FILE *f) const { pclose(f); }
    };
    if (std::unique_ptr<FILE, Pclose> p{popen("/sbin/ldconfig -p 2>/dev/null", "r")}) {
        char line[4096];
        while (std::fgets(line, sizeof(line), p.get())) {
            std::string l = line;
            size_t arrow = l.find(" => ");
            if (arrow == std::string::npos || l.find("x86-64") == std::string::npos)
                continue;
            std::string path = l.substr(arrow + 4);
            while (!path.empty() && (path.back() == '\n' || path.back() == ' '))
                path.pop_back();
            search.cache.push_back(path);
        }
    }
    return search;
}

std::optional<std::string> find_library(const std::string &name, const LibrarySearch &search,
                                        const std::vector<std::string> &extra_dirs)
{
    auto exists = [](const fs::path &p) {
        std::error_code ec;
        return fs::is_regular_file(p, ec);
    };
    // Exact file names first, in ld.so's order.
    std::vector<std::string> dirs = extra_dirs;
    dirs.insert(dirs.end(), search.ld_library_path.begin(), search.ld_library_path.end());
    for (const auto &dir : dirs)
        if (exists(fs::path(dir) / name))
            return (fs::path(dir) / name).string();
    for (const auto &file : search.cache)
        if (fs::path(file).filename() == name)
            return file;
    for (const auto &dir : search.default_dirs)
        if (exists(fs::path(dir) / name))
            return (fs::path(dir) / name).string();
    // Then short names ("libfoo" -> libfoo.so.1): the same order, by module_matches.
    for (const auto &dir : dirs) {
        std::error_code ec;
        for (const auto &entry : fs::directory_iterator(dir, ec))
            if (entry.is_regular_file(ec) && module_matches(name, entry.path().string()))
                return entry.path().string();
    }
    for (const auto &file : search.cache)
        if (module_matches(name, file))
            return file;
    for (const auto &dir : search.default_dirs) {
        std::error_code ec;
        for (const auto &entry : fs::directory_iterator(dir, ec))
            if ((entry.is_regular_file(ec) || entry.is_symlink(ec)) &&
                module_matches(name, entry.path().string()))
                return entry.path().string();
    }
    return std::nullopt;
}

std::vector<Module> program_modules(const std::string &executable, const LibrarySearch &search)
{
    std::vector<Module> out;
    std::error_code ec;
    std::string exe = fs::canonical(executable, ec).string();
    if (ec)
        exe = executable;
    out.push_back({exe, exe, true});
    std::set<std::string> seen{exe};
    // Breadth-first over DT_NEEDED, like ld.so's load order.
    for (size_t i = 0; i < out.size(); ++i) {
        ElfOpen elf = ElfFile::try_open(out[i].open_path);
        if (!elf.file)
            continue; // unreadable or not ELF: it needs nothing we can name
        std::vector<std::string> needed = elf.file->needed();
        std::vector<std::string> runpath = elf.file->search_path();
        std::string origin = fs::path(out[i].open_path).parent_path().string();
        for (auto &dir : runpath) {
            size_t at = dir.find("$ORIGIN");
            if (at != std::string::npos)
                dir.replace(at, 7, origin);
        }
        for (const std::string &name : needed) {
            auto found = find_library(name, search, runpath);
            if (!found)
                continue;
            std::string real = fs::canonical(*found, ec).string();
            if (ec)
                real = *found;
            if (seen.insert(real).second)
                out.push_back({real, real, false});
        }
    }
    return out;
}

bool module_matches(const std::string &module, const std::string &path)
{
    if (module.find('/') != std::string::npos) {
        std::error_code ec;
        return std::filesystem::equivalent(module, path, ec) || module == path;
    }
    std::string name = std::filesystem::path(path).filename().string();
    if (name == module)
        return true;
    auto starts = [&](const std::string &prefix) { return name.rfind(prefix, 0) == 0; };
    // "libc" -> libc.so.6; "libfoo.so" -> libfoo.so.1.2; "libc" -> libc-2.31.so
    std::string base = module;
    if (base.size() > 3 && base.compare(base.size() - 3, 3, ".so") == 0)
        base.resize(base.size() - 3);
    return starts(base + ".so") || (starts(base + "-") && name.find(".so") != std::string::npos);
}

} // namespace memtrace
