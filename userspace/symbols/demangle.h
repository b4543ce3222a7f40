// C++ names for people: "_ZN5Index5buildEm" -> "Index::build(unsigned long)".
#pragma once

#include <string>

namespace memtrace {

// The demangled name, or the name itself when it is not a mangled C++ name.
std::string demangle(const std::string &name);

// "Index::build(unsigned long) const" -> "Index::build"; C names are unchanged.
std::string without_parameters(const std::string &demangled);

} // namespace memtrace
