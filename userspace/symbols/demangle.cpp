#include "symbols/demangle.h"

#include <cxxabi.h>

#include <cstdlib>
#include <memory>

namespace memtrace {

std::string demangle(const std::string &name)
{
    if (name.rfind("_Z", 0) != 0)
        return name;
    int status = 0;
    std::unique_ptr<char, decltype(&std::free)> text(
        abi::__cxa_demangle(name.c_str(), nullptr, nullptr, &status), &std::free);
    return status == 0 && text ? std::string(text.get()) : name;
}

std::string without_parameters(const std::string &demangled)
{
    // The parameter list is the last top-level "(...)": skip those inside
    // template arguments ("f<void (*)(int)>(int)") by tracking <> depth.
    int angle = 0;
    size_t cut = std::string::npos;
    for (size_t i = 0; i < demangled.size(); ++i) {
        char c = demangled[i];
        if (c == '<')
            ++angle;
        else if (c == '>' && angle > 0)
            --angle;
        else if (c == '(' && angle == 0) {
            // "operator()" is a name, not a parameter list
            if (demangled.compare(i >= 8 ? i - 8 : 0, 8, "operator") == 0 &&
                demangled.compare(i, 2, "()") == 0 && i + 2 < demangled.size() &&
                demangled[i + 2] == '(') {
                ++i;
                continue;
            }
            cut = i;
            break;
        }
    }
    return cut == std::string::npos ? demangled : demangled.substr(0, cut);
}

} // namespace memtrace
