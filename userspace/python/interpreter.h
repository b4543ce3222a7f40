// CPython in a process, seen from outside: which file holds the interpreter
// (python3.X or libpython3.X.so), its version, where its runtime state lies,
// and the layout of the structures memtrace reads to name Python frames.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace memtrace {

class ElfFile;

struct PythonVersion {
    int major = 0, minor = 0, micro = 0;
    std::string text() const; // "3.11.2"
};

// Offsets into CPython's structures (bytes). kNone: the version has no such field.
struct PythonLayout {
    static constexpr uint16_t kNone = 0xffff;
    uint16_t rt_interp_head = kNone, rt_tstate_current = kNone;
    uint16_t is_threads_head = kNone;
    uint16_t ts_next = kNone, ts_thread_id = kNone, ts_cframe = kNone, current_frame = kNone;
    uint16_t fr_code = kNone, fr_previous = kNone, fr_instr = kNone, fr_is_entry = kNone,
             fr_owner = kNone;
    uint16_t co_qualname = kNone, co_filename = kNone, co_firstlineno = kNone,
             co_linetable = kNone, co_code = kNone;
    uint16_t str_ascii_data = kNone, str_compact_data = kNone;
    // 3.13 keeps a pointer to the instruction about to run, earlier ones to
    // the last one run: the same instruction while a call is in progress.
    bool instr_is_next = false;
};

// The interpreter an ELF file holds: its version (Py_Version, 3.11 and
// later) and the address of _PyRuntime in the file's own layout.
struct PythonBinary {
    PythonVersion version;
    uint64_t runtime_vaddr = 0;
};

// nullopt: no CPython 3.11+ runtime in this file (or not one memtrace can read:
// a version before 3.11 has no Py_Version; see python_version_of_name()).
std::optional<PythonBinary> find_python(const ElfFile &elf);

// "python3.10", "libpython3.9.so.1.0" -> 3.10, 3.9: for saying what is not
// supported when find_python() finds nothing.
std::optional<PythonVersion> python_version_of_name(const std::string &path);

// The layout of a supported version (3.11, 3.12, 3.13), verified against
// Debian's 3.11 and pyenv builds of 3.11.7, 3.12.1 and 3.13.0.
std::optional<PythonLayout> python_layout(const PythonVersion &version);
const char *supported_python_versions(); // "3.11, 3.12 and 3.13"

} // namespace memtrace
