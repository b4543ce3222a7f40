// What -f names: [MODULE:]SYMBOL, SYMBOL a plain name, a glob or a demangled
// C++ name; MODULE a path or a short library name ("libc", "libfoo.so").
// "py:NAME" names Python functions: NAME a qualname ("extract", "Model.fit"),
// "module.qualname" (module = the file's name without .py) or a glob of either.
#pragma once

#include <string>
#include <vector>

namespace memtrace {

struct FunctionPattern {
    std::string text;   // as given
    std::string module; // "" = the main executable, then its libraries
    std::string symbol;  // for py: the Python name or glob
    bool python = false; // "py:NAME"
};

inline constexpr size_t kMaxPythonPattern = 127; // bytes of a py: name (matched in BPF)

// One -f argument: may hold a comma list ("a,b"); commas inside a C++
// parameter list ("f(int, long)") belong to the name. Throws Error if empty.
std::vector<FunctionPattern> parse_function_patterns(const std::string &argument);

// Does `symbol` match the symbol part? Compared with the stored (mangled)
// name, the demangled name, and the demangled name without its parameters;
// glob characters (* ? [) make it a glob, otherwise it must be equal.
bool symbol_matches(const std::string &pattern, const std::string &mangled,
                    const std::string &demangled);

} // namespace memtrace
