// Human-readable sizes (binary units), counts and durations for tables.
#pragma once

#include <cstdint>
#include <string>

namespace memtrace {

std::string format_bytes(uint64_t bytes);          // "0 B", "512 B", "4.0 KiB", "257.3 MiB"
std::string format_signed_bytes(int64_t bytes);    // "+1.0 MiB", "-4.0 KiB", "0 B"
std::string format_count(uint64_t n);              // "65,592"
std::string format_seconds(double seconds);        // "0.27 s", "12.5 s", "3m 05s"

} // namespace memtrace
