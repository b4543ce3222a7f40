#include "symbols/elf_file.h"

#include <elf.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <initializer_list>
#include <set>
#include <sstream>

#include "error.h"
#include "symbols/elfutils.h"
#include "symbols/regular_file.h"
#include "unique_fd.h"

namespace memtrace {

struct ElfFile::Handle {
    // Destroyed bottom up: the Elf ends before its descriptor closes or its bytes go.
    std::vector<char> image; // when read from memory
    UniqueFd fd;
    ElfPtr elf;
};

namespace {

template <typename Fn> void for_each_section(Elf *elf, Fn fn)
{
    Elf_Scn *scn = nullptr;
    while ((scn = elf_nextscn(elf, scn)) != nullptr) {
        GElf_Shdr shdr;
        if (gelf_getshdr(scn, &shdr))
            fn(scn, shdr);
    }
}

// Calls fn(data, shdr, index) for each entry of the sections of these types
// (symbol tables, dynamic sections: arrays of fixed-size entries); fn returns
// false to leave the section.
template <typename Fn>
void for_each_entry(Elf *elf, std::initializer_list<GElf_Word> types, Fn fn)
{
    for_each_section(elf, [&](Elf_Scn *scn, const GElf_Shdr &shdr) {
        if (std::find(types.begin(), types.end(), shdr.sh_type) == types.end())
            return;
        Elf_Data *data = elf_getdata(scn, nullptr);
        if (!data || shdr.sh_entsize == 0)
            return;
        size_t n = shdr.sh_size / shdr.sh_entsize;
        for (size_t i = 0; i < n; ++i)
            if (!fn(data, shdr, static_cast<int>(i)))
                return;
    });
}

ElfFile opened_or_thrown(ElfOpen opened)
{
    if (!opened.file)
        throw Error(opened.why);
    return std::move(*opened.file);
}

std::string section_name(Elf *elf, const GElf_Shdr &shdr)
{
    size_t strndx = 0;
    if (elf_getshdrstrndx(elf, &strndx) != 0)
        return "";
    const char *name = elf_strptr(elf, strndx, shdr.sh_name);
    return name ? name : "";
}

} // namespace

ElfFile::ElfFile(std::string path, std::unique_ptr<Handle> handle)
    : handle_(std::move(handle)), path_(std::move(path))
{
}

ElfOpen ElfFile::try_open(const std::string &path)
{
    elf_version(EV_CURRENT);
    auto handle = std::make_unique<Handle>();
    RegularFile opened = open_regular_file(path);
    if (!opened.fd)
        return {std::nullopt, std::move(opened.why)};
    handle->fd = std::move(opened.fd);
    handle->elf.reset(elf_begin(handle->fd.get(), ELF_C_READ_MMAP, nullptr));
    ElfFile file(path, std::move(handle));
    if (std::string why = file.load_segments(); !why.empty())
        return {std::nullopt, std::move(why)};
    return {std::move(file), ""};
}

ElfFile::ElfFile(const std::string &path) : ElfFile(opened_or_thrown(try_open(path))) {}

ElfFile::ElfFile(const std::string &name, std::vector<char> image)
    : handle_(std::make_unique<Handle>()), path_(name)
{
    elf_version(EV_CURRENT);
    handle_->image = std::move(image);
    handle_->elf.reset(elf_memory(handle_->image.data(), handle_->image.size()));
    if (std::string why = load_segments(); !why.empty())
        throw Error(why);
}

std::string ElfFile::load_segments()
{
    if (!handle_->elf || elf_kind(handle_->elf.get()) != ELF_K_ELF)
        return "'" + path_ + "' is not an ELF file";
    GElf_Ehdr ehdr;
    if (!gelf_getehdr(handle_->elf.get(), &ehdr))
        return "'" + path_ + "' has no readable ELF header";
    size_t count = 0;
    if (elf_getphdrnum(handle_->elf.get(), &count) != 0)
        count = 0;
    for (size_t i = 0; i < count; ++i) {
        GElf_Phdr phdr;
        if (gelf_getphdr(handle_->elf.get(), static_cast<int>(i), &phdr) && phdr.p_type == PT_LOAD)
            segments_.push_back({phdr.p_vaddr, phdr.p_memsz, phdr.p_offset, phdr.p_filesz,
                                 (phdr.p_flags & PF_X) != 0});
    }
    return "";
}

ElfFile::~ElfFile() = default;
ElfFile::ElfFile(ElfFile &&) noexcept = default;
ElfFile &ElfFile::operator=(ElfFile &&) noexcept = default;

bool ElfFile::is_shared_object() const
{
    GElf_Ehdr ehdr;
    return gelf_getehdr(handle_->elf.get(), &ehdr) && ehdr.e_type == ET_DYN;
}

std::optional<uint64_t> ElfFile::file_offset(uint64_t vaddr) const
{
    for (const LoadSegment &seg : segments_)
        if (vaddr >= seg.vaddr && vaddr < seg.vaddr + seg.filesz)
            return vaddr - seg.vaddr + seg.offset;
    return std::nullopt;
}

std::optional<uint64_t> ElfFile::vaddr_of(uint64_t offset) const
{
    for (const LoadSegment &seg : segments_)
        if (offset >= seg.offset && offset < seg.offset + seg.filesz)
            return offset - seg.offset + seg.vaddr;
    return std::nullopt;
}

std::string ElfFile::build_id() const
{
    std::string hex;
    for_each_section(handle_->elf.get(), [&](Elf_Scn *scn, const GElf_Shdr &shdr) {
        if (shdr.sh_type != SHT_NOTE || !hex.empty())
            return;
        Elf_Data *data = elf_getdata(scn, nullptr);
        if (!data)
            return;
        size_t offset = 0, name_off = 0, desc_off = 0;
        GElf_Nhdr nhdr;
        while ((offset = gelf_getnote(data, offset, &nhdr, &name_off, &desc_off)) > 0) {
            if (nhdr.n_type != NT_GNU_BUILD_ID || nhdr.n_namesz != 4 ||
                std::memcmp(static_cast<char *>(data->d_buf) + name_off, "GNU", 4) != 0)
                continue;
            const auto *bytes = static_cast<const unsigned char *>(data->d_buf) + desc_off;
            static const char digits[] = "0123456789abcdef";
            for (size_t i = 0; i < nhdr.n_descsz; ++i) {
                hex += digits[bytes[i] >> 4];
                hex += digits[bytes[i] & 15];
            }
            return;
        }
    });
    return hex;
}

std::optional<std::string> ElfFile::debuglink() const
{
    std::optional<std::string> link;
    for_each_section(handle_->elf.get(), [&](Elf_Scn *scn, const GElf_Shdr &shdr) {
        if (link || section_name(handle_->elf.get(), shdr) != ".gnu_debuglink")
            return;
        Elf_Data *data = elf_getdata(scn, nullptr);
        if (data && data->d_size > 0) {
            const char *text = static_cast<const char *>(data->d_buf);
            link = std::string(text, strnlen(text, data->d_size));
        }
    });
    if (link && link->empty())
        link.reset();
    return link;
}

namespace {

std::vector<std::pair<int64_t, std::string>> dynamic_strings(Elf *elf)
{
    std::vector<std::pair<int64_t, std::string>> out;
    for_each_entry(elf, {SHT_DYNAMIC}, [&](Elf_Data *data, const GElf_Shdr &shdr, int i) {
        GElf_Dyn dyn;
        if (!gelf_getdyn(data, i, &dyn) || dyn.d_tag == DT_NULL)
            return false;
        if (dyn.d_tag == DT_NEEDED || dyn.d_tag == DT_RUNPATH || dyn.d_tag == DT_RPATH) {
            const char *s = elf_strptr(elf, shdr.sh_link, dyn.d_un.d_val);
            if (s)
                out.emplace_back(dyn.d_tag, s);
        }
        return true;
    });
    return out;
}

} // namespace

std::vector<std::string> ElfFile::needed() const
{
    std::vector<std::string> out;
    for (auto &[tag, value] : dynamic_strings(handle_->elf.get()))
        if (tag == DT_NEEDED)
            out.push_back(value);
    return out;
}

std::vector<std::string> ElfFile::search_path() const
{
    std::string runpath, rpath;
    for (auto &[tag, value] : dynamic_strings(handle_->elf.get())) {
        if (tag == DT_RUNPATH)
            runpath = value;
        else if (tag == DT_RPATH)
            rpath = value;
    }
    std::vector<std::string> dirs;
    std::istringstream list(runpath.empty() ? rpath : runpath);
    std::string dir;
    while (std::getline(list, dir, ':'))
        if (!dir.empty())
            dirs.push_back(dir);
    return dirs;
}

bool ElfFile::has_symtab() const
{
    bool found = false;
    for_each_section(handle_->elf.get(), [&](Elf_Scn *, const GElf_Shdr &shdr) {
        found |= shdr.sh_type == SHT_SYMTAB;
    });
    return found;
}

std::optional<ElfFile::Section> ElfFile::section(const std::string &name) const
{
    std::optional<Section> found;
    for_each_section(handle_->elf.get(), [&](Elf_Scn *, const GElf_Shdr &shdr) {
        if (!found && (shdr.sh_flags & SHF_ALLOC) && shdr.sh_type != SHT_NOBITS &&
            section_name(handle_->elf.get(), shdr) == name)
            found = Section{shdr.sh_addr, shdr.sh_size};
    });
    return found;
}

std::vector<ElfSymbol> ElfFile::functions() const
{
    std::vector<ElfSymbol> out;
    std::set<std::pair<std::string, uint64_t>> seen;
    Elf *elf = handle_->elf.get();
    auto take = [&](Elf_Data *data, const GElf_Shdr &shdr, int i) {
        GElf_Sym sym;
        if (!gelf_getsym(data, i, &sym))
            return false;
        int type = GELF_ST_TYPE(sym.st_info);
        if ((type != STT_FUNC && type != STT_GNU_IFUNC) || sym.st_shndx == SHN_UNDEF ||
            sym.st_value == 0)
            return true;
        const char *name = elf_strptr(elf, shdr.sh_link, sym.st_name);
        if (!name || !*name)
            return true;
        std::string text = name;
        // .dynsym names may carry a version: "malloc@@GLIBC_2.2.5" in some tools' output,
        // but libelf gives the bare name; keep it as is.
        if (!seen.emplace(text, sym.st_value).second)
            return true;
        int bind = GELF_ST_BIND(sym.st_info);
        out.push_back({std::move(text), sym.st_value, sym.st_size,
                       bind == STB_GLOBAL || bind == STB_WEAK, type == STT_GNU_IFUNC});
        return true;
    };
    for_each_entry(elf, {SHT_SYMTAB, SHT_DYNSYM}, take);
    return out;
}

std::optional<ElfSymbol> ElfFile::data_symbol(const std::string &wanted) const
{
    std::optional<ElfSymbol> found;
    Elf *elf = handle_->elf.get();
    for_each_entry(elf, {SHT_DYNSYM, SHT_SYMTAB}, [&](Elf_Data *data, const GElf_Shdr &shdr, int i) {
        GElf_Sym sym;
        if (!gelf_getsym(data, i, &sym))
            return false;
        if (GELF_ST_TYPE(sym.st_info) != STT_OBJECT || sym.st_shndx == SHN_UNDEF)
            return true;
        const char *name = elf_strptr(elf, shdr.sh_link, sym.st_name);
        if (!name || wanted != name)
            return true;
        int bind = GELF_ST_BIND(sym.st_info);
        found = ElfSymbol{name, sym.st_value, sym.st_size, bind == STB_GLOBAL || bind == STB_WEAK, false};
        return false;
    });
    return found;
}

std::optional<std::vector<uint8_t>> ElfFile::read(uint64_t vaddr, uint64_t size) const
{
    auto offset = file_offset(vaddr);
    if (!offset || size > (64u << 20))
        return std::nullopt;
    for (const LoadSegment &seg : segments_) {
        if (vaddr < seg.vaddr || vaddr + size > seg.vaddr + seg.filesz)
            continue;
        size_t file_size = 0;
        const char *image = elf_rawfile(handle_->elf.get(), &file_size);
        if (!image || *offset + size > file_size)
            return std::nullopt;
        if (handle_->fd.get() < 0) // an image in memory
            return std::vector<uint8_t>(image + *offset, image + *offset + size);
        // Read, not copied from the mapping: one touch of it maps 16 pages into
        // memtrace's RSS (fault-around), for the 12 bytes of a prologue.
        std::vector<uint8_t> bytes(size);
        if (pread(handle_->fd.get(), bytes.data(), size, static_cast<off_t>(*offset)) != static_cast<ssize_t>(size))
            return std::nullopt;
        return bytes;
    }
    return std::nullopt;
}

} // namespace memtrace
