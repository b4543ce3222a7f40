#include "report/units.h"

#include <cmath>
#include <cstdio>

namespace memtrace {

std::string format_bytes(uint64_t bytes)
{
    static const char *const units[] = {"KiB", "MiB", "GiB", "TiB", "PiB"};
    if (bytes < 1024)
        return std::to_string(bytes) + " B";
    double value = static_cast<double>(bytes) / 1024.0;
    size_t unit = 0;
    // Switch unit where one decimal would print 1024.0 or more.
    while (value >= 1023.95 && unit + 1 < std::size(units)) {
        value /= 1024.0;
        ++unit;
    }
    char buf[32];
    std::snprintf(buf, sizeof(buf), "%.1f %s", value, units[unit]);
    return buf;
}

std::string format_signed_bytes(int64_t bytes)
{
    if (bytes == 0)
        return "0 B";
    uint64_t magnitude = bytes < 0 ? 0 - static_cast<uint64_t>(bytes) : static_cast<uint64_t>(bytes);
    return (bytes < 0 ? "-" : "+") + format_bytes(magnitude);
}

std::string format_count(uint64_t n)
{
    std::string digits = std::to_string(n);
    std::string out;
    for (size_t i = 0; i < digits.size(); ++i) {
        if (i && (digits.size() - i) % 3 == 0)
            out += ',';
        out += digits[i];
    }
    return out;
}

std::string format_seconds(double seconds)
{
    char buf[32];
    if (seconds < 0)
        seconds = 0;
    if (seconds < 10)
        std::snprintf(buf, sizeof(buf), "%.2f s", seconds);
    else if (seconds < 120)
        std::snprintf(buf, sizeof(buf), "%.1f s", seconds);
    else {
        auto whole = static_cast<long long>(std::llround(seconds));
        if (whole < 3600)
            std::snprintf(buf, sizeof(buf), "%lldm %02llds", whole / 60, whole % 60);
        else
            std::snprintf(buf, sizeof(buf), "%lldh %02lldm", whole / 3600, (whole % 3600) / 60);
    }
    return buf;
}

} // namespace memtrace
