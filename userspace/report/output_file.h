// A destination for a report, opened before tracing starts so that an
// unwritable path fails at once, and written only at the end.
//
// memtrace runs as root, often in directories other users can write: a file
// is written to a new temporary file (O_EXCL) beside it and renamed over it, so
// a symlink planted at its name is replaced, never followed to truncate what it
// points to. Devices and FIFOs (/dev/null, /dev/stdout) are written in place.
// Under sudo, the files belong to the invoking user (SUDO_UID/SUDO_GID).
#pragma once

#include <string>

#include "unique_fd.h"

namespace memtrace {

class OutputFile {
public:
    // "" or "-": stdout. Throws Error if the file cannot be opened for writing.
    explicit OutputFile(const std::string &path);
    ~OutputFile(); // removes its temporary file if never written
    OutputFile(const OutputFile &) = delete;
    OutputFile &operator=(const OutputFile &) = delete;

    // Replaces the file's content. Returns false (and says why on stderr) on failure.
    bool write(const std::string &content);
    const std::string &path() const { return path_; }

private:
    bool replace_file(); // the temporary file renamed over path_
    std::string path_;
    std::string temp_path_; // "": written in place (stdout, a device, a FIFO)
    UniqueFd file_;         // none: stdout
    bool written_ = false;
};

} // namespace memtrace
