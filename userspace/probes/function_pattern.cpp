#include "probes/function_pattern.h"

#include <fnmatch.h>

#include <cctype>

#include <filesystem>

#include "error.h"
#include "symbols/demangle.h"

namespace memtrace {
namespace {

std::string trim(const std::string &s)
{
    size_t b = s.find_first_not_of(" \t");
    size_t e = s.find_last_not_of(" \t");
    return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

bool is_glob(const std::string &s)
{
    return s.find_first_of("*?[") != std::string::npos;
}

// The ':' that separates MODULE from SYMBOL: a single colon (not part of
// "::") before any parameter list.
size_t module_separator(const std::string &text)
{
    size_t paren = text.find('(');
    for (size_t i = 0; i < text.size() && i < paren; ++i) {
        if (text[i] != ':')
            continue;
        bool double_colon = (i + 1 < text.size() && text[i + 1] == ':') ||
                            (i > 0 && text[i - 1] == ':');
        if (!double_colon)
            return i;
        if (i + 1 < text.size() && text[i + 1] == ':')
            ++i;
    }
    return std::string::npos;
}

// "py:NAME": a Python qualname, module.qualname or a glob of them. Names are
// identifiers joined by dots, with CPython's <module>, <lambda>, <listcomp>...
FunctionPattern python_pattern(const std::string &text)
{
    FunctionPattern p{text, "", trim(text.substr(3)), true};
    if (p.symbol.empty())
        throw Error("'" + text + "' names no Python function (e.g. -f py:extract or -f 'py:Model.*')");
    if (p.symbol.size() > kMaxPythonPattern)
        throw Error("-f '" + text + "': a Python name is at most " + std::to_string(kMaxPythonPattern) +
                    " characters");
    for (unsigned char c : p.symbol)
        if (!(std::isalnum(c) || c == '_' || c == '.' || c == '<' || c == '>' || c == '*' || c == '?' ||
              c == '[' || c == ']' || c == '!' || c == '^' || c == '-' || c >= 0x80))
            throw Error("-f '" + text + "': '" + std::string(1, static_cast<char>(c)) +
                        "' is not part of a Python name (py:QUALNAME or py:MODULE.QUALNAME, globs allowed)");
    return p;
}

} // namespace

std::vector<FunctionPattern> parse_function_patterns(const std::string &argument)
{
    std::vector<std::string> parts;
    std::string current;
    int depth = 0;
    for (char c : argument) {
        if (c == '(' || c == '<')
            ++depth;
        else if ((c == ')' || c == '>') && depth > 0)
            --depth;
        if (c == ',' && depth == 0) {
            parts.push_back(current);
            current.clear();
        } else {
            current += c;
        }
    }
    parts.push_back(current);

    std::vector<FunctionPattern> out;
    for (const std::string &raw : parts) {
        std::string text = trim(raw);
        if (text.empty())
            throw Error("empty function pattern in -f '" + argument +
                        "' (e.g. -f build_index or -f libc:malloc)");
        if (text.rfind("py:", 0) == 0) {
            out.push_back(python_pattern(text));
            continue;
        }
        FunctionPattern p{text, "", text};
        size_t sep = module_separator(text);
        if (sep != std::string::npos) {
            p.module = trim(text.substr(0, sep));
            p.symbol = trim(text.substr(sep + 1));
            if (p.module.empty() || p.symbol.empty())
                throw Error("bad function pattern '" + text +
                            "': expected MODULE:SYMBOL (e.g. libc:malloc)");
        }
        out.push_back(std::move(p));
    }
    return out;
}

bool symbol_matches(const std::string &pattern, const std::string &mangled,
                    const std::string &demangled)
{
    const std::string bare = without_parameters(demangled);
    if (!is_glob(pattern))
        return pattern == mangled || pattern == demangled || pattern == bare;
    for (const std::string *name : {&mangled, &demangled, &bare})
        if (fnmatch(pattern.c_str(), name->c_str(), 0) == 0)
            return true;
    return false;
}

} // namespace memtrace
