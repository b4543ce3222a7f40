#include "probes/probe_planner.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <memory>
#include <set>

#include "error.h"
#include "symbols/debug_file.h"
#include "symbols/demangle.h"
#include "symbols/elf_file.h"

namespace memtrace {
namespace {

// The function symbols of one module, with the file to read its code from.
struct ModuleSymbols {
    Module module;
    std::unique_ptr<ElfFile> binary;
    std::vector<ElfSymbol> functions;
    std::vector<std::string> demangled; // parallel to functions
    std::string source;                 // where the symbols came from
    std::map<std::string, size_t> cold_parts; // "f" -> index of "f.cold..."
    // Direct calls in the whole module, by target: return addresses as file
    // offsets. Decoded once, the first time a tail-calling function needs them.
    mutable std::optional<std::map<uint64_t, std::vector<uint64_t>>> calls_by_target;
};

ModuleSymbols load_symbols(const Module &module, ElfFile binary,
                           const std::vector<std::string> &debug_dirs)
{
    ModuleSymbols ms;
    ms.module = module;
    ms.binary = std::make_unique<ElfFile>(std::move(binary));
    ms.functions = ms.binary->functions();
    ms.source = ms.binary->has_symtab() ? "symtab" : "dynsym";
    if (!ms.binary->has_symtab()) {
        if (auto debug = find_debug_file(*ms.binary, debug_dirs)) {
            // An unreadable debug file: the binary's own symbols stay, whatever the reason.
            if (ElfOpen debug_elf = ElfFile::try_open(*debug); debug_elf.file) {
                std::set<std::pair<std::string, uint64_t>> have;
                for (const auto &f : ms.functions)
                    have.emplace(f.name, f.value);
                for (auto &f : debug_elf.file->functions())
                    if (!have.count({f.name, f.value}))
                        ms.functions.push_back(std::move(f));
                ms.source = *debug;
            }
        }
    }
    for (const auto &f : ms.functions)
        ms.demangled.push_back(demangle(f.name));
    for (size_t i = 0; i < ms.functions.size(); ++i)
        if (size_t cold = ms.functions[i].name.find(".cold");
            cold != std::string::npos && cold > 0 && ms.functions[i].size > 0)
            ms.cold_parts[ms.functions[i].name.substr(0, cold)] = i;
    return ms;
}

std::string plain_part(const std::string &pattern)
{
    std::string out;
    for (char c : pattern)
        if (c != '*' && c != '?' && c != '[' && c != ']')
            out += c;
    return out;
}

std::vector<std::string> closest_names(const std::string &pattern,
                                       const std::vector<const ModuleSymbols *> &searched)
{
    std::string target = plain_part(pattern);
    std::vector<std::pair<size_t, std::string>> scored;
    std::set<std::string> seen;
    for (const ModuleSymbols *ms : searched) {
        for (size_t i = 0; i < ms->functions.size(); ++i) {
            std::string name = without_parameters(ms->demangled[i]);
            if (ms->functions[i].ifunc && name.rfind("__", 0) == 0)
                continue;
            if (!seen.insert(name).second)
                continue;
            size_t d = edit_distance(target, name);
            // a name that contains the text is close however long it is
            if (!target.empty() && name.find(target) != std::string::npos)
                d = std::min<size_t>(d, 1);
            scored.emplace_back(d, name);
        }
    }
    std::sort(scored.begin(), scored.end());
    std::vector<std::string> out;
    size_t limit = std::max<size_t>(3, target.size() / 2);
    for (const auto &[d, name] : scored) {
        if (out.size() == 3 || d > limit)
            break;
        out.push_back(name);
    }
    return out;
}

std::string join(const std::vector<std::string> &items, const char *sep)
{
    std::string out;
    for (const auto &i : items)
        out += (out.empty() ? "" : sep) + i;
    return out;
}

// Aliases share an address: keep the name a person is likeliest to know.
bool better_name(const ElfSymbol &a, const ElfSymbol &b)
{
    if (a.global != b.global)
        return a.global;
    bool a_internal = a.name.rfind("__", 0) == 0, b_internal = b.name.rfind("__", 0) == 0;
    if (a_internal != b_internal)
        return !a_internal;
    return a.name.size() < b.name.size();
}

// Direct calls anywhere in the module, by target: each function is decoded
// from its own start, so no probe can land inside an instruction. Once per module.
std::map<uint64_t, std::vector<uint64_t>> index_calls(const ModuleSymbols &ms)
{
    std::map<uint64_t, std::vector<uint64_t>> by_target;
    uint64_t decoded = 0;
    for (const ElfSymbol &f : ms.functions) {
        if (f.ifunc || f.size == 0 || f.size > (1u << 20))
            continue;
        if ((decoded += f.size) > (32u << 20))
            break; // a huge program: the calls found at run time will do
        auto code = ms.binary->read(f.value, f.size);
        if (!code)
            continue;
        for (const DirectCall &call : direct_calls(*code, f.value))
            if (auto off = ms.binary->file_offset(call.return_address))
                by_target[call.target].push_back(*off);
    }
    for (auto &[target, offsets] : by_target) {
        std::sort(offsets.begin(), offsets.end());
        offsets.erase(std::unique(offsets.begin(), offsets.end()), offsets.end());
    }
    return by_target;
}

std::vector<uint64_t> return_addresses_of_calls(const ModuleSymbols &ms, uint64_t target)
{
    if (!ms.calls_by_target)
        ms.calls_by_target = index_calls(ms);
    auto found = ms.calls_by_target->find(target);
    return found == ms.calls_by_target->end() ? std::vector<uint64_t>{} : found->second;
}

} // namespace

size_t edit_distance(const std::string &a, const std::string &b)
{
    std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
    for (size_t j = 0; j <= b.size(); ++j)
        prev[j] = j;
    for (size_t i = 1; i <= a.size(); ++i) {
        cur[0] = i;
        for (size_t j = 1; j <= b.size(); ++j)
            cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1,
                               prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
        std::swap(prev, cur);
    }
    return prev[b.size()];
}

namespace {

// The modules a pattern searches: its MODULE part, or every module. None when
// MODULE is nowhere and `may_wait` (a program exec'd later may be it).
std::vector<Module> candidate_modules(const FunctionPattern &pattern, const PlanRequest &req,
                                      bool may_wait)
{
    if (pattern.module.empty())
        return req.modules;
    std::vector<Module> candidates;
    for (const Module &m : req.modules)
        if (module_matches(pattern.module, m.path))
            candidates.push_back(m);
    if (!candidates.empty())
        return candidates;
    // Not loaded (yet): a path, or a library dlopen may load later.
    std::optional<std::string> file;
    std::error_code ec;
    if (pattern.module.find('/') != std::string::npos &&
        std::filesystem::is_regular_file(pattern.module, ec))
        file = std::filesystem::absolute(pattern.module).string();
    else
        file = find_library(pattern.module, req.search);
    if (!file && may_wait)
        return {};
    if (!file)
        throw Error("no module '" + pattern.module + "' for -f '" + pattern.text +
                    "': not loaded by the target and not found in the library "
                    "path (give its path, e.g. -f /opt/lib/libfoo.so:func)");
    return {{*file, *file, false}};
}

// The module's functions the pattern matches, one symbol per address.
std::map<uint64_t, size_t> matches_in(const ModuleSymbols &ms, const FunctionPattern &pattern,
                                      std::vector<std::string> &ifunc_only)
{
    std::map<uint64_t, size_t> by_address;
    for (size_t i = 0; i < ms.functions.size(); ++i) {
        const ElfSymbol &f = ms.functions[i];
        if (!symbol_matches(pattern.symbol, f.name, ms.demangled[i]))
            continue;
        // "f.cold" is a fragment of f that f jumps into, never called:
        // probing it would count bogus calls (unless asked for by name).
        if (f.name.find(".cold") != std::string::npos &&
            pattern.symbol.find(".cold") == std::string::npos)
            continue;
        if (f.ifunc) {
            ifunc_only.push_back(f.name);
            continue;
        }
        auto [it, fresh] = by_address.emplace(f.value, i);
        if (!fresh && better_name(f, ms.functions[it->second]))
            it->second = i;
    }
    return by_address;
}

// The function's code decoded: entry, rets and tail calls, with those of its
// ".cold" part (GCC moves unlikely paths there: jumped to, and it may return
// for the function, so its rets are the function's too).
FunctionCode decode_function(const ModuleSymbols &ms, const ElfSymbol &f)
{
    auto cold_part = ms.cold_parts.find(f.name);
    const ElfSymbol *cold = cold_part == ms.cold_parts.end() ? nullptr : &ms.functions[cold_part->second];
    std::vector<AddressRange> home = {{f.value, f.value + f.size}};
    if (cold)
        home.push_back({cold->value, cold->value + cold->size});
    std::optional<std::vector<uint8_t>> code;
    if (f.size > 0)
        code = ms.binary->read(f.value, f.size);
    FunctionCode scanned;
    if (!code) {
        scanned.entry = f.value;
        scanned.fully_decoded = false;
        scanned.problem = f.size ? "code not readable" : "symbol has no size";
        return scanned;
    }
    scanned = scan_function(*code, f.value, home);
    if (cold)
        if (auto cold_code = ms.binary->read(cold->value, cold->size)) {
            FunctionCode c = scan_function(*cold_code, cold->value, home);
            scanned.returns.insert(scanned.returns.end(), c.returns.begin(), c.returns.end());
            scanned.tail_calls.insert(scanned.tail_calls.end(), c.tail_calls.begin(),
                                      c.tail_calls.end());
        }
    return scanned;
}

// The probe sites of function `index` of the module; nullopt if its entry is
// in no loaded segment (nothing to probe).
std::optional<FunctionProbe> plan_probe(const ModuleSymbols &ms, const Module &m, size_t index,
                                        const FunctionPattern &pattern)
{
    const ElfSymbol &f = ms.functions[index];
    FunctionProbe probe;
    probe.symbol = f.name;
    probe.demangled = ms.demangled[index];
    probe.module = m.path;
    probe.attach_path = m.open_path;
    probe.address = f.value;
    probe.size = f.size;
    probe.symbols_from = ms.source;
    probe.pattern = pattern.text;
    const FunctionCode scanned = decode_function(ms, f);
    auto entry = ms.binary->file_offset(scanned.entry);
    if (!entry)
        return std::nullopt;
    probe.entry_offset = *entry;
    probe.entry_insn = scanned.entry_insn;
    for (uint64_t ret : scanned.returns)
        if (auto off = ms.binary->file_offset(ret))
            probe.return_offsets.push_back(*off);
    for (uint64_t jmp : scanned.tail_calls) {
        if (jmp == scanned.entry)
            probe.entry_is_tailcall = true; // one probe there, not two
        else if (auto off = ms.binary->file_offset(jmp))
            probe.tailcall_offsets.push_back(*off);
    }
    probe.fully_decoded = scanned.fully_decoded;
    if (probe.entry_is_tailcall || !probe.tailcall_offsets.empty())
        probe.retaddr_offsets = return_addresses_of_calls(ms, f.value);
    return probe;
}

Error no_match(const FunctionPattern &pattern, const std::vector<const ModuleSymbols *> &searched,
               const std::vector<std::string> &ifunc_only)
{
    std::vector<std::string> files;
    for (const auto *ms : searched)
        files.push_back(ms->module.path);
    std::string message = "no function matches '" + pattern.text + "' in " +
                          (files.empty() ? std::string("any readable file") : join(files, ", "));
    if (!ifunc_only.empty())
        message += "; " + ifunc_only.front() +
                   " is an IFUNC (its resolver runs once at load time): probe one of its "
                   "implementations instead";
    auto close = closest_names(pattern.symbol, searched);
    if (!close.empty())
        message += "; closest: " + join(close, ", ");
    return Error(message);
}

} // namespace

std::vector<FunctionProbe> plan_function_probes(const PlanRequest &req)
{
    return plan_function_probes(req, nullptr);
}

std::vector<FunctionProbe> plan_function_probes(const PlanRequest &req,
                                                std::vector<WaitingPattern> *pending,
                                                uint32_t first_id)
{
    std::map<std::string, std::unique_ptr<ModuleSymbols>> loaded; // by open_path
    // null, and why, when the module cannot be read or is not ELF
    auto symbols_of = [&](const Module &m, std::string &why) -> const ModuleSymbols * {
        auto &slot = loaded[m.open_path];
        if (!slot) {
            ElfOpen binary = ElfFile::try_open(m.open_path);
            if (!binary.file) {
                why = binary.why;
                return nullptr;
            }
            slot = std::make_unique<ModuleSymbols>(
                load_symbols(m, std::move(*binary.file), req.debug_dirs));
        }
        return slot.get();
    };

    std::vector<FunctionProbe> probes;
    std::set<std::pair<std::string, uint64_t>> planned; // (module, address)
    for (const FunctionPattern &pattern : req.patterns) {
        std::vector<const ModuleSymbols *> searched;
        size_t matched_here = 0;
        std::vector<std::string> ifunc_only;
        const std::vector<Module> candidates = candidate_modules(pattern, req, pending != nullptr);
        if (candidates.empty() && pending && !pattern.module.empty()) {
            pending->push_back({pattern, "no module '" + pattern.module +
                                             "' loaded by the target or in the library path"});
            continue;
        }
        for (const Module &m : candidates) {
            std::string why;
            const ModuleSymbols *ms = symbols_of(m, why);
            if (!ms) {
                if (!pattern.module.empty())
                    throw Error(why); // the module the pattern names
                continue; // an unreadable library does not stop the search
            }
            searched.push_back(ms);
            for (auto &[address, index] : matches_in(*ms, pattern, ifunc_only)) {
                if (!planned.emplace(m.path, address).second) {
                    ++matched_here; // already planned by an earlier pattern
                    continue;
                }
                std::optional<FunctionProbe> probe = plan_probe(*ms, m, index, pattern);
                if (!probe)
                    continue;
                probe->id = first_id + static_cast<uint32_t>(probes.size());
                probes.push_back(std::move(*probe));
                ++matched_here;
                if (probes.size() > req.max_probes)
                    throw Error("-f '" + pattern.text + "' and the other patterns match more than " +
                                std::to_string(req.max_probes) +
                                " functions: narrow the pattern (see --list-funcs) or raise "
                                "--max-probes");
            }
            // Without MODULE, the first module with matches wins (the program
            // before its libraries, as symbol lookup does).
            if (pattern.module.empty() && matched_here > 0)
                break;
        }
        if (matched_here == 0 && pending && pattern.module.empty()) // a program exec'd later may have it
            pending->push_back({pattern, no_match(pattern, searched, ifunc_only).what()});
        else if (matched_here == 0)
            throw no_match(pattern, searched, ifunc_only);
    }
    return probes;
}

} // namespace memtrace
