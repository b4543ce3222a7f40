// Python frames: the location table against CPython's own answer, the merge
// of Python frames into native stacks, the interpreter found in real binaries.
#include <catch2/catch.hpp>

#include <cstring>
#include <sstream>

#include "collect/python_targets.h"
#include "python/code_location.h"
#include "python/interpreter.h"
#include "symbols/elf_file.h"
#include "symbols/stack_namer.h"
#include "temp_dir.h"

using namespace memtrace;

namespace {

std::string run_output(const std::string &command)
{
    std::string out;
    FILE *p = popen(command.c_str(), "r");
    REQUIRE(p);
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), p)) > 0)
        out.append(buf, n);
    REQUIRE(pclose(p) == 0);
    return out;
}

std::vector<uint8_t> unhex(const std::string &hex)
{
    std::vector<uint8_t> out;
    for (size_t i = 0; i + 1 < hex.size(); i += 2)
        out.push_back(static_cast<uint8_t>(std::stoi(hex.substr(i, 2), nullptr, 16)));
    return out;
}

RawUserFrame py(const std::string &name, bool entry)
{
    RawUserFrame f;
    f.kind = RawUserFrame::Python;
    f.name = name;
    f.value = entry ? 1 : 0;
    return f;
}

} // namespace

TEST_CASE("python: every instruction's line, as CPython 3.11 itself says (co_lines)")
{
    // Code objects of the standard library with long, odd location tables:
    // each instruction's line from co_lines() against our decoding.
    const std::string script = R"PY(
import dis, json, sys, textwrap, argparse, inspect
out = []
for mod in (json.decoder, textwrap, argparse, inspect):
    for name, obj in vars(mod).items():
        code = getattr(obj, "__code__", None)
        if code is None:
            continue
        lines = {}
        for start, end, line in code.co_lines():
            for i in range(start, end, 2):
                lines[i] = -1 if line is None else line
        out.append("%d %s %s" % (code.co_firstlineno, code.co_linetable.hex(),
                                 ",".join("%d:%d" % kv for kv in sorted(lines.items()))))
print("\n".join(out))
)PY";
    testing::TempDir dir;
    const std::string file = dir.write("lines.py", script).string();
    std::istringstream rows(run_output("/usr/bin/python3 " + file));
    std::string row;
    size_t codes = 0, units = 0;
    while (std::getline(rows, row)) {
        std::istringstream fields(row);
        PythonCode code;
        std::string table, pairs;
        fields >> code.firstlineno >> table >> pairs;
        code.linetable = unhex(table);
        ++codes;
        std::istringstream each(pairs);
        std::string pair;
        while (std::getline(each, pair, ',')) {
            const size_t colon = pair.find(':');
            const uint32_t offset = static_cast<uint32_t>(std::stoul(pair.substr(0, colon)));
            const int line = std::stoi(pair.substr(colon + 1));
            INFO("code " << codes << " at byte " << offset);
            REQUIRE(python_line(code, offset) == line);
            ++units;
        }
    }
    CHECK(codes > 100);
    CHECK(units > 10000);
}

TEST_CASE("python: frame text: qualname, file without directory, line; def line when unknown")
{
    PythonCode code;
    code.qualname = "Extractor.extract_array";
    code.filename = "/srv/app/extract.py";
    code.firstlineno = 10;
    code.linetable = {0x80 | (13 << 3) | 1, 4}; // no-column entry, 2 units, line +2
    CHECK(python_frame_text(code, 0) == "Extractor.extract_array (extract.py:12)");
    CHECK(python_frame_text(code, 100) == "Extractor.extract_array (extract.py:10)");
    CHECK(python_frame_text(code, UINT32_MAX) == "Extractor.extract_array (extract.py:10)");
    code.filename = "/srv/app/pkg/__init__.py";
    CHECK(python_frame_text(code, 0) == "Extractor.extract_array (pkg/__init__.py:12)");
}

TEST_CASE("python: each _PyEval_EvalFrameDefault gives way to the Python frames it runs")
{
    // leaf first: two interpreter calls, the inner one running two frames
    std::vector<std::string> native = {"memset", "bytearray_init", "_PyEval_EvalFrameDefault",
                                       "PyObject_Call", "_PyEval_EvalFrameDefault", "Py_RunMain"};
    merge_python_frames(native, {py("make_big (a.py:3)", false), py("main (a.py:9)", true),
                                 py("<module> (a.py:12)", true)});
    CHECK(native == std::vector<std::string>{"memset", "bytearray_init", "make_big (a.py:3)",
                                             "main (a.py:9)", "PyObject_Call",
                                             "<module> (a.py:12)", "Py_RunMain"});

    // the native stack cut short: the rest of the Python frames on the root side, before the cut
    std::vector<std::string> cut = {"memset", "_PyEval_EvalFrameDefault", "[cut short: stack copy too short]"};
    merge_python_frames(cut, {py("f (a.py:1)", true), py("<module> (a.py:2)", true)});
    CHECK(cut == std::vector<std::string>{"memset", "f (a.py:1)", "<module> (a.py:2)",
                                          "[cut short: stack copy too short]"});

    // more calls read than interpreter frames (a marker for frames not read):
    // right outside the last call put in place, not at the root
    std::vector<std::string> deep = {"memset", "_PyEval_EvalFrameDefault", "PyEval_EvalCode", "main"};
    merge_python_frames(deep, {py("down (a.py:3)", false), py("down (a.py:4)", true),
                               py("[more Python frames]", true)});
    CHECK(deep == std::vector<std::string>{"memset", "down (a.py:3)", "down (a.py:4)",
                                           "[more Python frames]", "PyEval_EvalCode", "main"});

    // no interpreter frame found at all: Python frames at the root
    std::vector<std::string> none = {"malloc", "[unknown]"};
    merge_python_frames(none, {py("f (a.py:1)", false)});
    CHECK(none == std::vector<std::string>{"malloc", "[unknown]", "f (a.py:1)"});
}

TEST_CASE("python: the interpreter of Debian's python3 and of pyenv's libpython")
{
    ElfOpen debian = ElfFile::try_open("/usr/bin/python3.11");
    REQUIRE(debian.file);
    std::optional<PythonBinary> b = find_python(*debian.file);
    REQUIRE(b);
    CHECK(b->version.major == 3);
    CHECK(b->version.minor == 11);
    // the same address readelf reads from .dynsym
    std::string readelf =
        run_output("readelf -W --dyn-syms /usr/bin/python3.11 | awk '$8 == \"_PyRuntime\" {print $2}'");
    CHECK(b->runtime_vaddr == std::stoull(readelf, nullptr, 16));
    CHECK(python_layout(b->version));

    ElfOpen lib = ElfFile::try_open("/root/.pyenv/versions/3.12.1/lib/libpython3.12.so.1.0");
    REQUIRE(lib.file);
    std::optional<PythonBinary> l = find_python(*lib.file);
    REQUIRE(l);
    CHECK(l->version.text() == "3.12.1");
    CHECK(python_layout(l->version));

    ElfOpen old = ElfFile::try_open("/root/.pyenv/versions/3.10.13/lib/libpython3.10.so.1.0");
    REQUIRE(old.file);
    CHECK_FALSE(find_python(*old.file)); // no Py_Version before 3.11
    CHECK_FALSE(python_layout({3, 10, 13}));
    CHECK_FALSE(python_layout({3, 14, 0}));
}

TEST_CASE("python: versions from file names, for saying what is not supported")
{
    CHECK(python_version_of_name("/usr/bin/python3.10")->minor == 10);
    CHECK(python_version_of_name("/opt/lib/libpython3.9.so.1.0")->minor == 9);
    CHECK(python_version_of_name("/usr/bin/python3.11d")->minor == 11);
    CHECK_FALSE(python_version_of_name("/usr/bin/python3"));
    CHECK_FALSE(python_version_of_name("/usr/bin/pythonista"));
}

TEST_CASE("python: the kernel side's copy of a code object as UTF-8 text")
{
    mt_py_code copy{};
    const char name[] = "\xfc" "ber"; // latin-1 (kind 1): über
    std::memcpy(copy.qualname, name, 4);
    copy.qualname_len = 4;
    copy.qualname_kind = 1;
    const char16_t file[] = u"\u00e9t\u00e9.py"; // kind 2: été.py
    std::memcpy(copy.filename, file, 12);
    copy.filename_len = 6;
    copy.filename_kind = 2;
    copy.firstlineno = 7;
    copy.linetable_len = 2;
    copy.linetable[0] = 0x80;
    PythonCode code = python_code_of(copy);
    CHECK(code.qualname == "\xc3\xbc" "ber");
    CHECK(code.filename == "\xc3\xa9t\xc3\xa9.py");
    CHECK(code.firstlineno == 7);
    CHECK(code.linetable.size() == 2);

    copy.qualname_kind = 0; // unreadable
    CHECK(python_code_of(copy).qualname.empty());
}
