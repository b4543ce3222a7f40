#include "symbols/symbolizer.h"

#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <fcntl.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "symbols/debug_file.h"
#include "symbols/demangle.h"
#include "symbols/elf_file.h"
#include "symbols/elfutils.h"
#include "symbols/go_functions.h"
#include "symbols/regular_file.h"
#include "unique_fd.h"

namespace memtrace {

struct Symbolizer::Module {
    Dwfl_Callbacks callbacks{}; // before dwfl, which points to it
    DwflPtr dwfl;
    Dwfl_Module *mod = nullptr;
    GElf_Addr bias = 0;
    std::optional<ElfFile> elf; // file offsets to virtual addresses
    std::optional<std::optional<GoFunctions>> go; // read the first time a name is missing

    // libdwfl's symbols (symtab, dynsym, debug files, MiniDebugInfo), sorted
    // by address once: dwfl_module_addrinfo scans them all at every lookup
    // (31 s after a cc1plus trace ended), this is a binary search.
    // 24 bytes each: cc1plus has ~190,000 (a std::string per name doubled
    // memtrace's heap under -a).
    struct Symbol {
        uint64_t start = 0;       // biased address
        uint32_t size = 0;        // bytes of code
        int32_t rank = 0;         // among aliases: global 2, weak 1, local 0
        const char *name = nullptr; // in libdwfl's string table, which lives as long as `dwfl`
    };
    std::optional<std::vector<Symbol>> symbols;
    std::map<uint64_t, std::string> names; // looked up already, by address

    void sort_symbols()
    {
        symbols.emplace();
        const int n = dwfl_module_getsymtab(mod);
        for (int i = 1; i < n; ++i) {
            GElf_Sym sym;
            GElf_Addr value = 0;
            const char *name = dwfl_module_getsym_info(mod, i, &sym, &value, nullptr, nullptr, nullptr);
            const int type = GELF_ST_TYPE(sym.st_info);
            if (!name || !*name || sym.st_shndx == SHN_UNDEF ||
                (type != STT_FUNC && type != STT_GNU_IFUNC && type != STT_NOTYPE))
                continue;
            const int bind = GELF_ST_BIND(sym.st_info);
            const uint32_t size = static_cast<uint32_t>(std::min<uint64_t>(sym.st_size, UINT32_MAX));
            symbols->push_back({value, size, bind == STB_GLOBAL ? 2 : bind == STB_WEAK ? 1 : 0, name});
        }
        std::sort(symbols->begin(), symbols->end(), [](const Symbol &a, const Symbol &b) {
            return a.start != b.start ? a.start < b.start : a.rank > b.rank;
        });
    }

    // The symbol whose code holds `address` (biased): the last one starting at
    // or before it (the best-bound of aliases), if its size reaches it.
    std::string symbol_at(uint64_t address)
    {
        if (!symbols)
            sort_symbols();
        auto after = std::upper_bound(symbols->begin(), symbols->end(), address,
                                      [](uint64_t a, const Symbol &s) { return a < s.start; });
        if (after == symbols->begin())
            return "";
        const uint64_t start = (after - 1)->start;
        auto first = std::lower_bound(symbols->begin(), after, start,
                                      [](const Symbol &s, uint64_t a) { return s.start < a; });
        for (auto it = first; it != after; ++it) // aliases: best bound first, a sized one if any
            if (it->size != 0)
                return address - start < it->size ? it->name : "";
        return first->name;
    }

    // A stripped Go program's names: its .gopclntab.
    std::string go_name_at(uint64_t vaddr)
    {
        if (!go)
            go = is_go_program(*elf) ? GoFunctions::read(*elf) : std::nullopt;
        return *go ? (*go)->name_at(vaddr) : "";
    }
};

Symbolizer::Symbolizer(const std::vector<std::string> &debug_dirs)
{
    debug_dirs_ = debug_dirs;
    debuginfo_path_ = dwfl_debuginfo_path(debug_dirs);
    debuginfo_ptr_ = debuginfo_path_.data();
}

Symbolizer::~Symbolizer() = default;

void Symbolizer::forget(const std::string &open_path)
{
    modules_.erase(open_path);
}

Symbolizer::Module *Symbolizer::module(const std::string &open_path, const std::string &path)
{
    auto &slot = modules_[open_path];
    if (slot)
        return slot->mod ? slot.get() : nullptr;
    slot = std::make_unique<Module>();
    ElfOpen opened = ElfFile::try_open(open_path);
    if (!opened.file)
        return nullptr; // missing or not ELF: remembered as unreadable
    slot->elf = std::move(opened.file);
    UniqueFd fd = open_regular_file(open_path).fd;
    if (!fd)
        return nullptr;
    slot->callbacks.find_elf = dwfl_build_id_find_elf;
    slot->callbacks.find_debuginfo = find_debuginfo_nonblocking;
    slot->callbacks.section_address = dwfl_offline_section_address;
    slot->callbacks.debuginfo_path = &debuginfo_ptr_;
    slot->dwfl.reset(dwfl_begin(&slot->callbacks));
    if (!slot->dwfl)
        return nullptr;
    dwfl_report_begin(slot->dwfl.get());
    // Named by its real path: debuglink files are searched beside it.
    slot->mod = dwfl_report_offline(slot->dwfl.get(), path.c_str(), path.c_str(), fd.get());
    dwfl_report_end(slot->dwfl.get(), nullptr, nullptr);
    if (!slot->mod)
        return nullptr;
    fd.release(); // libdwfl closes it when the Dwfl ends
    set_debug_dirs(slot->mod, debug_dirs_);
    if (!dwfl_module_getelf(slot->mod, &slot->bias)) {
        slot->mod = nullptr;
        return nullptr;
    }
    return slot.get();
}

std::string Symbolizer::function_at(const std::string &open_path, const std::string &path,
                                    uint64_t file_offset)
{
    Module *m = module(open_path, path);
    if (!m)
        return "";
    auto vaddr = m->elf->vaddr_of(file_offset);
    if (!vaddr)
        return "";
    auto [cached, fresh] = m->names.try_emplace(*vaddr);
    if (!fresh)
        return cached->second;
    std::string name = m->symbol_at(*vaddr + m->bias);
    cached->second = name.empty() ? m->go_name_at(*vaddr) : demangle(name);
    return cached->second;
}

std::vector<std::string> Symbolizer::inlined_at(const std::string &open_path,
                                                const std::string &path, uint64_t file_offset)
{
    std::vector<std::string> names;
    Module *m = module(open_path, path);
    if (!m)
        return names;
    auto vaddr = m->elf->vaddr_of(file_offset);
    if (!vaddr)
        return names;
    Dwarf_Addr bias = 0;
    Dwarf_Die *cu = dwfl_module_addrdie(m->mod, *vaddr + m->bias, &bias);
    if (!cu)
        return names; // no debug info here
    Dwarf_Die *scopes = nullptr;
    int n = dwarf_getscopes(cu, *vaddr + m->bias - bias, &scopes);
    for (int i = 0; i < n; ++i) {
        if (dwarf_tag(&scopes[i]) != DW_TAG_inlined_subroutine)
            continue;
        // the name lives in the abstract origin: the _integrate calls follow it
        Dwarf_Attribute attr;
        const char *linkage = dwarf_formstring(
            dwarf_attr_integrate(&scopes[i], DW_AT_linkage_name, &attr));
        const char *name = linkage ? linkage : dwarf_diename(&scopes[i]);
        if (name && *name)
            names.push_back(demangle(name));
    }
    free(scopes);
    return names;
}

namespace {

// A line table's or a DIE's file name, made absolute with the unit's
// compilation directory when it is relative.
std::string absolute_source(Dwarf_Die *cu, const char *name)
{
    if (!name || !*name)
        return "";
    std::string file = name;
    if (file.front() == '/')
        return file;
    Dwarf_Attribute attr;
    const char *dir = dwarf_formstring(dwarf_attr(cu, DW_AT_comp_dir, &attr));
    return dir && *dir ? std::string(dir) + "/" + file : file;
}

// Where the outermost function inlined at this spot was called from: a
// line of the function that holds the code. `scopes` innermost first.
std::optional<Symbolizer::SourceLine> call_site(Dwarf_Die *cu, Dwarf_Die *scopes, int n)
{
    Dwarf_Die *outermost = nullptr;
    for (int i = 0; i < n; ++i) {
        const int tag = dwarf_tag(&scopes[i]);
        if (tag == DW_TAG_subprogram)
            break;
        if (tag == DW_TAG_inlined_subroutine)
            outermost = &scopes[i];
    }
    if (!outermost)
        return std::nullopt;
    Dwarf_Attribute attr;
    Dwarf_Word file_index = 0, line = 0;
    if (dwarf_formudata(dwarf_attr(outermost, DW_AT_call_file, &attr), &file_index) != 0 ||
        dwarf_formudata(dwarf_attr(outermost, DW_AT_call_line, &attr), &line) != 0 || line == 0)
        return std::nullopt;
    Dwarf_Files *files = nullptr;
    size_t nfiles = 0;
    if (dwarf_getsrcfiles(cu, &files, &nfiles) != 0 || file_index >= nfiles)
        return std::nullopt;
    return Symbolizer::SourceLine{absolute_source(cu, dwarf_filesrc(files, file_index, nullptr, nullptr)),
                                  static_cast<int>(line)};
}

} // namespace

std::optional<Symbolizer::SourceLine> Symbolizer::source_line(const std::string &open_path,
                                                              const std::string &path,
                                                              uint64_t file_offset)
{
    Module *m = module(open_path, path);
    if (!m)
        return std::nullopt;
    auto vaddr = m->elf->vaddr_of(file_offset);
    if (!vaddr)
        return std::nullopt;
    Dwarf_Addr bias = 0;
    Dwarf_Die *cu = dwfl_module_addrdie(m->mod, *vaddr + m->bias, &bias);
    if (!cu)
        return std::nullopt;
    const Dwarf_Addr addr = *vaddr + m->bias - bias;
    Dwarf_Die *scopes = nullptr;
    const int n = dwarf_getscopes(cu, addr, &scopes);
    std::optional<SourceLine> site = n > 0 ? call_site(cu, scopes, n) : std::nullopt;
    free(scopes);
    if (site)
        return site;
    Dwarf_Line *line = dwarf_getsrc_die(cu, addr);
    int lineno = 0;
    if (!line || dwarf_lineno(line, &lineno) != 0 || lineno <= 0)
        return std::nullopt;
    return SourceLine{absolute_source(cu, dwarf_linesrc(line, nullptr, nullptr)), lineno};
}

namespace {

// The last line of `file` among the line table rows of the function's code.
int last_line_in(Dwarf_Die *cu, Dwarf_Die *function, const std::string &file, int first)
{
    Dwarf_Lines *lines = nullptr;
    size_t n = 0;
    int last = first;
    if (dwarf_getsrclines(cu, &lines, &n) != 0)
        return last;
    for (size_t i = 0; i < n; ++i) {
        Dwarf_Line *line = dwarf_onesrcline(lines, i);
        Dwarf_Addr addr = 0;
        int lineno = 0;
        if (!line || dwarf_lineaddr(line, &addr) != 0 || dwarf_lineno(line, &lineno) != 0)
            continue;
        if (lineno <= last || dwarf_haspc(function, addr) <= 0)
            continue;
        if (absolute_source(cu, dwarf_linesrc(line, nullptr, nullptr)) == file)
            last = lineno;
    }
    return last;
}

} // namespace

std::optional<Symbolizer::FunctionSource> Symbolizer::function_source(const std::string &open_path,
                                                                      const std::string &path,
                                                                      uint64_t vaddr)
{
    Module *m = module(open_path, path);
    if (!m)
        return std::nullopt;
    Dwarf_Addr bias = 0;
    Dwarf_Die *cu = dwfl_module_addrdie(m->mod, vaddr + m->bias, &bias);
    if (!cu)
        return std::nullopt;
    Dwarf_Die *scopes = nullptr;
    const int n = dwarf_getscopes(cu, vaddr + m->bias - bias, &scopes);
    std::optional<FunctionSource> out;
    for (int i = 0; i < n && !out; ++i) {
        if (dwarf_tag(&scopes[i]) != DW_TAG_subprogram)
            continue;
        int decl_line = 0;
        const char *decl_file = dwarf_decl_file(&scopes[i]);
        if (!decl_file || dwarf_decl_line(&scopes[i], &decl_line) != 0 || decl_line <= 0)
            break;
        FunctionSource src;
        src.file = absolute_source(cu, decl_file);
        src.first_line = decl_line;
        src.last_line = last_line_in(cu, &scopes[i], src.file, decl_line);
        out = std::move(src);
    }
    free(scopes);
    return out;
}

bool Symbolizer::loaded_offset(const std::string &open_path, const std::string &path,
                               uint64_t file_offset)
{
    Module *m = module(open_path, path);
    return m && m->elf->vaddr_of(file_offset).has_value();
}

KernelSymbols::KernelSymbols(const std::string &kallsyms)
{
    std::ifstream in(kallsyms);
    std::string line;
    while (std::getline(in, line)) {
        std::istringstream fields(line);
        std::string address, type, name;
        if (!(fields >> address >> type >> name))
            continue;
        if (type != "t" && type != "T" && type != "w" && type != "W")
            continue;
        uint64_t value = std::strtoull(address.c_str(), nullptr, 16);
        if (value == 0)
            continue; // addresses hidden (kptr_restrict, not root)
        symbols_.emplace_back(value, name);
    }
    std::sort(symbols_.begin(), symbols_.end());
}

std::string KernelSymbols::name_at(uint64_t address) const
{
    auto it = std::upper_bound(symbols_.begin(), symbols_.end(), address,
                               [](uint64_t a, const auto &s) { return a < s.first; });
    if (it == symbols_.begin())
        return "";
    return std::prev(it)->second;
}

PerfMap PerfMap::parse(const std::string &text)
{
    PerfMap map;
    std::istringstream lines(text);
    std::string line;
    while (std::getline(lines, line)) {
        std::istringstream fields(line);
        std::string start, size;
        if (!(fields >> start >> size))
            continue;
        std::string name;
        std::getline(fields >> std::ws, name);
        char *end1 = nullptr, *end2 = nullptr;
        uint64_t s = std::strtoull(start.c_str(), &end1, 16);
        uint64_t n = std::strtoull(size.c_str(), &end2, 16);
        if (*end1 || *end2 || n == 0 || name.empty())
            continue;
        map.entries_.push_back({s, n, name});
    }
    std::sort(map.entries_.begin(), map.entries_.end(),
              [](const Entry &a, const Entry &b) { return a.start < b.start; });
    return map;
}

bool perf_map_trusted(const struct stat &st, std::optional<uid_t> process_uid)
{
    if (st.st_mode & (S_IWGRP | S_IWOTH))
        return false;
    return st.st_uid == 0 || (process_uid && st.st_uid == *process_uid);
}

namespace {

// The user a perf map's process runs as, from the pid in its name; none once it is gone.
std::optional<uid_t> perf_map_process_uid(const std::string &path)
{
    std::string name = std::filesystem::path(path).filename().string();
    unsigned long pid = 0;
    char end = 0;
    struct stat proc {};
    if (std::sscanf(name.c_str(), "perf-%lu.ma%c", &pid, &end) == 2 && end == 'p' &&
        stat(("/proc/" + std::to_string(pid)).c_str(), &proc) == 0)
        return proc.st_uid;
    return std::nullopt;
}

} // namespace

PerfMap PerfMap::load(const std::string &path)
{
    return load(path, perf_map_process_uid(path));
}

std::string PerfMap::ignored_because(const std::string &path, std::optional<uid_t> process_uid)
{
    if (!process_uid)
        process_uid = perf_map_process_uid(path);
    struct stat st {};
    if (lstat(path.c_str(), &st) != 0)
        return "";
    if (!S_ISREG(st.st_mode))
        return "not a regular file";
    if (st.st_mode & (S_IWGRP | S_IWOTH))
        return "writable by other users";
    if (!perf_map_trusted(st, process_uid))
        return "owned by uid " + std::to_string(st.st_uid) + ", not by the process's user or root";
    if (static_cast<uint64_t>(st.st_size) > kMaxPerfMapBytes)
        return "larger than 64 MiB";
    return "";
}

PerfMap PerfMap::load(const std::string &path, std::optional<uid_t> process_uid)
{
    // Not followed if a symlink: /tmp is anyone's.
    RegularFile file = open_regular_file(path, FinalSymlink::Refuse);
    if (!file.fd || !perf_map_trusted(file.st, process_uid))
        return {};
    std::optional<std::string> text = read_bounded(file.fd.get(), kMaxPerfMapBytes);
    return text ? parse(*text) : PerfMap{};
}

std::string PerfMap::name_at(uint64_t address) const
{
    auto it = std::upper_bound(entries_.begin(), entries_.end(), address,
                               [](uint64_t a, const Entry &e) { return a < e.start; });
    if (it == entries_.begin())
        return "";
    --it;
    return address < it->start + it->size ? it->name : "";
}

} // namespace memtrace
