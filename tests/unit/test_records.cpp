#include <catch2/catch.hpp>
#include <cstring>
#include <vector>

#include "collect/records.h"

using namespace memtrace;

namespace {

template <typename T> std::vector<std::byte> bytes_of(const T &value)
{
    std::vector<std::byte> out(sizeof(T));
    std::memcpy(out.data(), &value, sizeof(T));
    return out;
}

} // namespace

TEST_CASE("exec records carry comm and the joined command line")
{
    mt_rec_exec rec{};
    rec.hdr.type = MT_REC_EXEC;
    rec.hdr.tgid = 77;
    rec.hdr.ts_ns = 123;
    rec.ppid = 5;
    std::memcpy(rec.comm, "memwork\0", 8);
    const char args[] = "memwork\0keep\0" "100\0"; // split: "\0100" would be octal
    std::memcpy(rec.args, args, sizeof(args));
    rec.args_len = sizeof(args) - 1;

    auto bytes = bytes_of(rec);
    Record out = decode_record(bytes);
    REQUIRE(std::holds_alternative<ExecRecord>(out));
    const auto &exec = std::get<ExecRecord>(out);
    CHECK(exec.pid == 77);
    CHECK(exec.ppid == 5);
    CHECK(exec.ts_ns == 123);
    CHECK(exec.comm == "memwork");
    CHECK(exec.cmdline == "memwork keep 100");
}

TEST_CASE("a full 16-byte comm without terminator is kept whole")
{
    mt_rec_exec rec{};
    rec.hdr.type = MT_REC_EXEC;
    std::memcpy(rec.comm, "abcdefghijklmnop", 16);
    rec.args_len = 9999; // larger than the buffer: clamped
    auto bytes = bytes_of(rec);
    Record out = decode_record(bytes);
    const auto &exec = std::get<ExecRecord>(out);
    CHECK(exec.comm == "abcdefghijklmnop");
    CHECK(exec.cmdline.size() <= MT_ARGS_LEN);
}

TEST_CASE("exit records carry the final figures")
{
    mt_rec_exit rec{};
    rec.hdr.type = MT_REC_EXIT;
    rec.hdr.tgid = 9;
    rec.hdr.ts_ns = 55;
    rec.proc.tgid = 9;
    rec.proc.peak_rss = 1000;
    rec.proc.exit_code = 3 << 8;
    auto bytes = bytes_of(rec);
    Record out = decode_record(bytes);
    REQUIRE(std::holds_alternative<ExitRecord>(out));
    CHECK(std::get<ExitRecord>(out).proc.peak_rss == 1000);
    CHECK(std::get<ExitRecord>(out).proc.exit_code == 3 << 8);
}

TEST_CASE("short and unknown records are reported, not trusted")
{
    std::vector<std::byte> tiny(4);
    CHECK(std::holds_alternative<MalformedRecord>(decode_record(tiny)));

    mt_rec_hdr hdr{};
    hdr.type = MT_REC_EXIT;
    auto short_exit = bytes_of(hdr);
    CHECK(std::holds_alternative<MalformedRecord>(decode_record(short_exit)));

    hdr.type = 99;
    auto unknown = bytes_of(hdr);
    REQUIRE(std::holds_alternative<MalformedRecord>(decode_record(unknown)));
    CHECK(std::get<MalformedRecord>(decode_record(unknown)).why.find("99") != std::string::npos);
}

TEST_CASE("join_cmdline turns NUL-separated argv into one line")
{
    using namespace std::string_literals;
    CHECK(join_cmdline("a\0b c\0d\0"s) == "a b c d");
    CHECK(join_cmdline(""s) == "");
    CHECK(join_cmdline("only"s) == "only");
    CHECK(join_cmdline("x\ny\0"s) == "x y");
}

TEST_CASE("sample and range records (--stacks peak|end)")
{
    mt_rec_sample s{};
    s.hdr = {MT_REC_SAMPLE, 7, 123};
    s.tid = 8;
    s.user_stack = 5;
    s.kernel_stack = MT_STACK_LOST;
    s.weight = 4096;
    s.addr = 0x7f0000001000;
    Record out = decode_record(bytes_of(s));
    REQUIRE(std::holds_alternative<SampleRecord>(out));
    const SampleRecord &sr = std::get<SampleRecord>(out);
    CHECK(sr.pid == 7);
    CHECK(sr.ts_ns == 123);
    CHECK(sr.user_stack == 5);
    CHECK(sr.addr == 0x7f0000001000);

    mt_rec_range r{};
    r.hdr = {MT_REC_RANGE, 7, 200};
    r.kind = MT_RANGE_MOVED;
    r.start = 0x1000;
    r.len = 0x2000;
    r.to = 0x9000;
    r.new_len = 0x4000;
    out = decode_record(bytes_of(r));
    REQUIRE(std::holds_alternative<RangeRecord>(out));
    CHECK(std::get<RangeRecord>(out).to == 0x9000);
    r.kind = 77; // not a kind memtrace knows: refused
    CHECK(std::holds_alternative<MalformedRecord>(decode_record(bytes_of(r))));
    auto shorter = bytes_of(s);
    shorter.resize(sizeof(s) - 1);
    CHECK(std::holds_alternative<MalformedRecord>(decode_record(shorter)));
}

TEST_CASE("mapping records: the kernel's names, leaf first, become a path")
{
    mt_rec_mapping rec{};
    rec.hdr.type = MT_REC_MAPPING;
    rec.hdr.tgid = 9;
    rec.start = 0x1000;
    rec.end = 0x3000;
    rec.pgoff = 0x2000;
    rec.file.dev = (8u << 20) | 1;
    rec.file.ino = 1234;
    const char names[] = "as\0bin\0usr\0";
    std::memcpy(rec.path, names, sizeof(names) - 1);
    rec.path_len = sizeof(names) - 1;
    Record r = decode_record(bytes_of(rec));
    auto *m = std::get_if<MappingRecord>(&r);
    REQUIRE(m);
    CHECK(m->pid == 9);
    CHECK(m->path == "/usr/bin/as");
    CHECK(m->offset == 0x2000);
    CHECK(m->dev == ((8u << 20) | 1));
    CHECK(m->ino == 1234);

    rec.flags = MT_MAP_PATH_CUT; // only part of the path: none (found by identity)
    r = decode_record(bytes_of(rec));
    CHECK(std::get<MappingRecord>(r).path.empty());
    rec.path_len = 100000; // a bad length stays inside the record
    rec.flags = 0;
    CHECK(std::holds_alternative<MappingRecord>(decode_record(bytes_of(rec))));
    CHECK(path_from_names(std::string_view("", 0)) == "/");
    CHECK(path_from_names(std::string_view("libc.so.6\0x86_64-linux-gnu\0lib\0", 31)) ==
          "/lib/x86_64-linux-gnu/libc.so.6");
}

TEST_CASE("exec records say whether the process was held for -f probes")
{
    mt_rec_exec rec{};
    rec.hdr.type = MT_REC_EXEC;
    rec.held = 1;
    CHECK(std::get<ExecRecord>(decode_record(bytes_of(rec))).held);
    rec.held = 0;
    CHECK_FALSE(std::get<ExecRecord>(decode_record(bytes_of(rec))).held);
}
