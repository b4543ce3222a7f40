// One ELF file read with libelf: its load segments, identity (build-id,
// debuglink), dependencies, function symbols and code bytes. Read-only; never
// trusts the file (bad offsets and sizes are errors, not crashes).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace memtrace {

struct ElfSymbol {
    std::string name;   // as stored (mangled for C++)
    uint64_t value = 0; // virtual address in the file's own layout
    uint64_t size = 0;
    bool global = false; // STB_GLOBAL or STB_WEAK
    bool ifunc = false;  // STT_GNU_IFUNC: the resolver, not the function itself
};

struct LoadSegment {
    uint64_t vaddr = 0;
    uint64_t memsz = 0;
    uint64_t offset = 0;
    uint64_t filesz = 0;
    bool executable = false;
};

struct ElfOpen;

class ElfFile {
public:
    // Never throws for a file that is missing, unreadable or not ELF: says why instead.
    static ElfOpen try_open(const std::string &path);
    // Throws Error(why) where try_open would say why.
    explicit ElfFile(const std::string &path);
    // An ELF image in memory (for fuzzing the reader); `name` names it in errors.
    ElfFile(const std::string &name, std::vector<char> image);
    ~ElfFile();
    ElfFile(ElfFile &&) noexcept;
    ElfFile &operator=(ElfFile &&) noexcept;

    const std::string &path() const { return path_; }
    bool is_shared_object() const; // ET_DYN (PIE executables and libraries)
    const std::vector<LoadSegment> &segments() const { return segments_; }
    // File offset of a virtual address inside a loaded segment (what uprobes take).
    std::optional<uint64_t> file_offset(uint64_t vaddr) const;
    // The inverse: the virtual address a file offset is loaded at.
    std::optional<uint64_t> vaddr_of(uint64_t file_offset) const;
    std::string build_id() const;              // hex, "" if none
    std::optional<std::string> debuglink() const; // .gnu_debuglink file name
    std::vector<std::string> needed() const;   // DT_NEEDED
    std::vector<std::string> search_path() const; // DT_RUNPATH, else DT_RPATH, split on ':'
    bool has_symtab() const;                   // not stripped of .symtab
    struct Section {
        uint64_t vaddr = 0, size = 0;
    };
    std::optional<Section> section(const std::string &name) const; // a loaded (SHF_ALLOC) section
    std::vector<ElfSymbol> functions() const;  // defined functions from .symtab and .dynsym
    // A defined data object (STT_OBJECT) by name, from .dynsym, then .symtab.
    std::optional<ElfSymbol> data_symbol(const std::string &name) const;
    // The bytes of [vaddr, vaddr + size) as stored in the file.
    std::optional<std::vector<uint8_t>> read(uint64_t vaddr, uint64_t size) const;

private:
    struct Handle;
    ElfFile(std::string path, std::unique_ptr<Handle> handle);
    std::string load_segments(); // why the file is refused, "" if it is not
    std::unique_ptr<Handle> handle_;
    std::string path_;
    std::vector<LoadSegment> segments_;
};

// What ElfFile::try_open found: the file, or why it could not be read.
struct ElfOpen {
    std::optional<ElfFile> file;
    std::string why; // "cannot read 'PATH': ...", "'PATH' is not an ELF file", ...
};

} // namespace memtrace
