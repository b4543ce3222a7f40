#include "report/output_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iostream>

#include "error.h"

namespace memtrace {

OutputFile::OutputFile(const std::string &path) : path_(path)
{
    if (path.empty() || path == "-")
        return;
    struct stat st {};
    created_ = stat(path.c_str(), &st) != 0;
    file_.reset(open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
    if (!file_)
        throw Error("cannot write '" + path + "': " + std::strerror(errno));
}

OutputFile::~OutputFile()
{
    file_.reset();
    if (created_ && !written_)
        unlink(path_.c_str());
}

bool OutputFile::write(const std::string &content)
{
    if (file_ && ftruncate(file_.get(), 0) != 0 && errno != EINVAL) {
        std::cerr << "memtrace: cannot write '" << path_ << "': " << std::strerror(errno) << '\n';
        return false;
    }
    int fd = file_ ? file_.get() : STDOUT_FILENO;
    size_t done = 0;
    while (done < content.size()) {
        ssize_t n = ::write(fd, content.data() + done, content.size() - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            std::cerr << "memtrace: cannot write '" << (path_.empty() ? "stdout" : path_)
                      << "': " << std::strerror(errno) << '\n';
            return false;
        }
        done += static_cast<size_t>(n);
    }
    written_ = true;
    return true;
}

} // namespace memtrace
