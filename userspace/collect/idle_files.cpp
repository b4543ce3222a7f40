#include "collect/idle_files.h"

namespace memtrace {

std::set<const ModuleFile *> IdleFiles::expired(const std::set<const ModuleFile *> &unused, uint64_t now_ns)
{
    std::erase_if(since_ns_, [&](const auto &entry) { return !unused.count(entry.first); }); // used again
    std::set<const ModuleFile *> out;
    for (const ModuleFile *file : unused) {
        const uint64_t since = since_ns_.try_emplace(file, now_ns).first->second;
        if (now_ns - since >= grace_ns_)
            out.insert(file);
    }
    for (const ModuleFile *file : out)
        since_ns_.erase(file);
    return out;
}

} // namespace memtrace
