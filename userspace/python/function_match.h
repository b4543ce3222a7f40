// Which Python functions a py: pattern names: the code object's qualname, or
// MODULE.QUALNAME with MODULE the file's name without ".py" ("json.decoder"
// is not known from outside; "decoder.JSONDecoder.decode" is). Globs as fnmatch.
#pragma once

#include <string>

namespace memtrace {

// "feature_extract" for "/home/me/feature_extract.py"; "" for "<string>".
std::string python_module_of(const std::string &filename);

bool python_function_matches(const std::string &pattern, const std::string &qualname,
                             const std::string &filename);

} // namespace memtrace
