#include "symbols/go_functions.h"

#include <algorithm>
#include <cstring>

#include "symbols/elf_file.h"

namespace memtrace {
namespace {

constexpr uint32_t kGo12 = 0xfffffffb;  // Go 1.2 - 1.15
constexpr uint32_t kGo116 = 0xfffffffa; // Go 1.16 - 1.17
constexpr uint32_t kGo118 = 0xfffffff0; // Go 1.18 - 1.19
constexpr uint32_t kGo120 = 0xfffffff1; // Go 1.20 and later
constexpr uint64_t kMaxTable = uint64_t{512} << 20;

// Bounds-checked little-endian reads from the table (a hostile file may lie).
struct Reader {
    const std::vector<uint8_t> &bytes;
    bool ok = true;

    uint64_t word(uint64_t at, unsigned size)
    {
        if (!ok || at > bytes.size() || bytes.size() - at < size) {
            ok = false;
            return 0;
        }
        uint64_t v = 0;
        std::memcpy(&v, bytes.data() + at, size); // x86-64: little-endian like the table
        return v;
    }
};

struct Layout {
    uint64_t nfunc = 0;
    uint64_t functab = 0;       // offset of the function table
    unsigned field = 8;         // size of its fields (4 since Go 1.18)
    uint64_t text = 0;          // added to its pcs (Go 1.18+: offsets from runtime.text)
    uint64_t funcs_base = 0;    // _func records: offsets from here
    uint64_t names_base = 0;    // names: offsets from here
};

std::optional<Layout> layout_of(Reader &r)
{
    const uint32_t magic = static_cast<uint32_t>(r.word(0, 4));
    const unsigned ptr = static_cast<unsigned>(r.word(7, 1));
    if (!r.ok || ptr != 8 || r.word(6, 1) != 1)
        return std::nullopt; // x86-64 only: 8-byte pointers, 1-byte instruction quantum
    Layout l;
    l.nfunc = r.word(8, 8);
    if (magic == kGo118 || magic == kGo120) {
        l.field = 4;
        l.text = r.word(24, 8);
        l.names_base = r.word(32, 8);
        l.functab = l.funcs_base = r.word(64, 8);
    } else if (magic == kGo116) {
        l.names_base = r.word(24, 8);
        l.functab = l.funcs_base = r.word(56, 8);
    } else if (magic == kGo12) {
        l.functab = 16;
    } else {
        return std::nullopt;
    }
    if (!r.ok || l.nfunc == 0 || l.nfunc > r.bytes.size() / (2 * l.field))
        return std::nullopt;
    return l;
}

} // namespace

// The table's pcs are link-time addresses (since Go 1.18, offsets from runtime.text).
std::optional<GoFunctions> GoFunctions::parse(std::vector<uint8_t> table)
{
    GoFunctions out;
    out.table_ = std::move(table);
    Reader r{out.table_};
    std::optional<Layout> l = layout_of(r);
    if (!l)
        return std::nullopt;
    out.entries_.reserve(l->nfunc + 1);
    for (uint64_t i = 0; i <= l->nfunc; ++i) {
        const uint64_t at = l->functab + i * 2 * l->field;
        const uint64_t start = l->text + r.word(at, l->field);
        Entry e{start, 0};
        if (i < l->nfunc) {
            const uint64_t func = l->funcs_base + r.word(at + l->field, l->field);
            const int32_t name = static_cast<int32_t>(r.word(func + l->field, 4)); // after entry
            e.name = l->names_base + static_cast<uint64_t>(static_cast<int64_t>(name));
        }
        if (!r.ok)
            return std::nullopt;
        if (!out.entries_.empty() && start < out.entries_.back().start)
            return std::nullopt; // the runtime's table is sorted: this is not one
        out.entries_.push_back(e);
    }
    return out;
}

std::optional<GoFunctions> GoFunctions::read(const ElfFile &elf)
{
    std::optional<ElfFile::Section> s = elf.section(".gopclntab");
    if (!s || s->size < 16 || s->size > kMaxTable)
        return std::nullopt;
    std::optional<std::vector<uint8_t>> bytes = elf.read(s->vaddr, s->size);
    if (!bytes)
        return std::nullopt;
    return parse(std::move(*bytes));
}

std::string GoFunctions::name_at(uint64_t vaddr) const
{
    auto after = std::upper_bound(entries_.begin(), entries_.end(), vaddr,
                                  [](uint64_t a, const Entry &e) { return a < e.start; });
    if (after == entries_.begin() || after == entries_.end())
        return ""; // before the first function, or past the end of the code
    const Entry &e = *(after - 1);
    if (e.name >= table_.size())
        return "";
    const char *name = reinterpret_cast<const char *>(table_.data() + e.name);
    return std::string(name, strnlen(name, table_.size() - e.name));
}

bool is_go_program(const ElfFile &elf)
{
    return elf.section(".go.buildinfo") || elf.section(".gopclntab");
}

} // namespace memtrace
