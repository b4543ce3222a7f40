#include "report/output_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <vector>

#include "error.h"

namespace memtrace {
namespace {

// SUDO_UID or SUDO_GID when well formed (decimal), else -1: the file stays root's.
long sudo_id(const char *name)
{
    const char *text = getenv(name);
    if (!text || !*text || std::strspn(text, "0123456789") != std::strlen(text) || std::strlen(text) > 9)
        return -1;
    return std::strtol(text, nullptr, 10);
}

// Written in place: what exists at `path`, after symlinks, and is no regular file.
bool is_device_or_fifo(const std::string &path)
{
    struct stat st {};
    return stat(path.c_str(), &st) == 0 && (S_ISCHR(st.st_mode) || S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode));
}

} // namespace

OutputFile::OutputFile(const std::string &path) : path_(path)
{
    if (path.empty() || path == "-")
        return;
    if (is_device_or_fifo(path)) {
        file_.reset(open(path.c_str(), O_WRONLY | O_CLOEXEC | O_NOCTTY));
        if (!file_)
            throw Error("cannot write '" + path + "': " + std::strerror(errno));
        return;
    }
    size_t slash = path.rfind('/');
    std::string dir = slash == std::string::npos ? "" : path.substr(0, slash + 1);
    std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
    struct stat st {};
    if (stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode))
        throw Error("cannot write '" + path + "': " + std::strerror(EISDIR));
    temp_path_ = dir + "." + base + ".XXXXXX";
    file_.reset(mkostemp(temp_path_.data(), O_CLOEXEC)); // O_EXCL: never an existing file
    if (!file_) {
        int err = errno;
        temp_path_.clear();
        throw Error("cannot write '" + path + "': " + std::strerror(err));
    }
    fchmod(file_.get(), 0644);
    long uid = sudo_id("SUDO_UID"), gid = sudo_id("SUDO_GID");
    if (geteuid() == 0 && uid > 0 && gid >= 0 && fchown(file_.get(), static_cast<uid_t>(uid), static_cast<gid_t>(gid)) != 0)
        std::cerr << "memtrace: cannot give '" << path << "' to uid " << uid << ": " << std::strerror(errno) << '\n';
}

OutputFile::~OutputFile()
{
    file_.reset();
    if (!temp_path_.empty())
        unlink(temp_path_.c_str());
}

bool OutputFile::replace_file()
{
    if (rename(temp_path_.c_str(), path_.c_str()) != 0) {
        std::cerr << "memtrace: cannot write '" << path_ << "': " << std::strerror(errno) << '\n';
        return false;
    }
    temp_path_.clear(); // it is path_ now
    return true;
}

bool OutputFile::place()
{
    return temp_path_.empty() || replace_file();
}

bool OutputFile::append(std::string_view content)
{
    const int fd = file_ ? file_.get() : STDOUT_FILENO;
    for (size_t done = 0; done < content.size();) {
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
    return true;
}

bool OutputFile::commit()
{
    if (temp_path_.empty())
        return true;
    file_.reset();
    return replace_file();
}

namespace {

// A stream buffer that hands its content to an OutputFile a chunk at a time.
class ChunkedOutput : public std::streambuf {
public:
    explicit ChunkedOutput(OutputFile &file) : file_(file), buffer_(1 << 20)
    {
        setp(buffer_.data(), buffer_.data() + buffer_.size());
    }
    bool ok() const { return ok_; }

protected:
    int_type overflow(int_type c) override
    {
        if (!pass_on())
            return traits_type::eof();
        if (!traits_type::eq_int_type(c, traits_type::eof())) {
            *pptr() = traits_type::to_char_type(c);
            pbump(1);
        }
        return traits_type::not_eof(c);
    }
    int sync() override { return pass_on() ? 0 : -1; }

private:
    bool pass_on()
    {
        if (ok_ && pptr() > pbase())
            ok_ = file_.append(std::string_view(pbase(), static_cast<size_t>(pptr() - pbase())));
        setp(buffer_.data(), buffer_.data() + buffer_.size());
        return ok_;
    }
    OutputFile &file_;
    std::vector<char> buffer_;
    bool ok_ = true;
};

} // namespace

bool OutputFile::write_with(const std::function<void(std::ostream &)> &fill)
{
    bool to_stdout = path_.empty() || path_ == "-";
    if (!to_stdout && !file_) {
        std::cerr << "memtrace: '" << path_ << "' was written already\n";
        return false;
    }
    ChunkedOutput chunks(*this);
    std::ostream out(&chunks);
    fill(out);
    out.flush();
    if (!chunks.ok())
        return false;
    written_ = true;
    return commit();
}

bool OutputFile::write(std::string_view content)
{
    bool to_stdout = path_.empty() || path_ == "-";
    if (!to_stdout && !file_) { // renamed into place already: written once only
        std::cerr << "memtrace: '" << path_ << "' was written already\n";
        return false;
    }
    if (!append(content))
        return false;
    written_ = true;
    return commit();
}

namespace {

// What identifies a path's file: "dev:inode" if it exists, else its canonical
// path; "" for what may be named twice (stdout, a device, a FIFO).
std::string file_identity(const std::string &path)
{
    if (path.empty() || path == "-")
        return "";
    if (is_device_or_fifo(path))
        return "";
    // a symlink is replaced, not written through: the name itself is the file
    struct stat st {};
    if (lstat(path.c_str(), &st) == 0)
        return std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino);
    std::error_code ec;
    std::filesystem::path canonical = std::filesystem::weakly_canonical(path, ec);
    return "path:" + (ec ? path : canonical.string());
}

} // namespace

void refuse_shared_files(const std::vector<std::pair<std::string, std::string>> &outputs,
                         const std::vector<std::pair<std::string, std::string>> &inputs)
{
    std::vector<std::pair<std::string, std::string>> seen; // (identity, what)
    for (const auto &[what, path] : inputs)
        if (std::string id = file_identity(path); !id.empty())
            seen.emplace_back(id, what);
    for (const auto &[what, path] : outputs) {
        const std::string id = file_identity(path);
        if (id.empty())
            continue;
        for (const auto &[other_id, other] : seen)
            if (other_id == id)
                throw Error(what + " and " + other + " name the same file '" + path +
                            "': give each its own");
        seen.emplace_back(id, what);
    }
}

} // namespace memtrace
