// Columns aligned with two spaces between them; numbers right-aligned.
#pragma once

#include <ostream>
#include <string>
#include <vector>

namespace memtrace {

// Text from traced processes (comm, command lines) as it may reach a terminal:
// control characters (ESC, BEL, CR, ...) and DEL written as \xNN, never raw.
std::string terminal_safe(const std::string &text);

class TextTable {
public:
    enum class Align { Left, Right };

    void add_column(std::string header, Align align);
    void add_row(std::vector<std::string> cells); // one cell per column
    bool empty() const { return rows_.empty(); }
    // The last column is not padded, so lines carry no trailing spaces.
    void write(std::ostream &out) const;

private:
    std::vector<std::string> headers_;
    std::vector<Align> aligns_;
    std::vector<std::vector<std::string>> rows_;
};

} // namespace memtrace
