#include "python/glob_program.h"

#include "error.h"

namespace memtrace {

bool utf8_to_latin1(const std::string &utf8, std::string &latin1)
{
    latin1.clear();
    for (size_t i = 0; i < utf8.size(); ++i) {
        const auto c = static_cast<uint8_t>(utf8[i]);
        if (c < 0x80) {
            latin1 += static_cast<char>(c);
        } else if ((c & 0xe0) == 0xc0 && i + 1 < utf8.size()) {
            const uint32_t cp = (c & 0x1fu) << 6 | (static_cast<uint8_t>(utf8[i + 1]) & 0x3fu);
            if (cp > 0xff)
                return false;
            latin1 += static_cast<char>(cp);
            ++i;
        } else {
            return false; // beyond U+07FF, or not UTF-8
        }
    }
    return true;
}

namespace {

// The set that starts at pattern[i] == '['; returns the index past its ']',
// or i if there is none (then '[' is an ordinary byte).
size_t parse_set(const std::string &p, size_t i, std::bitset<256> &set)
{
    size_t j = i + 1;
    bool negate = j < p.size() && (p[j] == '!' || p[j] == '^');
    if (negate)
        ++j;
    const size_t first = j;
    std::bitset<256> bytes;
    for (; j < p.size(); ++j) {
        const auto c = static_cast<uint8_t>(p[j]);
        if (c == ']' && j > first) {
            set = negate ? ~bytes : bytes;
            return j + 1;
        }
        if (j + 2 < p.size() && p[j + 1] == '-' && p[j + 2] != ']') {
            const auto last = static_cast<uint8_t>(p[j + 2]);
            for (unsigned b = c; b <= last; ++b)
                bytes.set(b);
            j += 2;
        } else {
            bytes.set(c);
        }
    }
    return i;
}

} // namespace

std::vector<GlobElement> compile_glob(const std::string &pattern_utf8)
{
    std::string p;
    if (!utf8_to_latin1(pattern_utf8, p))
        throw Error("-f py:" + pattern_utf8 + ": Python names beyond Latin-1 cannot be matched yet");
    std::vector<GlobElement> out;
    size_t sets = 0;
    for (size_t i = 0; i < p.size();) {
        GlobElement e;
        const char c = p[i];
        size_t next = i + 1;
        if (c == '*') {
            e.kind = GlobElement::Star;
            while (next < p.size() && p[next] == '*')
                ++next; // one star is as good as several
        } else if (c == '?') {
            e.kind = GlobElement::Any;
        } else if (c == '[' && (next = parse_set(p, i, e.set)) != i) {
            e.kind = GlobElement::Set;
            ++sets;
        } else {
            next = i + 1;
            e.byte = static_cast<uint8_t>(c);
        }
        out.push_back(e);
        i = next;
    }
    if (sets > kMaxGlobSets)
        throw Error("-f py:" + pattern_utf8 + ": at most " + std::to_string(kMaxGlobSets) +
                    " [...] sets in one pattern");
    if (out.size() > kMaxGlobElements)
        throw Error("-f py:" + pattern_utf8 + ": too long a pattern");
    return out;
}

bool glob_matches(const std::vector<GlobElement> &glob, const std::string &text)
{
    const size_t m = glob.size(), n = text.size();
    size_t p = 0, s = 0, mark = 0;
    size_t star = SIZE_MAX;
    for (;;) {
        if (s >= n) {
            while (p < m && glob[p].kind == GlobElement::Star)
                ++p;
            return p >= m;
        }
        const auto c = static_cast<uint8_t>(text[s]);
        if (p < m) {
            const GlobElement &e = glob[p];
            if (e.kind == GlobElement::Star) {
                star = p++;
                mark = s;
                continue;
            }
            if (e.kind == GlobElement::Any || (e.kind == GlobElement::Byte && e.byte == c) ||
                (e.kind == GlobElement::Set && e.set.test(c))) {
                ++p;
                ++s;
                continue;
            }
        }
        if (star == SIZE_MAX)
            return false;
        p = star + 1;
        s = ++mark;
    }
}

} // namespace memtrace
