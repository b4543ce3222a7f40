// --lines: the line rows, Python function bodies, source files (and who may
// read them), the sampler's attribution, and the writers.
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <sstream>

#include "collect/line_naming.h"
#include "collect/line_samples.h"
#include "model/line_table.h"
#include "report/json_writer.h"
#include "report/line_table_writer.h"
#include "symbols/elf_file.h"
#include "symbols/source_file.h"
#include "symbols/symbolizer.h"
#include "temp_dir.h"

using namespace memtrace;
using memtrace::testing::TempDir;

TEST_CASE("line rows: the whole body, tallies added, lines outside it too, text where known")
{
    std::map<int, LineTally> lines{{3, {8192, 2, 40960}}, {9, {4096, 1, 50000}}};
    std::vector<std::string> source{"l1", "l2", "l3", "l4", "l5"};
    auto rows = line_rows(lines, 2, 4, &source);
    REQUIRE(rows.size() == 4); // 2, 3, 4 and 9
    CHECK(rows[0].line == 2);
    CHECK(rows[0].tally.samples == 0);
    CHECK(rows[0].text == "l2");
    CHECK(rows[1].tally.bytes == 8192);
    CHECK(rows[1].tally.peak_rss == 40960);
    CHECK(rows[3].line == 9);
    CHECK_FALSE(rows[3].text); // past the file's end
    auto unknown = line_rows(lines, 0, 0, nullptr);
    REQUIRE(unknown.size() == 2);
    CHECK_FALSE(unknown[0].text);
}

TEST_CASE("line tallies add bytes and samples and keep the highest RSS")
{
    LineTally t{4096, 1, 100};
    t += LineTally{8192, 2, 50};
    CHECK(t.bytes == 12288);
    CHECK(t.samples == 3);
    CHECK(t.peak_rss == 100);
}

TEST_CASE("a Python function's body: decorators, a signature over lines, blank lines and comments")
{
    auto src = split_lines("import x\n"
                           "@decorate\n"
                           "def f(a,\n"
                           "      b):\n"
                           "    y = 1\n"
                           "\n"
                           "    # note\n"
                           "    return y\n"
                           "\n"
                           "def g(): return 2\n"
                           "class C:\n"
                           "    def m(self):\n"
                           "        pass\n"
                           "    def n(self):\n"
                           "        return (1,\n"
                           "2)\n");
    CHECK(python_block_end(src, 2) == 8);  // co_firstlineno is the decorator's line
    CHECK(python_block_end(src, 10) == 10); // one-line def
    CHECK(python_block_end(src, 12) == 13);
    CHECK(python_block_end(src, 11) == 15); // a class: until the next line as shallow
    CHECK(python_block_end(src, 99) == 0);
    CHECK(python_block_end(src, 0) == 0);
}

TEST_CASE("split_lines: no empty last line, CRs kept for the reader")
{
    CHECK(split_lines("a\nb\n") == std::vector<std::string>{"a", "b"});
    CHECK(split_lines("a\n\nb") == std::vector<std::string>{"a", "", "b"});
    CHECK(split_lines("").empty());
}

TEST_CASE("source files: read for the invoking user only if that user could read them")
{
    TempDir dir;
    const std::string secret = dir.write("secret.c", "int x;\n").string();
    const std::string open = dir.write("open.c", "int y;\nint z;\n").string();
    chmod(secret.c_str(), 0600);
    chmod(open.c_str(), 0644);
    const uid_t me = geteuid();
    const uid_t other = me + 1000;

    SourceFiles as_other(SourceReader{other, {static_cast<gid_t>(other)}});
    CHECK_FALSE(as_other.read(secret).lines);
    CHECK(as_other.read(secret).why.find("not readable by the invoking user") != std::string::npos);
    REQUIRE(as_other.read(open).lines);
    CHECK(as_other.read(open).lines->size() == 2);

    SourceFiles as_self(std::nullopt);
    CHECK(as_self.read(secret).lines);
    CHECK(as_self.read("relative.c").why == "source not found: relative.c");
    CHECK(as_self.read(dir.path().string() + "/missing.c").why.find("source not found") == 0);
    CHECK(as_self.read(dir.path().string()).why.find("source not found") == 0); // a directory

    struct stat st {};
    st.st_uid = 5;
    st.st_gid = 7;
    st.st_mode = S_IFREG | 0640;
    CHECK(readable_by(st, {5, {9}}));
    CHECK(readable_by(st, {6, {9, 7}}));
    CHECK_FALSE(readable_by(st, {6, {9}}));
    st.st_mode = S_IFREG | 0044; // the owner is refused even though others may read
    CHECK_FALSE(readable_by(st, {5, {9}}));
}

namespace {

std::string linework()
{
    return std::string(MT_BUILD_DIR) + "/workloads/linework";
}

ElfSymbol symbol(const std::string &name)
{
    ElfFile elf(linework());
    for (const ElfSymbol &s : elf.functions())
        if (s.name == name)
            return s;
    FAIL("no symbol " << name);
    return {};
}

} // namespace

TEST_CASE("the sampler: the innermost frame of each traced function, by its address range")
{
    const ElfSymbol three = symbol("three_lines");
    const ElfSymbol touch = symbol("touch");
    ElfFile elf(linework());
    const uint64_t three_at = *elf.file_offset(three.value + 4);
    const uint64_t touch_at = *elf.file_offset(touch.value);
    ModuleFile file{linework(), linework(), ""};

    std::vector<TracedFunction> fns(1);
    fns[0].symbol = "three_lines";
    fns[0].module = linework();
    fns[0].file = linework();
    fns[0].address = three.value;
    fns[0].size = three.size;
    LineSampler sampler(fns, {}, 4096);

    // leaf in touch, called from three_lines (a return address: looked up one byte back),
    // and an outer frame of three_lines again (recursion): counted once, innermost
    auto frame = [&](uint64_t offset) {
        RawUserFrame f;
        f.kind = RawUserFrame::File;
        f.file = &file;
        f.value = offset;
        return f;
    };
    std::vector<RawUserFrame> frames{frame(touch_at), frame(three_at + 1), frame(three_at + 9)};
    sampler.add({42, &frames, nullptr, 65536, 100}, nullptr);
    std::vector<RawUserFrame> leaf{frame(three_at)};
    sampler.add({42, &leaf, nullptr, 4096, 200}, nullptr);
    std::vector<RawUserFrame> elsewhere{frame(touch_at)};
    sampler.add({42, &elsewhere, nullptr, 4096, 300}, nullptr);

    const LineEvidence &ev = sampler.evidence();
    REQUIRE(ev.native.size() == 1); // both at three_at: the leaf as is, the caller one byte back
    const LineTally &t = ev.native.begin()->second;
    CHECK(std::get<3>(ev.native.begin()->first) == three_at);
    CHECK(t.bytes == 65536 + 4096);
    CHECK(t.samples == 2);
    CHECK(t.peak_rss == 200 * 4096);

    // named: its DWARF lines, the source read, the sampled line in the body
    Symbolizer symbols;
    SourceFiles sources(std::nullopt);
    auto tables = name_lines(ev, symbols, sources);
    REQUIRE(tables.size() == 1);
    const FunctionLines &f = tables[0];
    CHECK(f.pid == 42);
    CHECK(f.source_file == std::string(MT_SOURCE_DIR) + "/tests/workloads/linework.c");
    CHECK(f.first_line > 0);
    CHECK(f.last_line > f.first_line + 8);
    CHECK(f.total.bytes == 65536 + 4096);
    uint64_t placed = 0;
    for (const LineRow &row : f.rows) {
        placed += row.tally.bytes;
        if (row.line == f.first_line)
            CHECK(row.text == "NOINLINE void three_lines(void)");
    }
    CHECK(placed == 65536 + 4096);
}

namespace {

RunReport lines_report()
{
    RunReport r;
    r.lines_sample_bytes = 65536;
    FunctionLines f;
    f.pid = 7;
    f.function = "build";
    f.module = "/opt/app";
    f.source_file = "/src/app.c";
    f.first_line = 10;
    f.last_line = 12;
    f.total = {131072, 2, 1 << 20};
    f.unplaced_bytes = 0;
    f.other_files["util.h:3"] = {65536, 1, 1 << 19};
    f.rows = {{10, {}, "void build(void)"},
              {11, {131072, 2, 1 << 20}, "    fill(\x1b[31m);"},
              {12, {}, std::nullopt}};
    r.lines.push_back(f);
    FunctionLines none;
    none.python = true;
    none.function = "load";
    none.source_note = "no sampled stack ran a Python function py:load names";
    r.lines.push_back(none);
    return r;
}

} // namespace

TEST_CASE("line tables for people: one block per function, memory_profiler's columns")
{
    std::ostringstream out;
    const RunReport r = lines_report();
    write_line_tables(out, r.lines, r.lines_sample_bytes);
    const std::string text = out.str();
    INFO(text);
    CHECK(text.find("from one stack sample per 64.0 KiB brought in per thread "
                    "(--sample-bytes 4096: exact per page)") != std::string::npos);
    CHECK(text.find("Function build (app), pid 7\nFilename: /src/app.c\n") != std::string::npos);
    CHECK(text.find("Line #  PEAK RSS  BROUGHT IN  SAMPLES  Line Contents\n") != std::string::npos);
    CHECK(text.find("    10                                 void build(void)\n") != std::string::npos);
    // a traced program's text never reaches the terminal raw
    CHECK(text.find("    11   1.0 MiB   128.0 KiB        2      fill(\\x1b[31m);\n") != std::string::npos);
    CHECK(text.find("also 64.0 KiB (1 samples, peak RSS 512.0 KiB) at util.h:3") != std::string::npos);
    CHECK(text.find("Python function load\n(no sampled stack ran") != std::string::npos);
    CHECK(text.find("SAMPLES: stack samples taken there, not how often the line") != std::string::npos);
}

TEST_CASE("line tables in JSON: a lines array per function, nulls where nothing is known")
{
    std::ostringstream out;
    write_json(out, lines_report());
    auto j = nlohmann::json::parse(out.str());
    REQUIRE(j["line_tables"].size() == 2);
    const auto &t = j["line_tables"][0];
    CHECK(t["pid"] == 7);
    CHECK(t["language"] == "native");
    CHECK(t["sample_bytes"] == 65536);
    CHECK(t["total"]["bytes"] == 131072);
    CHECK(t["other_files"][0]["where"] == "util.h:3");
    REQUIRE(t["lines"].size() == 3);
    CHECK(t["lines"][0]["peak_rss_bytes"].is_null());
    CHECK(t["lines"][1]["peak_rss_bytes"] == 1 << 20);
    CHECK(t["lines"][1]["samples"] == 2);
    CHECK(t["lines"][2]["text"].is_null());
    const auto &none = j["line_tables"][1];
    CHECK(none["pid"].is_null());
    CHECK(none["language"] == "python");
    CHECK(none["source_file"].is_null());
}

TEST_CASE("line tables come back from a report's JSON (memtrace report)")
{
    std::ostringstream first;
    write_json(first, lines_report());
    const RunReport back = report_from_json(nlohmann::ordered_json::parse(first.str()));
    REQUIRE(back.lines.size() == 2);
    CHECK(back.lines_sample_bytes == 65536);
    CHECK(back.lines[0].rows.size() == 3);
    CHECK(back.lines[1].python);
    std::ostringstream again;
    write_json(again, back);
    CHECK(again.str() == first.str());
}

TEST_CASE("line tables say when samples were lost")
{
    std::ostringstream out;
    const RunReport r = lines_report();
    write_line_tables(out, r.lines, r.lines_sample_bytes, 12);
    CHECK(out.str().find("warning: 12 samples lost") != std::string::npos);
    std::ostringstream none;
    write_line_tables(none, r.lines, r.lines_sample_bytes, 0);
    CHECK(none.str().find("samples lost") == std::string::npos);
}
