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
