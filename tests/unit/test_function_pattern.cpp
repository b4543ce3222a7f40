#include <catch2/catch.hpp>

#include "error.h"
#include "symbols/demangle.h"
#include "probes/function_pattern.h"
#include "symbols/modules.h"
#include "python/function_match.h"

using namespace memtrace;

TEST_CASE("patterns: MODULE:SYMBOL, but '::' belongs to C++ names")
{
    auto one = [](const std::string &text) {
        auto all = parse_function_patterns(text);
        REQUIRE(all.size() == 1);
        return all[0];
    };
    CHECK(one("build_index").module.empty());
    CHECK(one("build_index").symbol == "build_index");
    CHECK(one("libc:malloc").module == "libc");
    CHECK(one("libc:malloc").symbol == "malloc");
    CHECK(one("libfoo.so:bar").module == "libfoo.so");
    CHECK(one("/opt/x/bin/app:main").module == "/opt/x/bin/app");
    CHECK(one("Index::build(unsigned long)").module.empty());
    CHECK(one("Index::build(unsigned long)").symbol == "Index::build(unsigned long)");
    CHECK(one("trios::*extract*").module.empty());
    CHECK(one("app:ns::f").module == "app");
    CHECK(one("app:ns::f").symbol == "ns::f");
    CHECK(one("  spaced  ").symbol == "spaced");
}

TEST_CASE("patterns: comma lists, but not inside a parameter list")
{
    auto all = parse_function_patterns("a,b, libc:free");
    REQUIRE(all.size() == 3);
    CHECK(all[2].module == "libc");
    auto cxx = parse_function_patterns("f(int, long),map<int, int>::at,g");
    REQUIRE(cxx.size() == 3);
    CHECK(cxx[0].symbol == "f(int, long)");
    CHECK(cxx[1].symbol == "map<int, int>::at");
}

TEST_CASE("patterns: empty parts are refused")
{
    CHECK_THROWS_AS(parse_function_patterns(""), Error);
    CHECK_THROWS_AS(parse_function_patterns("a,,b"), Error);
    CHECK_THROWS_AS(parse_function_patterns(":malloc"), Error);
    CHECK_THROWS_AS(parse_function_patterns("libc:"), Error);
}

TEST_CASE("symbols match by mangled, demangled or bare name; globs")
{
    const std::string mangled = "_ZN5Index5buildEm", demangled = "Index::build(unsigned long)";
    CHECK(symbol_matches("Index::build", mangled, demangled));
    CHECK(symbol_matches("Index::build(unsigned long)", mangled, demangled));
    CHECK(symbol_matches("_ZN5Index5buildEm", mangled, demangled));
    CHECK(symbol_matches("Index::*", mangled, demangled));
    CHECK(symbol_matches("*build*", mangled, demangled));
    CHECK_FALSE(symbol_matches("Index::build(int)", mangled, demangled));
    CHECK_FALSE(symbol_matches("build", mangled, demangled)); // literal: whole names only
    CHECK(symbol_matches("build_*", "build_table", "build_table"));
    CHECK_FALSE(symbol_matches("build_*", "rebuild_table", "rebuild_table"));
    CHECK(symbol_matches("mall?c", "malloc", "malloc"));
}

TEST_CASE("modules: paths, file names and short library names")
{
    CHECK(module_matches("libc", "/lib/x86_64-linux-gnu/libc.so.6"));
    CHECK(module_matches("libc.so", "/lib/x86_64-linux-gnu/libc.so.6"));
    CHECK(module_matches("libc.so.6", "/lib/x86_64-linux-gnu/libc.so.6"));
    CHECK(module_matches("libc", "/lib/libc-2.31.so"));
    CHECK_FALSE(module_matches("libc", "/lib/x86_64-linux-gnu/libcrypt.so.1"));
    CHECK_FALSE(module_matches("libc", "/usr/bin/libcheck"));
    CHECK(module_matches("app", "/opt/bin/app"));
    CHECK(module_matches("/opt/bin/app", "/opt/bin/app"));
    CHECK_FALSE(module_matches("/opt/bin/other", "/opt/bin/app"));
}

TEST_CASE("demangling and parameter lists")
{
    CHECK(demangle("_ZN5Index5buildEm") == "Index::build(unsigned long)");
    CHECK(demangle("malloc") == "malloc");
    CHECK(demangle("_Zbogus") == "_Zbogus");
    CHECK(without_parameters("Index::build(unsigned long)") == "Index::build");
    CHECK(without_parameters("Index::size() const") == "Index::size");
    CHECK(without_parameters("f<void (*)(int)>(int)") == "f<void (*)(int)>");
    CHECK(without_parameters("Functor::operator()(int)") == "Functor::operator()");
    CHECK(without_parameters("malloc") == "malloc");
}

TEST_CASE("patterns: py:NAME names Python functions")
{
    auto all = parse_function_patterns("py:extract_array, py:Model.*,libc:malloc");
    REQUIRE(all.size() == 3);
    CHECK(all[0].python);
    CHECK(all[0].symbol == "extract_array");
    CHECK(all[0].module.empty());
    CHECK(all[1].python);
    CHECK(all[1].symbol == "Model.*");
    CHECK_FALSE(all[2].python);
    CHECK(parse_function_patterns("py:<lambda>")[0].symbol == "<lambda>");
    CHECK(parse_function_patterns("py:keep_[a-z]nts")[0].symbol == "keep_[a-z]nts"); // sets and ranges
    CHECK(parse_function_patterns("py:[^_]*")[0].symbol == "[^_]*");
    CHECK_THROWS_WITH(parse_function_patterns("py:"), Catch::Contains("names no Python function"));
    CHECK_THROWS_WITH(parse_function_patterns("py:a b"), Catch::Contains("not part of a Python name"));
    CHECK_THROWS_WITH(parse_function_patterns("py:" + std::string(200, 'a')), Catch::Contains("at most"));
}

TEST_CASE("patterns: a py: name matches the qualname or module.qualname")
{
    CHECK(python_function_matches("extract_array", "extract_array", "/w/feature_extract.py"));
    CHECK(python_function_matches("feature_extract.extract_array", "extract_array", "/w/feature_extract.py"));
    CHECK(python_function_matches("extract_*", "extract_dict", "x.py"));
    CHECK(python_function_matches("Model.*", "Model.fit", "m.py"));
    CHECK(python_function_matches("m.Model.fit", "Model.fit", "/a/m.py"));
    CHECK(python_function_matches("*.fit", "Model.fit", "/a/m.py"));
    CHECK_FALSE(python_function_matches("fit", "Model.fit", "/a/m.py"));
    CHECK_FALSE(python_function_matches("extract", "extract_array", "x.py"));
    CHECK_FALSE(python_function_matches(".f", "f", "<string>"));
    CHECK(python_module_of("<string>").empty());
    CHECK(python_module_of("/usr/lib/python3.11/json/decoder.py") == "decoder");
}
