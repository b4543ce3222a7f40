#include "commands/function_list.h"

#include <cstdio>
#include <filesystem>

#include "report/text_table.h"
#include "report/units.h"

namespace memtrace {

void write_function_list(std::ostream &out, const std::vector<FunctionProbe> &probes,
                         size_t max_probes)
{
    using A = TextTable::Align;
    TextTable t;
    t.add_column("FUNCTION", A::Left);
    t.add_column("MODULE", A::Left);
    t.add_column("ADDRESS", A::Right);
    t.add_column("SIZE", A::Right);
    t.add_column("PROBES", A::Right);
    t.add_column("COST/CALL", A::Right);
    t.add_column("NOTES", A::Left);
    for (const FunctionProbe &p : probes) {
        char address[32], cost[32];
        std::snprintf(address, sizeof(address), "0x%llx", static_cast<unsigned long long>(p.address));
        double per_call = probe_cost_us(p.entry_insn) +
                          (p.return_offsets.empty() ? 0 : probe_cost_us(ProbeInsn::SingleStep));
        std::snprintf(cost, sizeof(cost), "~%.0f µs", per_call);
        std::string notes;
        auto note = [&](const std::string &n) { notes += (notes.empty() ? "" : "; ") + n; };
        if (p.symbol != p.demangled)
            note(p.symbol);
        bool tail = !p.tailcall_offsets.empty() || p.entry_is_tailcall;
        if (p.return_offsets.empty() && !tail)
            note("no ret found: its end is seen once its thread runs above it");
        if (tail)
            note("ends in a tail call: the callee returns for it");
        if (!p.fully_decoded)
            note("code not fully decoded: some returns are seen late");
        if (p.symbols_from != "symtab" && p.symbols_from != "dynsym")
            note("symbols from " + p.symbols_from);
        else if (p.symbols_from == "dynsym")
            note("stripped: exported name");
        t.add_row({p.demangled.empty() ? p.symbol : p.demangled,
                   std::filesystem::path(p.module).filename().string(), address,
                   std::to_string(p.size),
                   std::to_string(1 + p.return_offsets.size() + p.tailcall_offsets.size()), cost,
                   notes});
    }
    t.write(out);
    out << '\n' << probes.size() << (probes.size() == 1 ? " function" : " functions");
    if (!probes.empty()) {
        out << " in " << probes.front().module;
        for (const FunctionProbe &p : probes)
            if (p.module != probes.front().module) {
                out << " and other files";
                break;
            }
    }
    out << ".\nPROBES: probe sites (entry, each ret, each tail-call jmp). COST/CALL: time a call\n"
           "spends in probes (its entry and one return), measured on Linux 6.18 VMs: a function\n"
           "called more than ~1,000 times a second slows the program noticeably.\n";
    if (probes.size() > max_probes)
        out << "More than --max-probes " << max_probes
            << ": -f would refuse this pattern; narrow it or raise --max-probes.\n";
}

} // namespace memtrace
