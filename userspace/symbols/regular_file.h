// Files memtrace reads on behalf of traced processes (their binaries, debug
// files, perf maps): any user may have put a FIFO, a device or a symlink there.
// A blocking open() of a FIFO would hang root's memtrace for good, so these
// files are opened without blocking, and only regular files are accepted.
#pragma once

#include <sys/stat.h>

#include <cstddef>
#include <optional>
#include <string>

#include "unique_fd.h"

namespace memtrace {

enum class FinalSymlink { Follow, Refuse };

struct RegularFile {
    UniqueFd fd;           // blocking again once known to be a regular file
    struct stat st {};     // of the open file
    std::string why;       // "cannot read 'PATH': ...", "'PATH' is not a regular file"
};

// Refuse: a symlink as the last component is not followed (O_NOFOLLOW), for
// names in directories any user can write (/tmp/perf-PID.map).
RegularFile open_regular_file(const std::string &path, FinalSymlink symlink = FinalSymlink::Follow);

// The whole file, or nullopt if it is larger than max_bytes or unreadable.
std::optional<std::string> read_bounded(int fd, size_t max_bytes);

} // namespace memtrace
