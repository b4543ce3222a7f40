// --pprof: the protobuf encoder against the wire format's documented bytes,
// and the profile read back by a small decoder (profile.proto's fields).
#include <zlib.h>

#include <catch2/catch.hpp>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "report/gzip.h"
#include "report/pprof_writer.h"
#include "report/protobuf_encoder.h"
#include "symbols/stack_namer.h"

using namespace memtrace;

namespace {

// One message's fields: varints (packed ones unpacked) and length-delimited bytes.
struct Fields {
    std::multimap<uint32_t, uint64_t> ints;
    std::multimap<uint32_t, std::string> bytes;
    uint64_t int_at(uint32_t f) const { return ints.count(f) ? ints.find(f)->second : 0; }
    std::string bytes_at(uint32_t f) const { return bytes.count(f) ? bytes.find(f)->second : ""; }
    std::vector<std::string> all_bytes(uint32_t f) const
    {
        std::vector<std::string> out;
        for (auto [it, end] = bytes.equal_range(f); it != end; ++it)
            out.push_back(it->second);
        return out;
    }
};

uint64_t read_varint(const std::string &s, size_t &at)
{
    uint64_t value = 0;
    for (int shift = 0; at < s.size(); shift += 7) {
        auto byte = static_cast<uint8_t>(s[at++]);
        value |= uint64_t{byte & 0x7fu} << shift;
        if (!(byte & 0x80))
            return value;
    }
    FAIL("varint runs past the end");
    return 0;
}

Fields decode(const std::string &s)
{
    Fields out;
    size_t at = 0;
    while (at < s.size()) {
        uint64_t key = read_varint(s, at);
        auto field = static_cast<uint32_t>(key >> 3);
        if ((key & 7) == 0) {
            out.ints.emplace(field, read_varint(s, at));
        } else {
            REQUIRE((key & 7) == 2);
            uint64_t n = read_varint(s, at);
            REQUIRE(at + n <= s.size());
            out.bytes.emplace(field, s.substr(at, n));
            at += n;
        }
    }
    return out;
}

std::vector<uint64_t> unpack(const std::string &s)
{
    std::vector<uint64_t> out;
    for (size_t at = 0; at < s.size();)
        out.push_back(read_varint(s, at));
    return out;
}

std::string gunzip(const std::string &data)
{
    z_stream z{};
    REQUIRE(inflateInit2(&z, 15 + 16) == Z_OK);
    std::string out(1 << 20, '\0');
    z.next_in = reinterpret_cast<Bytef *>(const_cast<char *>(data.data()));
    z.avail_in = static_cast<uInt>(data.size());
    z.next_out = reinterpret_cast<Bytef *>(out.data());
    z.avail_out = static_cast<uInt>(out.size());
    int status = inflate(&z, Z_FINISH);
    out.resize(z.total_out);
    inflateEnd(&z);
    REQUIRE(status == Z_STREAM_END);
    return out;
}

std::string hex(const std::string &bytes)
{
    std::string out;
    char b[4];
    for (char c : bytes) {
        snprintf(b, sizeof(b), "%02x", static_cast<uint8_t>(c));
        out += b;
    }
    return out;
}

} // namespace

TEST_CASE("protobuf encoder writes the wire format's documented examples", "[pprof]")
{
    ProtobufEncoder m; // protobuf.dev/programming-guides/encoding
    m.varint_field(1, 150);
    CHECK(hex(m.bytes()) == "089601");
    ProtobufEncoder s;
    s.bytes_field(2, "testing");
    CHECK(hex(s.bytes()) == "120774657374696e67");
    ProtobufEncoder p;
    p.packed_field(4, {3, 270, 86942});
    CHECK(hex(p.bytes()) == "2206038e029ea705");
    ProtobufEncoder nested;
    nested.message_field(3, m);
    CHECK(hex(nested.bytes()) == "1a03089601");
    ProtobufEncoder negative;
    negative.int64_field(1, -1); // int64: ten bytes, two's complement
    CHECK(hex(negative.bytes()) == "08ffffffffffffffffff01");
}

TEST_CASE("pprof profile: one sample per folded stack, frames as locations with mappings and lines",
          "[pprof]")
{
    FoldedStacks folded;
    const FrameSource app{"/usr/bin/app", "abcd", 0x1234, "", 0};
    const FrameSource libc{"/usr/lib/libc.so.6", "ef01", 0x99, "", 0};
    const FrameSource py{"", "", 0, "work.py", 14};
    folded.add({"app", "main", "malloc"}, 4096, {{}, app, libc});
    folded.add({"app", "main", "malloc"}, 8192, {{}, app, libc});
    folded.add({"app", "main", "load (work.py:14)"}, 65536, {{}, app, py});
    folded.add({"app", "[unknown]"}, 512); // no sources at all

    Fields profile = decode(gunzip(pprof_file(folded, {"touch", 4096, 0, 2'000'000'000})));
    std::vector<std::string> strings = profile.all_bytes(6);
    REQUIRE(!strings.empty());
    CHECK(strings[0].empty());
    auto str = [&](uint64_t i) { return i < strings.size() ? strings[i] : "<bad index>"; };

    Fields sample_type = decode(profile.bytes_at(1));
    CHECK(str(sample_type.int_at(1)) == "space");
    CHECK(str(sample_type.int_at(2)) == "bytes");
    CHECK(str(profile.int_at(14)) == "space");
    CHECK(profile.int_at(12) == 4096);
    CHECK(profile.int_at(10) == 2'000'000'000);
    CHECK(str(profile.int_at(13)).find("--stacks touch") != std::string::npos);

    std::map<uint64_t, Fields> mappings, locations, functions;
    for (const std::string &m : profile.all_bytes(3))
        mappings[decode(m).int_at(1)] = decode(m);
    for (const std::string &l : profile.all_bytes(4))
        locations[decode(l).int_at(1)] = decode(l);
    for (const std::string &f : profile.all_bytes(5))
        functions[decode(f).int_at(1)] = decode(f);
    REQUIRE(mappings.size() == 2);
    std::map<std::string, std::string> build_ids;
    for (const auto &[id, m] : mappings) {
        build_ids[str(m.int_at(5))] = str(m.int_at(6));
        CHECK(m.int_at(7) == 1); // has_functions
    }
    CHECK(build_ids == std::map<std::string, std::string>{{"/usr/bin/app", "abcd"},
                                                          {"/usr/lib/libc.so.6", "ef01"}});

    // Each sample read back as a folded line: frames root first, its value.
    std::map<std::string, uint64_t> stacks;
    std::string python_line;
    for (const std::string &s : profile.all_bytes(2)) {
        Fields sample = decode(s);
        std::vector<uint64_t> ids = unpack(sample.bytes_at(1));
        std::vector<uint64_t> values = unpack(sample.bytes_at(2));
        REQUIRE(values.size() == 1);
        std::string stack;
        for (auto id = ids.rbegin(); id != ids.rend(); ++id) {
            REQUIRE(locations.count(*id));
            const Fields &loc = locations[*id];
            Fields line = decode(loc.bytes_at(4));
            const Fields &function = functions[line.int_at(1)];
            std::string name = str(function.int_at(2));
            stack += (stack.empty() ? "" : ";") + name;
            if (name == "malloc") {
                CHECK(str(mappings[loc.int_at(2)].int_at(5)) == "/usr/lib/libc.so.6");
                CHECK(loc.int_at(3) == 0x99);
                CHECK(loc.int_at(3) < mappings[loc.int_at(2)].int_at(3)); // below memory_limit
            }
            if (name == "load (work.py:14)")
                python_line = str(function.int_at(4)) + ":" + std::to_string(line.int_at(2));
            if (name == "app")
                CHECK(loc.int_at(2) == 0); // no mapping
        }
        stacks[stack] += values[0];
    }
    CHECK(stacks == std::map<std::string, uint64_t>{{"app;main;malloc", 12288},
                                                    {"app;main;load (work.py:14)", 65536},
                                                    {"app;[unknown]", 512}});
    CHECK(python_line == "work.py:14");
}

TEST_CASE("gzip_compress round-trips", "[pprof]")
{
    std::string data(100000, 'x');
    data += "tail";
    CHECK(gunzip(gzip_compress(data)) == data);
    CHECK(gunzip(gzip_compress("")).empty());
}

TEST_CASE("a Python frame's text gives its source file and line; other names none", "[pprof]")
{
    FrameSource s = python_frame_source("Model.fit (pkg/__init__.py:120)");
    CHECK(s.file == "pkg/__init__.py");
    CHECK(s.line == 120);
    s = python_frame_source("<lambda> (a (b).py:3)"); // the last " (" opens it
    CHECK(s.file == "a (b).py");
    CHECK(s.line == 3);
    CHECK(python_frame_source("operator() [inlined]") == FrameSource{});
    CHECK(python_frame_source("f (x.py:12a)") == FrameSource{});
    CHECK(python_frame_source("f (x.py:)").line == 0);
}
