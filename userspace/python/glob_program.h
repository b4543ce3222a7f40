// A py: pattern compiled for the kernel side, which matches it against code
// objects' names with no library to call: elements (a byte, '?', '*', a set of
// bytes for [...]) and a matcher with one backtracking point, the same algorithm
// as bpf/python_calls.bpf.h's, kept here to be tested against fnmatch(3).
// Names are matched as CPython keeps short names: Latin-1, one byte a character.
#pragma once

#include <bitset>
#include <cstdint>
#include <string>
#include <vector>

namespace memtrace {

struct GlobElement {
    enum Kind { Byte, Any, Star, Set };
    Kind kind = Byte;
    uint8_t byte = 0;
    std::bitset<256> set; // Set: the bytes it matches ([!...] already inverted)
};

inline constexpr size_t kMaxGlobElements = 128; // MT_PY_PATTERN_LEN
inline constexpr size_t kMaxGlobSets = 8;       // MT_PY_CLASSES

// fnmatch(3)'s syntax without flags: '*', '?', [abc], [a-z], [!a] or [^a]; a
// '[' with no closing ']' is itself. Throws Error (exit 2) if the pattern has
// characters beyond Latin-1, more than kMaxGlobSets sets or kMaxGlobElements elements.
std::vector<GlobElement> compile_glob(const std::string &pattern_utf8);

// Whether `text` (Latin-1 bytes) matches, as the kernel side decides it.
bool glob_matches(const std::vector<GlobElement> &glob, const std::string &text);

// UTF-8 to Latin-1; nullopt-like empty + false if a character is beyond U+00FF.
bool utf8_to_latin1(const std::string &utf8, std::string &latin1);

} // namespace memtrace
