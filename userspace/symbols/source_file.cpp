#include "symbols/source_file.h"

#include <algorithm>

#include "model/line_table.h"
#include "symbols/regular_file.h"

namespace memtrace {

bool readable_by(const struct stat &st, const SourceReader &reader)
{
    if (st.st_uid == reader.uid)
        return st.st_mode & S_IRUSR;
    const bool in_group =
        std::find(reader.groups.begin(), reader.groups.end(), st.st_gid) != reader.groups.end();
    if (in_group)
        return st.st_mode & S_IRGRP;
    return st.st_mode & S_IROTH;
}

namespace {

SourceText read_text(const std::string &path, const std::optional<SourceReader> &reader)
{
    SourceText out;
    if (path.empty() || path.front() != '/') {
        out.why = "source not found: " + (path.empty() ? std::string("no file name") : path);
        return out;
    }
    RegularFile file = open_regular_file(path);
    if (!file.fd) {
        out.why = "source not found: " + path;
        return out;
    }
    if (reader && !readable_by(file.st, *reader)) {
        out.why = "source not shown: " + path + " is not readable by the invoking user";
        return out;
    }
    std::optional<std::string> text = read_bounded(file.fd.get(), SourceFiles::kMaxBytes);
    if (!text) {
        out.why = "source not shown: " + path + " is unreadable or larger than 16 MiB";
        return out;
    }
    out.lines = split_lines(*text);
    return out;
}

} // namespace

const SourceText &SourceFiles::read(const std::string &path)
{
    auto it = cache_.find(path);
    if (it == cache_.end())
        it = cache_.emplace(path, read_text(path, reader_)).first;
    return it->second;
}

} // namespace memtrace
