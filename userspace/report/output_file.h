// A destination for a report, opened before tracing starts so that an
// unwritable path fails at once, and written only at the end.
#pragma once

#include <string>

#include "unique_fd.h"

namespace memtrace {

class OutputFile {
public:
    // "" or "-": stdout. Throws Error if the file cannot be opened for writing.
    explicit OutputFile(const std::string &path);
    ~OutputFile(); // removes a file it created but never wrote
    OutputFile(const OutputFile &) = delete;
    OutputFile &operator=(const OutputFile &) = delete;

    // Replaces the file's content. Returns false (and says why on stderr) on failure.
    bool write(const std::string &content);
    const std::string &path() const { return path_; }

private:
    std::string path_;
    UniqueFd file_; // none: stdout
    bool created_ = false;
    bool written_ = false;
};

} // namespace memtrace
