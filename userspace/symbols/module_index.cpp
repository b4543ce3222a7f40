#include "symbols/module_index.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "symbols/elf_file.h"
#include "symbols/regular_file.h"
#include "unique_fd.h"

namespace memtrace {
namespace fs = std::filesystem;

namespace {

// (dev, inode) as the kernel side reports them: dev_t is MAJOR << 20 | MINOR there.
std::pair<uint64_t, uint64_t> kernel_id(const struct stat &st)
{
    return {(static_cast<uint64_t>(major(st.st_dev)) << 20) | minor(st.st_dev), st.st_ino};
}

} // namespace

const ModuleFile *ModuleIndex::remember(const std::string &path, const std::string &open_path,
                                        const std::pair<uint64_t, uint64_t> *expected)
{
    // An open descriptor reads the file after it is deleted or replaced, and
    // after the process (and its map_files/) is gone.
    UniqueFd fd = open_regular_file(open_path).fd; // a FIFO is no module, and must not block
    struct stat st {};
    if (fd ? fstat(fd.get(), &st) != 0 : stat(open_path.c_str(), &st) != 0)
        return nullptr;
    if (expected && (!fd || kernel_id(st) != *expected))
        return nullptr;
    // Same path, same file: one entry (a replaced file at the same path is another).
    std::string identity = path + "@" + std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino);
    if (auto it = by_path_.find(identity); it != by_path_.end())
        return it->second;
    auto file = std::make_unique<ModuleFile>();
    file->path = path;
    file->open_path = open_path;
    if (fd)
        file->open_path = "/proc/self/fd/" + std::to_string(fd.get());
    // Not ELF (or unreadable): still a named region, without a build-id.
    if (ElfOpen elf = ElfFile::try_open(file->open_path); elf.file)
        file->build_id = elf.file->build_id();
    const ModuleFile *raw = file.get();
    files_.emplace(raw, KeptFile{std::move(file), std::move(fd), identity, kernel_id(st)});
    by_path_[identity] = raw;
    by_kernel_id_.emplace(kernel_id(st), raw);
    if (!raw->build_id.empty())
        by_id_.emplace(raw->build_id, raw);
    return raw;
}

void ModuleIndex::add_file(const std::string &path)
{
    if (const ModuleFile *file = remember(path, path))
        files_.at(file).pinned = true;
}

std::set<const ModuleFile *> ModuleIndex::unused_files(const std::set<const ModuleFile *> &needed) const
{
    std::set<const ModuleFile *> mapped;
    for (const auto &[pid, mappings] : maps_)
        for (const Mapping &m : mappings)
            mapped.insert(m.file);
    std::set<const ModuleFile *> unused;
    for (const auto &[file, kept] : files_)
        if (!kept.pinned && !mapped.count(file) && !needed.count(file))
            unused.insert(file);
    return unused;
}

bool ModuleIndex::deleted(const ModuleFile *file) const
{
    auto kept = files_.find(file);
    struct stat st {};
    return kept != files_.end() && kept->second.fd && fstat(kept->second.fd.get(), &st) == 0 && st.st_nlink == 0;
}

// A key another file shares (two paths to one inode, one build-id in two
// files) moves to it.
void ModuleIndex::release(const std::set<const ModuleFile *> &files)
{
    for (const ModuleFile *file : files) {
        auto kept = files_.find(file);
        if (kept == files_.end())
            continue;
        by_path_.erase(kept->second.identity);
        const std::pair<uint64_t, uint64_t> inode = kept->second.kernel_id;
        const std::string build_id = file->build_id;
        files_.erase(kept); // closes its descriptor
        auto other = [&](auto &&same) -> const ModuleFile * {
            for (const auto &[f, k] : files_)
                if (same(*f, k))
                    return f;
            return nullptr;
        };
        if (auto it = by_kernel_id_.find(inode); it != by_kernel_id_.end() && it->second == file) {
            by_kernel_id_.erase(it);
            if (const ModuleFile *f = other([&](const ModuleFile &, const KeptFile &k) { return k.kernel_id == inode; }))
                by_kernel_id_.emplace(inode, f);
        }
        if (auto it = by_id_.find(build_id); it != by_id_.end() && it->second == file) {
            by_id_.erase(it);
            if (const ModuleFile *f = other([&](const ModuleFile &m, const KeptFile &) { return m.build_id == build_id; }))
                by_id_.emplace(build_id, f);
        }
    }
}

bool ModuleIndex::snapshot(pid_t pid)
{
    std::string dir = proc_root_ + "/" + std::to_string(pid);
    std::ifstream in(dir + "/maps");
    if (!in)
        return false;
    std::stringstream text;
    text << in.rdbuf();
    std::vector<Mapping> mappings;
    for (const MapsEntry &e : parse_maps(text.str())) {
        if (e.perms.find('x') == std::string::npos)
            continue;
        Mapping m{e.start, e.end, e.offset, nullptr, e.path};
        if (!e.path.empty() && e.path[0] == '/')
            m.file = remember(e.path, mapped_file_path(dir, e));
        mappings.push_back(std::move(m));
    }
    if (mappings.empty() && text.str().empty())
        return false;
    merge(pid, std::move(mappings));
    return true;
}

void ModuleIndex::merge(pid_t pid, std::vector<Mapping> fresh)
{
    std::vector<Mapping> &have = maps_[pid];
    for (Mapping &m : fresh) {
        // what it overlaps is gone, and so is the same part of the same file
        // elsewhere (unmapped, then mapped again: dlclose, dlopen)
        std::erase_if(have, [&](const Mapping &old) {
            return (old.start < m.end && m.start < old.end) ||
                   (m.file && old.file == m.file && old.offset == m.offset);
        });
        have.push_back(std::move(m));
    }
    std::sort(have.begin(), have.end(), [](const Mapping &a, const Mapping &b) { return a.start < b.start; });
    generations_[pid] = next_generation_++;
}

const ModuleFile *ModuleIndex::file_of(pid_t pid, const KernelMapping &k)
{
    // Through the process first: map_files/ opens the very file mapped (deleted,
    // or in another mount namespace); then its root, then the path as it is here.
    char range[64];
    std::snprintf(range, sizeof(range), "/%" PRIx64 "-%" PRIx64, k.start, k.end);
    const std::string dir = proc_root_ + "/" + std::to_string(pid);
    const std::pair<uint64_t, uint64_t> id{k.dev, k.ino};
    for (const std::string &candidate : {dir + "/map_files" + range, dir + "/root" + k.path, k.path})
        if (!k.path.empty())
            if (const ModuleFile *file = remember(k.path, candidate, &id))
                return file;
    return by_kernel_id(k.dev, k.ino);
}

void ModuleIndex::add_mapping(pid_t pid, const KernelMapping &k)
{
    merge(pid, {{k.start, k.end, k.offset, file_of(pid, k), k.path}});
}

void ModuleIndex::forget(pid_t pid)
{
    maps_.erase(pid);
    generations_.erase(pid); // 0: no mappings (every snapshot after gets a new number)
}

const std::vector<ModuleIndex::Mapping> *ModuleIndex::mappings(pid_t pid) const
{
    auto it = maps_.find(pid);
    return it == maps_.end() ? nullptr : &it->second;
}

uint64_t ModuleIndex::generation(pid_t pid) const
{
    auto it = generations_.find(pid);
    return it == generations_.end() ? 0 : it->second;
}

void ModuleIndex::scan_directories(const std::vector<std::string> &dirs)
{
    for (const auto &dir : dirs) {
        std::error_code ec;
        for (const auto &entry : fs::directory_iterator(dir, ec)) {
            std::string name = entry.path().filename().string();
            if (name.find(".so") == std::string::npos || !entry.is_regular_file(ec))
                continue;
            remember(entry.path().string(), entry.path().string());
        }
    }
}

const ModuleFile *ModuleIndex::by_build_id(const std::string &hex) const
{
    auto it = by_id_.find(hex);
    return it == by_id_.end() ? nullptr : it->second;
}

const ModuleFile *ModuleIndex::by_kernel_id(uint64_t dev, uint64_t ino) const
{
    auto it = by_kernel_id_.find({dev, ino});
    return it == by_kernel_id_.end() ? nullptr : it->second;
}

MappedAddress ModuleIndex::find(pid_t pid, uint64_t address) const
{
    MappedAddress out;
    auto it = maps_.find(pid);
    if (it == maps_.end())
        return out;
    for (const Mapping &m : it->second) {
        if (address >= m.start && address < m.end) {
            out.file = m.file;
            out.region = m.region;
            out.file_offset = address - m.start + m.offset;
            return out;
        }
    }
    return out;
}

} // namespace memtrace
