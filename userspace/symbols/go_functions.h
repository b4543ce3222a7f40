// Function names of Go programs from .gopclntab: the table the Go runtime
// itself reads for tracebacks, kept when a binary is stripped of .symtab
// (go build -ldflags=-s, as kubectl, hugo and most released Go programs are).
// Formats of Go 1.2 to 1.23 (magic 0xfffffffb, 0xfffffffa, 0xfffffff0, 0xfffffff1).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace memtrace {

class ElfFile;

class GoFunctions {
public:
    // nullopt if the file has no .gopclntab, or one this reader does not know.
    static std::optional<GoFunctions> read(const ElfFile &elf);
    // From the section's bytes (tests feed tables built by hand).
    static std::optional<GoFunctions> parse(std::vector<uint8_t> table);

    // The function whose code holds `vaddr` ("main.main", "runtime.mallocgc");
    // "" outside every function.
    std::string name_at(uint64_t vaddr) const;
    size_t size() const { return entries_.empty() ? 0 : entries_.size() - 1; }

private:
    struct Entry {
        uint64_t start = 0;   // first instruction's address
        uint64_t name = 0;    // offset of its NUL-terminated name in table_
    };
    std::vector<uint8_t> table_;
    std::vector<Entry> entries_; // sorted by start; the last marks the end of the code
};

// Is this a Go program (a .go.buildinfo or .gopclntab section)? Go keeps frame
// pointers on x86-64 (since 1.7), and has no .eh_frame for most of its code.
bool is_go_program(const ElfFile &elf);

} // namespace memtrace
