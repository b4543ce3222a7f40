#include "collect/python_functions.h"

#include <filesystem>

#include "collect/python_targets.h"
#include "error.h"
#include "python/function_match.h"
#include "python/glob_program.h"

namespace memtrace {

std::vector<mt_py_pattern> kernel_python_patterns(const std::vector<std::string> &names)
{
    if (names.size() > MT_PY_PATTERNS)
        throw Error("-f py: at most " + std::to_string(MT_PY_PATTERNS) +
                    " Python patterns at once: use globs (e.g. -f 'py:extract_*')");
    static_assert(kMaxGlobElements == MT_PY_PATTERN_LEN && kMaxGlobSets == MT_PY_CLASSES);
    std::vector<mt_py_pattern> out;
    for (const std::string &name : names) {
        mt_py_pattern k{};
        uint8_t sets = 0;
        for (const GlobElement &e : compile_glob(name)) {
            const uint32_t i = k.len++;
            switch (e.kind) {
            case GlobElement::Byte: k.op[i] = MT_GLOB_CHAR; k.arg[i] = e.byte; break;
            case GlobElement::Any: k.op[i] = MT_GLOB_ANY; break;
            case GlobElement::Star: k.op[i] = MT_GLOB_STAR; break;
            case GlobElement::Set:
                k.op[i] = MT_GLOB_CLASS;
                k.arg[i] = sets;
                for (unsigned c = 0; c < 256; ++c)
                    if (e.set.test(c))
                        k.sets[sets][c >> 3] |= static_cast<uint8_t>(1u << (c & 7));
                ++sets;
                break;
            }
        }
        out.push_back(k);
    }
    return out;
}

TracedFunction python_function(const PythonCode &code)
{
    TracedFunction f;
    const std::string file = std::filesystem::path(code.filename).filename().string();
    f.symbol = code.qualname + " (" + file + ":" + std::to_string(code.firstlineno) + ")";
    f.module = code.filename;
    f.python = true;
    return f;
}

void PythonFunctions::refresh()
{
    for (const auto &[id, key] : kernel_.read_py_funcs()) {
        if (id < first_ || keys_.count(id))
            continue;
        keys_[id] = key;
        if (std::optional<mt_py_code> copy = kernel_.read_py_code(key.tgid, key.code, key.names))
            codes_[id] = python_code_of(*copy);
    }
}

std::optional<TracedFunction> PythonFunctions::function(uint32_t id)
{
    if (id < first_)
        return std::nullopt;
    if (!codes_.count(id))
        refresh();
    auto it = codes_.find(id);
    if (it == codes_.end())
        return std::nullopt;
    return python_function(it->second);
}

std::map<uint32_t, TracedFunction> PythonFunctions::all()
{
    refresh();
    std::map<uint32_t, TracedFunction> out;
    for (const auto &[id, code] : codes_)
        out[id] = python_function(code);
    return out;
}

std::vector<std::string> PythonFunctions::unmatched(const std::vector<std::string> &patterns)
{
    refresh();
    std::vector<std::string> out;
    for (const std::string &pattern : patterns) {
        bool found = false;
        for (const auto &[id, code] : codes_)
            found |= python_function_matches(pattern, code.qualname, code.filename);
        if (!found)
            out.push_back(pattern);
    }
    return out;
}

} // namespace memtrace
