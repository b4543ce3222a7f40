#include <catch2/catch.hpp>

#include "report/units.h"

using namespace memtrace;

TEST_CASE("format_bytes uses binary units with one decimal")
{
    CHECK(format_bytes(0) == "0 B");
    CHECK(format_bytes(1023) == "1023 B");
    CHECK(format_bytes(1024) == "1.0 KiB");
    CHECK(format_bytes(1536) == "1.5 KiB");
    CHECK(format_bytes(8192) == "8.0 KiB");
    CHECK(format_bytes(1024 * 1024) == "1.0 MiB");
    CHECK(format_bytes(269893632) == "257.4 MiB");
    CHECK(format_bytes(1024ull * 1024 * 1024 * 3 / 2) == "1.5 GiB");
    // never "1024.0 KiB": the unit switches first
    CHECK(format_bytes(1024 * 1024 - 1) == "1.0 MiB");
    CHECK(format_bytes(1048524) == "1023.9 KiB");
    CHECK(format_bytes(5ull << 40) == "5.0 TiB");
}

TEST_CASE("format_signed_bytes shows the direction")
{
    CHECK(format_signed_bytes(0) == "0 B");
    CHECK(format_signed_bytes(1024 * 1024) == "+1.0 MiB");
    CHECK(format_signed_bytes(-4096) == "-4.0 KiB");
    CHECK(format_signed_bytes(INT64_MIN) == "-8192.0 PiB");
}

TEST_CASE("format_count groups thousands")
{
    CHECK(format_count(0) == "0");
    CHECK(format_count(999) == "999");
    CHECK(format_count(1000) == "1,000");
    CHECK(format_count(65592) == "65,592");
    CHECK(format_count(1234567890) == "1,234,567,890");
}

TEST_CASE("format_seconds picks a readable precision")
{
    CHECK(format_seconds(0.271) == "0.27 s");
    CHECK(format_seconds(12.34) == "12.3 s");
    CHECK(format_seconds(185) == "3m 05s");
    CHECK(format_seconds(7300) == "2h 01m");
    CHECK(format_seconds(-1) == "0.00 s");
}
