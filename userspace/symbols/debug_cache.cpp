#include "symbols/debug_cache.h"

#include <elf.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>
#include <zlib.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <type_traits>
#include <vector>

#include "symbols/elf_file.h"
#include "symbols/regular_file.h"

namespace memtrace {

namespace {

std::string cache_dir_setting; // "" until set: no cache

constexpr size_t kChunk = 64 * 1024;
constexpr uint64_t kMaxAlign = 64 * 1024;
constexpr uint64_t kMaxCopy = 4ull << 30;       // a debug file larger than this uncompressed: left as is
constexpr uint64_t kMaxRatio = 20;              // DWARF inflates 3-6x; more is a zip bomb in a user's debug file
constexpr uint64_t kFreeMargin = 256ull << 20;  // never fill the disk to its last 256 MiB

// pread or pwrite until all `n` bytes are done (short counts and EINTR retried).
template <typename Io, typename Buffer> bool all_of_it(Io io, int fd, Buffer *buf, size_t n, uint64_t at)
{
    auto *p = reinterpret_cast<std::conditional_t<std::is_const_v<Buffer>, const uint8_t, uint8_t> *>(buf);
    while (n) {
        ssize_t done = io(fd, p, n, static_cast<off_t>(at));
        if (done < 0 && errno == EINTR)
            continue;
        if (done <= 0)
            return false;
        p += done;
        n -= static_cast<size_t>(done);
        at += static_cast<uint64_t>(done);
    }
    return true;
}

bool pread_all(int fd, void *buf, size_t n, uint64_t at)
{
    return all_of_it(::pread, fd, buf, n, at);
}

bool pwrite_all(int fd, const void *buf, size_t n, uint64_t at)
{
    return all_of_it(::pwrite, fd, buf, n, at);
}

// The headers of a 64-bit little-endian ELF file, every range checked
// against the file's size (a debug file next to a user's binary is the user's).
struct ElfHeaders {
    Elf64_Ehdr ehdr{};
    std::vector<uint8_t> phdrs; // as stored
    std::vector<Elf64_Shdr> shdrs;
};

bool in_file(uint64_t offset, uint64_t size, uint64_t file_size)
{
    return offset <= file_size && size <= file_size - offset;
}

std::optional<ElfHeaders> read_headers(int fd, uint64_t file_size)
{
    ElfHeaders h;
    Elf64_Ehdr &e = h.ehdr;
    if (!pread_all(fd, &e, sizeof(e), 0) || std::memcmp(e.e_ident, ELFMAG, SELFMAG) != 0 ||
        e.e_ident[EI_CLASS] != ELFCLASS64 || e.e_ident[EI_DATA] != ELFDATA2LSB ||
        e.e_shentsize != sizeof(Elf64_Shdr) || e.e_shnum == 0 || e.e_shstrndx >= e.e_shnum ||
        (e.e_phnum && e.e_phentsize != sizeof(Elf64_Phdr)))
        return std::nullopt; // e_shnum 0 is extended numbering: not for debug files
    uint64_t ph_bytes = uint64_t(e.e_phnum) * sizeof(Elf64_Phdr);
    uint64_t sh_bytes = uint64_t(e.e_shnum) * sizeof(Elf64_Shdr);
    if (!in_file(e.e_phoff, ph_bytes, file_size) || !in_file(e.e_shoff, sh_bytes, file_size))
        return std::nullopt;
    h.phdrs.resize(ph_bytes);
    h.shdrs.resize(e.e_shnum);
    if ((ph_bytes && !pread_all(fd, h.phdrs.data(), ph_bytes, e.e_phoff)) ||
        !pread_all(fd, h.shdrs.data(), sh_bytes, e.e_shoff))
        return std::nullopt;
    for (const Elf64_Shdr &s : h.shdrs)
        if ((s.sh_type != SHT_NOBITS && !in_file(s.sh_offset, s.sh_size, file_size)) ||
            s.sh_addralign > kMaxAlign)
            return std::nullopt;
    return h;
}

// The section's compression header if it is zlib-compressed (the only kind
// Debian's debug files use; zstd ones are left to libdw).
std::optional<Elf64_Chdr> zlib_header(int fd, const Elf64_Shdr &s)
{
    Elf64_Chdr c{};
    if (!(s.sh_flags & SHF_COMPRESSED) || s.sh_type == SHT_NOBITS || s.sh_size < sizeof(c) ||
        !pread_all(fd, &c, sizeof(c), s.sh_offset) || c.ch_type != ELFCOMPRESS_ZLIB ||
        c.ch_addralign > kMaxAlign)
        return std::nullopt;
    return c;
}

uint64_t align_up(uint64_t at, uint64_t align)
{
    return align > 1 ? (at + align - 1) / align * align : at;
}

// Inflates `n` compressed bytes at `from` in `in` to `at` in `out`: exactly
// `expect` bytes, or false.
bool inflate_section(int in, uint64_t from, uint64_t n, int out, uint64_t at, uint64_t expect)
{
    z_stream z{};
    if (inflateInit(&z) != Z_OK)
        return false;
    std::vector<uint8_t> src(kChunk), dst(kChunk);
    uint64_t written = 0;
    int rc = Z_OK;
    while (rc != Z_STREAM_END) {
        if (z.avail_in == 0) {
            size_t take = static_cast<size_t>(std::min<uint64_t>(n, kChunk));
            if (take == 0 || !pread_all(in, src.data(), take, from))
                break; // the stream ends before zlib says so: truncated
            from += take;
            n -= take;
            z.next_in = src.data();
            z.avail_in = static_cast<uInt>(take);
        }
        z.next_out = dst.data();
        z.avail_out = static_cast<uInt>(dst.size());
        rc = inflate(&z, Z_NO_FLUSH);
        size_t got = dst.size() - z.avail_out;
        if ((rc != Z_OK && rc != Z_STREAM_END) || written + got > expect ||
            !pwrite_all(out, dst.data(), got, at + written))
            break;
        written += got;
    }
    inflateEnd(&z);
    return rc == Z_STREAM_END && written == expect;
}

bool copy_range(int in, uint64_t from, uint64_t n, int out, uint64_t at)
{
    std::vector<uint8_t> buf(kChunk);
    while (n) {
        size_t take = static_cast<size_t>(std::min<uint64_t>(n, kChunk));
        if (!pread_all(in, buf.data(), take, from) || !pwrite_all(out, buf.data(), take, at))
            return false;
        from += take;
        at += take;
        n -= take;
    }
    return true;
}

// Where each section goes in the copy (in order, aligned, decompressed sizes)
// and the copy's size; nullopt if no section is compressed.
std::optional<uint64_t> lay_out(int in, ElfHeaders &h, std::vector<Elf64_Shdr> &out)
{
    out = h.shdrs;
    bool any = false;
    uint64_t at = sizeof(Elf64_Ehdr) + h.phdrs.size();
    for (size_t i = 1; i < out.size(); ++i) {
        Elf64_Shdr &s = out[i];
        if (s.sh_type == SHT_NOBITS) {
            s.sh_offset = at;
            continue;
        }
        if (auto c = zlib_header(in, h.shdrs[i])) {
            any = true;
            s.sh_size = c->ch_size;
            s.sh_addralign = c->ch_addralign;
            s.sh_flags &= ~uint64_t(SHF_COMPRESSED);
        }
        at = align_up(at, s.sh_addralign);
        s.sh_offset = at;
        if (s.sh_size > kMaxCopy - at)
            return std::nullopt;
        at += s.sh_size;
    }
    if (!any)
        return std::nullopt;
    return align_up(at, 8) + out.size() * sizeof(Elf64_Shdr);
}

bool write_copy(int in, const ElfHeaders &h, const std::vector<Elf64_Shdr> &out, uint64_t size, int to)
{
    for (size_t i = 1; i < out.size(); ++i) {
        const Elf64_Shdr &was = h.shdrs[i], &now = out[i];
        if (now.sh_type == SHT_NOBITS)
            continue;
        bool ok = (was.sh_flags & SHF_COMPRESSED) && !(now.sh_flags & SHF_COMPRESSED)
                      ? inflate_section(in, was.sh_offset + sizeof(Elf64_Chdr),
                                        was.sh_size - sizeof(Elf64_Chdr), to, now.sh_offset, now.sh_size)
                      : copy_range(in, was.sh_offset, was.sh_size, to, now.sh_offset);
        if (!ok)
            return false;
    }
    Elf64_Ehdr e = h.ehdr;
    e.e_phoff = h.phdrs.empty() ? 0 : sizeof(Elf64_Ehdr);
    e.e_shoff = size - out.size() * sizeof(Elf64_Shdr);
    return pwrite_all(to, &e, sizeof(e), 0) &&
           (h.phdrs.empty() || pwrite_all(to, h.phdrs.data(), h.phdrs.size(), sizeof(e))) &&
           pwrite_all(to, out.data(), out.size() * sizeof(Elf64_Shdr), e.e_shoff);
}

bool hex_id(const std::string &id)
{
    return id.size() >= 2 && id.size() <= 128 &&
           id.find_first_not_of("0123456789abcdef") == std::string::npos;
}

// A copy made earlier, still there: ours and of this build-id.
bool cached(const std::string &path, const std::string &build_id)
{
    RegularFile f = open_regular_file(path, FinalSymlink::Refuse);
    if (!f.fd || f.st.st_uid != ::geteuid())
        return false;
    ElfOpen elf = ElfFile::try_open(path);
    return elf.file && elf.file->build_id() == build_id;
}

// A copy serves every later run, whoever's program it names: only files no
// other user could have written (root's or memtrace's user's, not writable by
// group or others) are copied. A user's own debug file next to their binary,
// which could claim any build-id (libc's), is read in place as before.
bool trusted_source(const struct stat &st)
{
    return (st.st_uid == 0 || st.st_uid == ::geteuid()) && (st.st_mode & 022) == 0;
}

bool room_for(const std::string &dir, uint64_t bytes)
{
    struct statvfs vfs {};
    return ::statvfs(dir.c_str(), &vfs) == 0 &&
           uint64_t(vfs.f_bavail) * vfs.f_frsize >= bytes + kFreeMargin;
}

} // namespace

// Made if missing (and its parent: ~/.cache may not exist yet).
bool usable_debug_cache_dir(const std::string &dir)
{
    std::string parent = dir.substr(0, dir.find_last_of('/'));
    for (const std::string &d : {parent, dir})
        if (!d.empty() && ::mkdir(d.c_str(), 0700) != 0 && errno != EEXIST)
            return false;
    struct stat st {};
    return ::lstat(dir.c_str(), &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == ::geteuid() &&
           (st.st_mode & 022) == 0;
}

std::string default_debug_cache_dir()
{
    if (::geteuid() == 0)
        return "/var/cache/memtrace";
    const char *xdg = std::getenv("XDG_CACHE_HOME");
    if (xdg && xdg[0] == '/')
        return std::string(xdg) + "/memtrace";
    const char *home = std::getenv("HOME");
    if (home && home[0] == '/')
        return std::string(home) + "/.cache/memtrace";
    return "";
}

void set_debug_cache_dir(const std::string &dir)
{
    cache_dir_setting = dir;
}

const std::string &debug_cache_dir()
{
    return cache_dir_setting;
}

bool has_compressed_sections(const std::string &path)
{
    RegularFile f = open_regular_file(path);
    std::optional<ElfHeaders> h = f.fd ? read_headers(f.fd.get(), uint64_t(f.st.st_size)) : std::nullopt;
    if (!h)
        return false;
    for (const Elf64_Shdr &s : h->shdrs)
        if (zlib_header(f.fd.get(), s))
            return true;
    return false;
}

std::optional<std::string> uncompressed_debug_copy(const std::string &debug_path, const std::string &build_id,
                                                   const std::string &dir)
{
    if (dir.empty() || !hex_id(build_id) || !usable_debug_cache_dir(dir))
        return std::nullopt;
    const std::string path = dir + "/" + build_id + ".debug";
    if (cached(path, build_id))
        return path;
    RegularFile in = open_regular_file(debug_path);
    if (!in.fd || !trusted_source(in.st))
        return std::nullopt;
    std::optional<ElfHeaders> h = read_headers(in.fd.get(), uint64_t(in.st.st_size));
    std::vector<Elf64_Shdr> out;
    std::optional<uint64_t> size = h ? lay_out(in.fd.get(), *h, out) : std::nullopt;
    if (!size || *size / kMaxRatio > uint64_t(in.st.st_size) || !room_for(dir, *size))
        return std::nullopt;
    std::string tmp = dir + "/." + build_id + ".XXXXXX";
    UniqueFd to(::mkostemp(tmp.data(), O_CLOEXEC));
    if (!to)
        return std::nullopt;
    bool ok = write_copy(in.fd.get(), *h, out, *size, to.get()) && ::ftruncate(to.get(), off_t(*size)) == 0;
    to.reset();
    // named only once it reads back as an ELF file of this build-id
    if (!ok || !cached(tmp, build_id) || ::rename(tmp.c_str(), path.c_str()) != 0) {
        ::unlink(tmp.c_str());
        return std::nullopt;
    }
    return path;
}

std::optional<std::string> uncompressed_debug_copy(const std::string &debug_path, const std::string &build_id)
{
    static bool checked = false; // once per run: a cache that cannot be used is not an error
    if (!cache_dir_setting.empty() && !checked) {
        checked = true;
        if (!usable_debug_cache_dir(cache_dir_setting))
            std::cerr << "memtrace: debug cache '" << cache_dir_setting
                      << "' is not usable (cannot be made, not a directory, not ours, or writable by others): "
                         "compressed debug files are read in memory (--debug-cache DIR|none)\n";
    }
    return uncompressed_debug_copy(debug_path, build_id, cache_dir_setting);
}

} // namespace memtrace
