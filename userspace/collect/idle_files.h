// -a, --children: which files no process maps have stayed so long enough to be
// let go. A program run again and again (cc1 in a build, sh in a script) keeps
// its file, symbol table and unwind tables between runs instead of having them
// opened, read and sorted anew for each one.
#pragma once

#include <cstdint>
#include <map>
#include <set>

#include "symbols/module_index.h"

namespace memtrace {

class IdleFiles {
public:
    explicit IdleFiles(uint64_t grace_ns) : grace_ns_(grace_ns) {}

    // `unused`: the files nothing uses at `now_ns`. Returns those among them
    // unused since `grace_ns` ago or longer, and forgets them (they are about
    // to be released); a file used again in between starts over.
    std::set<const ModuleFile *> expired(const std::set<const ModuleFile *> &unused, uint64_t now_ns);
    size_t waiting() const { return since_ns_.size(); }

private:
    uint64_t grace_ns_;
    std::map<const ModuleFile *, uint64_t> since_ns_; // unused since
};

} // namespace memtrace
