// gzip (RFC 1952) with zlib: pprof reads profiles gzipped.
#pragma once

#include <string>

namespace memtrace {

// Throws Error if zlib fails (it only does for want of memory).
std::string gzip_compress(const std::string &data);

} // namespace memtrace
