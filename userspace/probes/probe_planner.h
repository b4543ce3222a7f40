// From -f patterns to probe sites: which functions, in which files, at which
// file offsets. Everything here reads files; nothing is attached.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "probes/function_pattern.h"
#include "symbols/modules.h"
#include "probes/x86_code.h"

namespace memtrace {

struct FunctionProbe {
    uint32_t id = 0;
    std::string symbol;    // as in the symbol table (mangled)
    std::string demangled;
    std::string module;      // the file, as the target sees it
    std::string attach_path; // the file memtrace attaches to
    uint64_t address = 0;    // in the file's ELF layout
    uint64_t size = 0;
    uint64_t entry_offset = 0;               // file offset of the entry probe
    std::vector<uint64_t> return_offsets;    // file offsets of its ret instructions
    std::vector<uint64_t> tailcall_offsets;  // file offsets of jmps out of it
    // When it tail-calls: file offsets of the return addresses of the direct
    // calls to it in its own file (a tail callee returns there for it).
    std::vector<uint64_t> retaddr_offsets;
    ProbeInsn entry_insn = ProbeInsn::SingleStep;
    bool entry_is_tailcall = false;          // the function is one jmp to another
    bool fully_decoded = true;
    std::string symbols_from; // "symtab", "dynsym" or the debug file used
    std::string pattern;      // the pattern that chose it
};

struct PlanRequest {
    std::vector<FunctionPattern> patterns;
    std::vector<Module> modules;           // the target's, main program first
    LibrarySearch search;                  // for MODULE names not among `modules`
    std::vector<std::string> debug_dirs = {"/usr/lib/debug"};
    size_t max_probes = 1000;              // functions, over all patterns
};

// Throws Error: a pattern that matches nothing (naming the files searched and
// the closest names), a module that cannot be found, more than max_probes.
std::vector<FunctionProbe> plan_function_probes(const PlanRequest &request);

// A pattern that names nothing in the target yet, and why (the error it would be).
struct WaitingPattern {
    FunctionPattern pattern;
    std::string why;
};

// The same, for targets that may exec programs later: a pattern whose MODULE
// is nowhere yet, or (without MODULE) that matches nothing yet, is put in
// `pending` (to be matched against the programs exec'd) instead of failing.
// `first_id`: the id of the first function planned.
std::vector<FunctionProbe> plan_function_probes(const PlanRequest &request,
                                                std::vector<WaitingPattern> *pending,
                                                uint32_t first_id = 0);

// Levenshtein distance, for "did you mean".
size_t edit_distance(const std::string &a, const std::string &b);

} // namespace memtrace
