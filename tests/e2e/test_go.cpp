// Go programs: whole stacks by frame pointers (Go keeps them on x86-64 and has
// little CFI) and names from .gopclntab when the binary is stripped of its
// symbols, as released Go programs are. gowork touches 64 MiB in main.grow and
// keeps 32 MiB in main.keepChunks, with the garbage collector off.
#include <catch2/catch.hpp>

#include <regex>

#include "harness.h"

using namespace e2e;

namespace {

// Bytes of the stacks whose frames include main.main then `function`, one after the other.
uint64_t under(const std::map<std::string, uint64_t> &lines, const std::string &function)
{
    uint64_t bytes = 0;
    for (const auto &[stack, n] : lines)
        if (stack.find(";main.main;" + function) != std::string::npos)
            bytes += n;
    return bytes;
}

// copies: under --unwind dwarf the walk is in the copied stack, so a sample
// taken while the runtime ran on the thread's system stack (runtime.systemstack:
// the span allocator now and then) cannot reach the goroutine's frames.
enum class Copies { Whole, SystemStackMayCut };

void check_go_stacks(const std::string &program, const std::vector<std::string> &options,
                     Copies copies = Copies::Whole)
{
    require_root();
    const std::string folded = report_dir() + "/go.folded";
    std::vector<std::string> args = {"--folded", folded};
    args.insert(args.end(), options.begin(), options.end());
    args.push_back("--");
    args.push_back(workload(program));
    JsonRun r = run_memtrace_json(args);
    REQUIRE(r.result.exit_code == 0);
    auto lines = read_folded(folded);
    INFO(r.result.err << dump_folded(lines));
    // main.grow's 64 MiB and keepChunks' 32 MiB, sampled every 512 KiB
    CHECK(under(lines, "main.grow") >= 63 * MiB);
    CHECK(under(lines, "main.grow") <= 66 * MiB);
    CHECK(under(lines, "main.keepChunks") >= 31 * MiB);
    CHECK(under(lines, "main.keepChunks") <= 33 * MiB);
    // every stack whole and named: from the runtime's first Go frame, no address frames
    uint64_t cut = 0, system_stack_cut = 0, unnamed = 0, total = 0;
    const std::regex address_frame(";\\[" + program + "\\+0x[0-9a-f]+\\]");
    for (const auto &[stack, n] : lines) {
        total += n;
        if (stack.find("[cut short") != std::string::npos) {
            if (copies == Copies::SystemStackMayCut &&
                stack.find("[cut short: frame chain leaves the copied stack];runtime.systemstack;") !=
                    std::string::npos)
                system_stack_cut += n;
            else
                cut += n;
        }
        if (std::regex_search(stack, address_frame))
            unnamed += n;
    }
    CHECK(cut == 0);
    CHECK(system_stack_cut <= 1 * MiB); // a sample or two, if any
    CHECK(unnamed == 0);
    CHECK(total >= 96 * MiB);
}

} // namespace

TEST_CASE("go: a Go program's stacks are whole and named (--unwind auto)", "[go]")
{
    check_go_stacks("gowork", {});
}

TEST_CASE("go: a stripped Go program is named from .gopclntab", "[go]")
{
    check_go_stacks("gowork-stripped", {});
}

TEST_CASE("go: --unwind dwarf walks Go's frame pointers in the stack copies", "[go]")
{
    check_go_stacks("gowork-stripped", {"--unwind", "dwarf"}, Copies::SystemStackMayCut);
}
