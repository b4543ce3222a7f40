#include "python/function_match.h"

#include <fnmatch.h>

namespace memtrace {

std::string python_module_of(const std::string &filename)
{
    if (filename.empty() || filename.front() == '<')
        return "";
    size_t slash = filename.rfind('/');
    std::string base = slash == std::string::npos ? filename : filename.substr(slash + 1);
    if (base.size() > 3 && base.compare(base.size() - 3, 3, ".py") == 0)
        base.resize(base.size() - 3);
    return base;
}

bool python_function_matches(const std::string &pattern, const std::string &qualname,
                             const std::string &filename)
{
    if (fnmatch(pattern.c_str(), qualname.c_str(), 0) == 0)
        return true;
    std::string module = python_module_of(filename);
    return !module.empty() && fnmatch(pattern.c_str(), (module + "." + qualname).c_str(), 0) == 0;
}

} // namespace memtrace
