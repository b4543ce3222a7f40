#include "cli/option_docs.h"

namespace memtrace {

std::vector<std::string> option_choices(const OptionDoc &option)
{
    std::vector<std::string> out;
    const std::string &v = option.value;
    if (v.find('|') == std::string::npos && v != "mprof")
        return out;
    size_t start = 0;
    for (size_t bar; (bar = v.find('|', start)) != std::string::npos; start = bar + 1)
        out.push_back(v.substr(start, bar - start));
    out.push_back(v.substr(start));
    return out;
}

} // namespace memtrace
