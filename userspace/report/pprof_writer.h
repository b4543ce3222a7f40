// --pprof FILE: the stacks of --folded as a pprof profile (github.com/google/
// pprof, proto/profile.proto), gzipped, for `go tool pprof` and the tools that
// read it. One sample per folded stack, its frames as locations (leaf first)
// in mappings of the files they came from (path, build-id, offset as the
// address); one function per frame name, so pprof's stacks read as the
// folded file's; source file and line where known (Python frames).
#pragma once

#include <cstdint>
#include <string>

#include "model/folded.h"

namespace memtrace {

struct PprofHeader {
    std::string kind;          // --stacks: "touch", "map", "peak", "end"
    uint64_t sample_bytes = 0; // the sampling period
    int64_t time_nanos = 0;    // when tracing began (Unix epoch), 0: unknown
    int64_t duration_nanos = 0;
};

// The Profile message, not compressed.
std::string pprof_profile(const FoldedStacks &stacks, const PprofHeader &header);

// The Profile message gzipped, as pprof files are.
std::string pprof_file(const FoldedStacks &stacks, const PprofHeader &header);

} // namespace memtrace
