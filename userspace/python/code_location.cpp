#include "python/code_location.h"

#include <filesystem>

namespace memtrace {
namespace {

// The location table's variable-length integers: 6 bits a byte, low first,
// bit 6 set while more follow.
struct TableReader {
    const std::vector<uint8_t> &bytes;
    size_t at = 0;

    bool done() const { return at >= bytes.size(); }
    uint32_t varint()
    {
        uint32_t value = 0;
        for (int shift = 0; at < bytes.size() && shift < 32; shift += 6) {
            const uint8_t b = bytes[at++];
            value |= static_cast<uint32_t>(b & 63) << shift;
            if (!(b & 64))
                break;
        }
        return value;
    }
    int32_t signed_varint()
    {
        const uint32_t u = varint();
        return (u & 1) ? -static_cast<int32_t>(u >> 1) : static_cast<int32_t>(u >> 1);
    }
};

} // namespace

int python_line(const PythonCode &code, uint32_t instr_bytes)
{
    const uint32_t index = instr_bytes / 2; // code units of 2 bytes
    TableReader table{code.linetable};
    int line = code.firstlineno;
    uint32_t address = 0;
    while (!table.done()) {
        const uint8_t first = table.bytes[table.at++];
        if (!(first & 0x80))
            return -1; // not at an entry's start: a cut or bad table
        const int kind = (first >> 3) & 15;
        const uint32_t length = (first & 7) + 1;
        bool has_line = true;
        if (kind == 15) { // no location
            has_line = false;
        } else if (kind == 14) { // long form: line delta, end line, columns
            line += table.signed_varint();
            table.varint();
            table.varint();
            table.varint();
        } else if (kind == 13) { // no column
            line += table.signed_varint();
        } else if (kind >= 10) { // one-line forms: the line delta is in the kind
            line += kind - 10;
            table.at += 2;
        } else { // short form: same line
            table.at += 1;
        }
        if (index >= address && index < address + length)
            return has_line ? line : -1;
        address += length;
    }
    return -1;
}

std::string python_frame_text(const PythonCode &code, uint32_t instr_bytes)
{
    int line = instr_bytes == UINT32_MAX ? -1 : python_line(code, instr_bytes);
    if (line < 0)
        line = code.firstlineno;
    std::filesystem::path path(code.filename);
    std::string file = path.filename().string();
    if (file == "__init__.py" && path.has_parent_path())
        file = path.parent_path().filename().string() + "/" + file;
    if (file.empty())
        file = "?";
    return (code.qualname.empty() ? std::string("?") : code.qualname) + " (" + file + ":" +
           std::to_string(line) + ")";
}

} // namespace memtrace
