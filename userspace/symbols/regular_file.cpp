#include "symbols/regular_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace memtrace {

RegularFile open_regular_file(const std::string &path, FinalSymlink symlink)
{
    RegularFile file;
    int flags = O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY;
    if (symlink == FinalSymlink::Refuse)
        flags |= O_NOFOLLOW;
    file.fd.reset(::open(path.c_str(), flags));
    if (!file.fd) {
        int err = errno;
        file.why = "cannot read '" + path + "': " + std::strerror(err);
        return file;
    }
    if (fstat(file.fd.get(), &file.st) != 0 || !S_ISREG(file.st.st_mode)) {
        file.fd.reset();
        file.why = "'" + path + "' is not a regular file";
        return file;
    }
    // Readers (libelf, libdwfl) expect an ordinary descriptor.
    fcntl(file.fd.get(), F_SETFL, fcntl(file.fd.get(), F_GETFL) & ~O_NONBLOCK);
    return file;
}

std::optional<std::string> read_bounded(int fd, size_t max_bytes)
{
    std::string text;
    char buffer[65536];
    for (;;) {
        ssize_t n = ::read(fd, buffer, sizeof(buffer));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return std::nullopt;
        if (n == 0)
            return text;
        if (text.size() + static_cast<size_t>(n) > max_bytes)
            return std::nullopt;
        text.append(buffer, static_cast<size_t>(n));
    }
}

} // namespace memtrace
