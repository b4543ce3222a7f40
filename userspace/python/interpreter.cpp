#include "python/interpreter.h"

#include <cstring>
#include <filesystem>
#include <regex>

#include "symbols/elf_file.h"

namespace memtrace {

std::string PythonVersion::text() const
{
    return std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(micro);
}

std::optional<PythonBinary> find_python(const ElfFile &elf)
{
    std::optional<ElfSymbol> runtime = elf.data_symbol("_PyRuntime");
    std::optional<ElfSymbol> version = elf.data_symbol("Py_Version");
    if (!runtime || !version)
        return std::nullopt;
    std::optional<std::vector<uint8_t>> bytes = elf.read(version->value, 4);
    if (!bytes || bytes->size() != 4)
        return std::nullopt;
    uint32_t hex = 0; // PY_VERSION_HEX: 0xMMmmPPrs
    std::memcpy(&hex, bytes->data(), 4);
    PythonBinary out;
    out.version = {static_cast<int>(hex >> 24), static_cast<int>((hex >> 16) & 0xff),
                   static_cast<int>((hex >> 8) & 0xff)};
    out.runtime_vaddr = runtime->value;
    return out;
}

std::optional<PythonVersion> python_version_of_name(const std::string &path)
{
    static const std::regex name(R"(^(?:lib)?python(\d)\.(\d+)[a-z]*(?:\.so.*)?$)");
    std::smatch m;
    const std::string file = std::filesystem::path(path).filename().string();
    if (!std::regex_match(file, m, name))
        return std::nullopt;
    return PythonVersion{std::stoi(m[1]), std::stoi(m[2]), 0};
}

std::optional<PythonLayout> python_layout(const PythonVersion &v)
{
    if (v.major != 3)
        return std::nullopt;
    PythonLayout l;
    // common to 3.11-3.13
    l.ts_next = 0x8;
    l.fr_instr = 0x38;
    l.co_filename = 0x70; // then co_name, co_qualname, co_linetable: read as one
    l.co_qualname = 0x80;
    l.co_linetable = 0x88;
    switch (v.minor) {
    case 11:
        l.rt_interp_head = 0x28;
        l.rt_tstate_current = 0x240;
        l.is_threads_head = 0x10;
        l.ts_thread_id = 0x98;
        l.ts_cframe = 0x38;
        l.current_frame = 0x8;
        l.fr_code = 0x20;
        l.fr_previous = 0x30;
        l.fr_is_entry = 0x44;
        l.fr_owner = 0x45;
        l.co_firstlineno = 0x48;
        l.co_code = 0xb8;
        l.str_ascii_data = 48;
        l.str_compact_data = 72;
        return l;
    case 12:
        l.rt_interp_head = 0x28;
        l.is_threads_head = 0x48;
        l.ts_thread_id = 0x88;
        l.ts_cframe = 0x38;
        l.current_frame = 0x0;
        l.fr_code = 0x0;
        l.fr_previous = 0x8;
        l.fr_owner = 0x46;
        l.co_firstlineno = 0x44;
        l.co_code = 0xc0;
        l.str_ascii_data = 40;
        l.str_compact_data = 56;
        return l;
    case 13:
        l.rt_interp_head = 0x278;
        l.is_threads_head = 0x1cb0;
        l.ts_thread_id = 0x98;
        l.current_frame = 0x48; // PyThreadState.current_frame: no _PyCFrame any more
        l.fr_code = 0x0;        // f_executable
        l.fr_previous = 0x8;
        l.fr_owner = 0x46;
        l.co_firstlineno = 0x44;
        l.co_code = 0xc8;
        l.str_ascii_data = 40;
        l.str_compact_data = 56;
        l.instr_is_next = true;
        return l;
    default:
        return std::nullopt;
    }
}

const char *supported_python_versions()
{
    return "3.11, 3.12 and 3.13";
}

} // namespace memtrace
