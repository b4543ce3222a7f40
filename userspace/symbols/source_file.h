// Source files named by traced programs (DWARF line tables, co_filename), read
// for --lines. Their names come from the traced program, so memtrace (root)
// reads them as it reads binaries (regular files only, without blocking,
// bounded) and, under sudo, only if the invoking user could read them: a
// program must not get memtrace to print a file its user cannot read.
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace memtrace {

// Who may see the source (sudo's invoker); nullopt: memtrace's own user.
struct SourceReader {
    uid_t uid = 0;
    std::vector<gid_t> groups; // the primary group first
};

struct SourceText {
    std::optional<std::vector<std::string>> lines; // line 1 first
    std::string why; // when not read: "source not found: PATH", ...
};

class SourceFiles {
public:
    static constexpr size_t kMaxBytes = size_t{16} << 20; // larger files are not shown
    explicit SourceFiles(std::optional<SourceReader> reader) : reader_(std::move(reader)) {}
    // Read once per path.
    const SourceText &read(const std::string &path);

private:
    std::optional<SourceReader> reader_;
    std::map<std::string, SourceText> cache_; // nodes stay put: references stay valid
};

// Whether the permission bits of `st` let `reader` read the file.
bool readable_by(const struct stat &st, const SourceReader &reader);

} // namespace memtrace
