#include <catch2/catch.hpp>

#include "error.h"
#include "probes/probe_planner.h"

using namespace memtrace;

namespace {

std::string workload(const std::string &name)
{
    return std::string(MT_BUILD_DIR) + "/workloads/" + name;
}

std::vector<FunctionProbe> plan(const std::string &patterns, const std::string &program = "funcwork",
                                size_t max_probes = 1000)
{
    PlanRequest req;
    req.patterns = parse_function_patterns(patterns);
    req.search = LibrarySearch::from_environment("");
    req.modules = program_modules(workload(program), req.search);
    req.max_probes = max_probes;
    return plan_function_probes(req);
}

std::string error_of(const std::string &patterns, size_t max_probes = 1000)
{
    try {
        plan(patterns, "funcwork", max_probes);
    } catch (const Error &e) {
        return e.what();
    }
    return "(no error)";
}

} // namespace

TEST_CASE("plan: a plain name, with its entry and return sites")
{
    auto probes = plan("keep_memory");
    REQUIRE(probes.size() == 1);
    const FunctionProbe &p = probes[0];
    CHECK(p.id == 0);
    CHECK(p.symbol == "keep_memory");
    CHECK(p.module.find("funcwork") != std::string::npos);
    CHECK(p.entry_offset > 0);
    CHECK_FALSE(p.return_offsets.empty());
    CHECK(p.fully_decoded);
    CHECK(p.symbols_from == "symtab");
}

TEST_CASE("plan: globs and C++ names; ids in order")
{
    auto probes = plan("build_*,Index::build(unsigned long)");
    REQUIRE(probes.size() == 3);
    CHECK(probes[0].symbol == "build_table");
    CHECK(probes[1].symbol == "build_tree");
    CHECK(probes[2].demangled == "Index::build(unsigned long)");
    CHECK(probes[2].id == 2);
    // build_table is one jmp into keep_memory: its entry is its tail call
    CHECK(probes[0].entry_is_tailcall);
}

TEST_CASE("plan: a function that ends by jumping to another has a tail-call site")
{
    auto probes = plan("transient_spike"); // ends with jmp munmap@plt
    REQUIRE(probes.size() == 1);
    CHECK(probes[0].return_offsets.empty());
    CHECK(probes[0].tailcall_offsets.size() == 1);
    CHECK_FALSE(probes[0].entry_is_tailcall);
}

TEST_CASE("plan: .cold fragments are not functions")
{
    auto probes = plan("throwing_frame*");
    REQUIRE(probes.size() == 1);
    CHECK(probes[0].demangled == "throwing_frame(unsigned long)");
}

TEST_CASE("plan: without MODULE the program comes first; libraries after")
{
    auto own = plan("keep_memory");
    REQUIRE(own.size() == 1);
    auto libc = plan("malloc_usable_size");
    REQUIRE(libc.size() == 1);
    CHECK(libc[0].module.find("libc.so") != std::string::npos);
    auto named = plan("libc:malloc");
    REQUIRE(named.size() == 1);
    CHECK(named[0].symbol == "malloc");
}

TEST_CASE("plan: stripped binaries by .dynsym and by their debug file")
{
    CHECK(plan("transient_spike", "funcwork-dynsym").at(0).symbols_from == "dynsym");
    auto debug = plan("transient_spike", "funcwork-debuglink");
    REQUIRE(debug.size() == 1);
    CHECK(debug[0].symbols_from.find("funcwork-debuglink.debug") != std::string::npos);
}

TEST_CASE("plan: errors say what was searched and what is close")
{
    std::string none = error_of("bulid_tabel");
    CHECK(none.find("no function matches 'bulid_tabel'") != std::string::npos);
    CHECK(none.find("funcwork") != std::string::npos);
    CHECK(none.find("closest: build_table") != std::string::npos);

    std::string many = error_of("build_*", 1);
    CHECK(many.find("more than 1 functions") != std::string::npos);
    CHECK(many.find("--max-probes") != std::string::npos);

    CHECK(error_of("libnothere:f").find("no module 'libnothere'") != std::string::npos);
    CHECK(error_of("/nonexistent/lib.so:f").find("no module") != std::string::npos);
}

TEST_CASE("edit distance")
{
    CHECK(edit_distance("", "abc") == 3);
    CHECK(edit_distance("kitten", "sitting") == 3);
    CHECK(edit_distance("same", "same") == 0);
}
