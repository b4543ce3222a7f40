#include "model/line_table.h"

#include <algorithm>

namespace memtrace {

LineTally &LineTally::operator+=(const LineTally &other)
{
    bytes += other.bytes;
    samples += other.samples;
    peak_rss = std::max(peak_rss, other.peak_rss);
    return *this;
}

std::vector<LineRow> line_rows(const std::map<int, LineTally> &lines, int first, int last,
                               const std::vector<std::string> *source)
{
    std::map<int, LineRow> rows;
    if (first > 0 && last >= first)
        for (int line = first; line <= last; ++line)
            rows[line].line = line;
    for (const auto &[line, tally] : lines) {
        rows[line].line = line;
        rows[line].tally += tally;
    }
    std::vector<LineRow> out;
    for (auto &[line, row] : rows) {
        if (source && line >= 1 && static_cast<size_t>(line) <= source->size())
            row.text = (*source)[static_cast<size_t>(line) - 1];
        out.push_back(std::move(row));
    }
    return out;
}

namespace {

size_t indent_of(const std::string &line)
{
    size_t n = 0;
    while (n < line.size() && (line[n] == ' ' || line[n] == '\t'))
        ++n;
    return n;
}

bool blank_or_comment(const std::string &line)
{
    const size_t at = indent_of(line);
    return at == line.size() || line[at] == '#' || line[at] == '\r';
}

// Bracket depth change of a line, outside strings and comments (near enough
// for a def's signature).
int bracket_change(const std::string &line)
{
    int depth = 0;
    char quote = 0;
    for (char c : line) {
        if (quote) {
            quote = c == quote ? 0 : quote;
            continue;
        }
        if (c == '#')
            break;
        if (c == '\'' || c == '"')
            quote = c;
        else if (c == '(' || c == '[' || c == '{')
            ++depth;
        else if (c == ')' || c == ']' || c == '}')
            --depth;
    }
    return depth;
}

} // namespace

int python_block_end(const std::vector<std::string> &source, int first)
{
    if (first < 1 || static_cast<size_t>(first) > source.size())
        return 0;
    size_t i = static_cast<size_t>(first) - 1;
    while (i + 1 < source.size() && source[i][indent_of(source[i])] == '@')
        ++i; // decorators, then the def
    const size_t indent = indent_of(source[i]);
    // the signature may span lines: it ends where its brackets close
    int depth = bracket_change(source[i]);
    while (depth > 0 && i + 1 < source.size())
        depth += bracket_change(source[++i]);
    size_t end = i;
    for (size_t j = i + 1; j < source.size(); ++j) {
        if (blank_or_comment(source[j]))
            continue;
        if (indent_of(source[j]) <= indent)
            break;
        end = j;
    }
    return static_cast<int>(end) + 1;
}

std::vector<std::string> split_lines(const std::string &text)
{
    std::vector<std::string> lines;
    size_t start = 0;
    while (start < text.size()) {
        size_t nl = text.find('\n', start);
        if (nl == std::string::npos)
            nl = text.size();
        lines.push_back(text.substr(start, nl - start));
        start = nl + 1;
    }
    return lines;
}

} // namespace memtrace
