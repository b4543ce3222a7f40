#include "report/text_table.h"

#include <algorithm>
#include <cstdio>

namespace memtrace {

std::string terminal_safe(const std::string &text)
{
    std::string out;
    out.reserve(text.size());
    for (unsigned char c : text) {
        if (c >= 0x20 && c != 0x7f) {
            out += static_cast<char>(c);
            continue;
        }
        char escaped[8];
        std::snprintf(escaped, sizeof(escaped), "\\x%02x", c);
        out += escaped;
    }
    return out;
}

void TextTable::add_column(std::string header, Align align)
{
    headers_.push_back(std::move(header));
    aligns_.push_back(align);
}

void TextTable::add_row(std::vector<std::string> cells)
{
    cells.resize(headers_.size());
    rows_.push_back(std::move(cells));
}

void TextTable::write(std::ostream &out) const
{
    std::vector<size_t> width(headers_.size());
    for (size_t c = 0; c < headers_.size(); ++c) {
        width[c] = headers_[c].size();
        for (const auto &row : rows_)
            width[c] = std::max(width[c], row[c].size());
    }
    auto line = [&](const std::vector<std::string> &cells) {
        std::string text;
        for (size_t c = 0; c < cells.size(); ++c) {
            bool last = c + 1 == cells.size();
            size_t pad = width[c] - cells[c].size();
            if (c)
                text += "  ";
            if (aligns_[c] == Align::Right)
                text.append(pad, ' ');
            text += cells[c];
            if (aligns_[c] == Align::Left && !last)
                text.append(pad, ' ');
        }
        while (!text.empty() && text.back() == ' ')
            text.pop_back();
        out << text << '\n';
    };
    line(headers_);
    for (const auto &row : rows_)
        line(row);
}

} // namespace memtrace
