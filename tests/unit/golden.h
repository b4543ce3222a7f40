// Golden-file checks: expected output lives in tests/unit/golden/. After an
// intended change, regenerate with scripts/update-golden (MEMTRACE_UPDATE_GOLDEN=1).
#pragma once

#include <catch2/catch.hpp>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

inline void check_golden(const std::string &name, const std::string &actual)
{
    std::string path = std::string(MT_SOURCE_DIR) + "/tests/unit/golden/" + name;
    if (const char *update = std::getenv("MEMTRACE_UPDATE_GOLDEN"); update && *update == '1') {
        std::ofstream(path, std::ios::binary) << actual;
        return;
    }
    std::ifstream in(path, std::ios::binary);
    INFO("golden file " << path << " (regenerate: scripts/update-golden)");
    REQUIRE(in.good());
    std::ostringstream expected;
    expected << in.rdbuf();
    CHECK(actual == expected.str());
}
