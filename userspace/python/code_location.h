// Python frames as text: a code object's names, and the line an instruction
// belongs to, from the code object's location table (CPython 3.11+,
// Objects/locations.md).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace memtrace {

struct PythonCode {
    std::string qualname; // "Extractor.extract_array", "<module>"
    std::string filename; // as the code object has it
    int firstlineno = 0;
    std::vector<uint8_t> linetable; // co_linetable (maybe cut short)
};

// The line of the instruction `instr_bytes` from the bytecode's start; -1
// when the table says none (or does not reach that far).
int python_line(const PythonCode &code, uint32_t instr_bytes);

// "qualname (file.py:LINE)": the file's name without its directory (its last
// two parts for a package's __init__.py); the def line when the
// instruction's line is not known.
std::string python_frame_text(const PythonCode &code, uint32_t instr_bytes);

} // namespace memtrace
