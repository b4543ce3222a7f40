// A destination for a report, opened before tracing starts so that an
// unwritable path fails at once, and written only at the end.
//
// memtrace runs as root, often in directories other users can write: a file
// is written to a new temporary file (O_EXCL) beside it and renamed over it, so
// a symlink planted at its name is replaced, never followed to truncate what it
// points to. Devices and FIFOs (/dev/null, /dev/stdout) are written in place.
// Under sudo, the files belong to the invoking user (SUDO_UID/SUDO_GID).
#pragma once

#include <functional>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

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
    bool write(std::string_view content);
    // The same with what `fill` writes on the stream, passed on 1 MiB at a time:
    // a large output (the folded stacks of -a) is never whole in memory.
    bool write_with(const std::function<void(std::ostream &)> &fill);
    // For a writer of its own (rsvg-convert): the descriptor to fill (-1:
    // stdout), then commit() puts the file in place as write() does.
    int descriptor() const { return file_ ? file_.get() : -1; }
    bool commit();
    // For a file written as it is made: append() writes at its end, place()
    // renames it into place at once and keeps it open for more.
    bool replaces_file() const { return !temp_path_.empty(); } // not stdout, a device, a FIFO
    bool append(std::string_view content);
    bool place();
    const std::string &path() const { return path_; }

private:
    bool replace_file(); // the temporary file renamed over path_
    std::string path_;
    std::string temp_path_; // "": written in place (stdout, a device, a FIFO)
    UniqueFd file_;         // none: stdout
    bool written_ = false;
};

// Refuses (Error, exit 2) two of `outputs` that name one file, or an output
// that names one of `inputs`: by device and inode where the file exists, by
// canonical path where it does not. stdout ("", "-"), devices and FIFOs may
// repeat. Each entry: (what names it, e.g. "--json", the path).
void refuse_shared_files(const std::vector<std::pair<std::string, std::string>> &outputs,
                         const std::vector<std::pair<std::string, std::string>> &inputs = {});

} // namespace memtrace
