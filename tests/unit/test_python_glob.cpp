// -f py: patterns as the kernel side matches them: the glob compiler and its
// matcher (the algorithm bpf/python_calls.bpf.h runs), checked against
// fnmatch(3); the patterns' encoding for the BPF map; Python rows' names.
#include <catch2/catch.hpp>
#include <fnmatch.h>

#include "collect/python_functions.h"
#include "error.h"
#include "python/glob_program.h"

using namespace memtrace;

TEST_CASE("py: glob matcher agrees with fnmatch", "[python][glob]")
{
    const std::vector<std::string> patterns{
        "extract_array", "extract_*", "*_array", "*", "?xtract*", "*extract*array*", "Model.*", "Model.fit",
        "[a-e]xtract_*", "[!e]xtract_*", "[^e]*", "keep_[a-z]nts", "[]]x", "[x", "a*b*c", "**", "*.<lambda>",
        "pyfuncs.make_*", "*a", "a*", "?", ""};
    const std::vector<std::string> texts{
        "extract_array", "extract_dict", "xtract_array", "Model.fit", "Model.fit.<locals>.step", "keep_ints",
        "keep_Ints", "]x", "[x", "abc", "aXbYc", "acb", "pyfuncs.make_big", "make_big", "a", "", "<module>",
        "f.<lambda>", "bextract_array"};
    for (const auto &p : patterns)
        for (const auto &t : texts) {
            INFO("pattern '" << p << "' text '" << t << "'");
            CHECK(glob_matches(compile_glob(p), t) == (fnmatch(p.c_str(), t.c_str(), 0) == 0));
        }
}

TEST_CASE("py: glob compiler limits and Latin-1", "[python][glob]")
{
    CHECK(compile_glob("a**b").size() == 3); // stars collapse
    CHECK_THROWS_AS(compile_glob("[a][b][c][d][e][f][g][h][i]"), Error);
    CHECK_NOTHROW(compile_glob("[a][b][c][d][e][f][g][h]"));
    CHECK(glob_matches(compile_glob("caf\xc3\xa9*"), "caf\xe9_au_lait")); // é as Latin-1
    CHECK_THROWS_WITH(compile_glob("\xe2\x82\xac"), Catch::Contains("beyond Latin-1"));
}

TEST_CASE("py: patterns encoded for the kernel side", "[python][glob]")
{
    auto k = kernel_python_patterns({"ex*", "[!a-c]?"});
    REQUIRE(k.size() == 2);
    CHECK(k[0].len == 3);
    CHECK(k[0].op[0] == MT_GLOB_CHAR);
    CHECK(k[0].arg[0] == 'e');
    CHECK(k[0].op[2] == MT_GLOB_STAR);
    CHECK(k[1].len == 2);
    CHECK(k[1].op[0] == MT_GLOB_CLASS);
    CHECK(k[1].arg[0] == 0);
    auto in_set = [&](unsigned char c) { return (k[1].sets[0][c >> 3] >> (c & 7)) & 1; };
    CHECK_FALSE(in_set('a'));
    CHECK_FALSE(in_set('c'));
    CHECK(in_set('d'));
    CHECK(in_set(0xe9));
    CHECK(k[1].op[1] == MT_GLOB_ANY);
    std::vector<std::string> many(MT_PY_PATTERNS + 1, "f");
    CHECK_THROWS_WITH(kernel_python_patterns(many), Catch::Contains("at most 16"));
}

TEST_CASE("py: a Python function's row name", "[python]")
{
    PythonCode code;
    code.qualname = "Extractor.extract_array";
    code.filename = "/home/me/demo/feature_extract.py";
    code.firstlineno = 12;
    TracedFunction f = python_function(code);
    CHECK(f.symbol == "Extractor.extract_array (feature_extract.py:12)");
    CHECK(f.module == "/home/me/demo/feature_extract.py");
    CHECK(f.python);
}
