// Folded stacks: "root;frame;...;leaf BYTES", the format flamegraph.pl,
// inferno, speedscope and Pyroscope read. Identical stacks are merged.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "model/line_table.h"

namespace memtrace {

// Where a frame's code is, for formats that keep more than its name (pprof):
// the file it was mapped from (and its build-id, the offset in it), and its
// source file and line where known (Python frames). All empty for frames of
// no file (the process, a thread, kernel frames, markers).
struct FrameSource {
    std::string module;   // the mapped file's path, as the process saw it
    std::string build_id; // hex
    uint64_t offset = 0;  // in the module (the call's byte for return addresses)
    std::string file;     // source file
    int64_t line = 0;     // 0: unknown

    bool operator==(const FrameSource &) const = default;
};

struct FoldedLine {
    std::string stack; // frames joined by ';', root first
    uint64_t bytes = 0;
    std::vector<std::string> frames;   // root first
    std::vector<FrameSource> sources;  // beside frames (of the first sample with this stack)
};

class FoldedStacks {
public:
    // `frames` root first; each must be free of ';' and newlines (folded_safe).
    // `sources`: empty, or one per frame.
    void add(const std::vector<std::string> &frames, uint64_t bytes,
             const std::vector<FrameSource> &sources = {});
    std::vector<FoldedLine> lines() const; // sorted by stack, with frames and sources
    // Each stack (its text, "root;...;leaf") and its bytes, sorted by stack;
    // the text of one stack at a time is made for the call.
    template <typename F> void each(F &&f) const
    {
        std::string text;
        for (const auto *entry : sorted()) {
            join(entry->first, text);
            f(static_cast<const std::string &>(text), entry->second.bytes);
        }
    }
    uint64_t total() const { return total_; }
    size_t size() const { return by_stack_.size(); }

private:
    // A long trace (-a) folds tens of thousands of stacks of the same frames
    // (C++ names of ~100 bytes, 30-60 deep): each frame's name is kept once,
    // a stack as the ids of its frames, and each frame's source once.
    using SourceKey = std::tuple<std::string, std::string, uint64_t, std::string, int64_t>;
    struct Entry {
        uint64_t bytes = 0;
        std::vector<uint32_t> sources; // ids in sources_
    };
    using Stacks = std::map<std::vector<uint32_t>, Entry>; // frame ids, root first
    std::vector<const Stacks::value_type *> sorted() const; // as their texts sort
    void join(const std::vector<uint32_t> &ids, std::string &text) const;
    bool text_less(const std::vector<uint32_t> &a, const std::vector<uint32_t> &b) const;

    Stacks by_stack_;
    std::unordered_map<std::string, uint32_t> frame_ids_;
    std::vector<std::string> frames_; // by id
    std::map<SourceKey, uint32_t> source_ids_;
    std::vector<SourceKey> sources_; // by id (copies: a FoldedStacks copied stays whole)
    uint64_t total_ = 0;
};

// Folded stacks as the symbolizer named them.
struct NamedStacks {
    FoldedStacks folded;
    std::vector<std::string> without_frame_pointers; // files whose stacks stop short (fp)
    std::vector<FunctionLines> lines; // --lines: per traced function
};

} // namespace memtrace
