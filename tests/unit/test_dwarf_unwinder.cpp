// The DWARF unwinder on a stack snapshot taken in this very process: the
// registers and a copy of the stack, as the BPF side would send them. No root
// needed; the expected frames are the test's own call chain.
#include <catch2/catch.hpp>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <sstream>

#include "unwind/dwarf_unwinder.h"
#include "symbols/module_index.h"
#include "symbols/modules.h"
#include "symbols/stack_namer.h"
#include "symbols/symbolizer.h"

using namespace memtrace;

// A function without CFI (no .cfi_startproc: no FDE in .eh_frame), as crti.o's
// _init in every library.
asm(".text\n.globl mt_test_no_cfi\n.type mt_test_no_cfi,@function\nmt_test_no_cfi:\n"
    "\tnop\n\tret\n.size mt_test_no_cfi, .-mt_test_no_cfi\n");
extern "C" void mt_test_no_cfi();

namespace {

// The top of this thread's stack mapping, from /proc/self/maps.
uint64_t stack_top(uint64_t sp)
{
    std::ifstream in("/proc/self/maps");
    std::stringstream text;
    text << in.rdbuf();
    for (const MapsEntry &e : parse_maps(text.str()))
        if (sp >= e.start && sp < e.end)
            return e.end;
    return sp;
}

StackSnapshot g_snapshot;

// Registers and up to `bytes` of stack, here. The copy reads stack memory
// that is not this function's (ASan's redzones too): not instrumented.
__attribute__((noinline, no_sanitize("address"))) void take_snapshot(size_t bytes)
{
    uint64_t ip = 0, sp = 0, bp = 0;
    asm volatile("lea 0(%%rip), %0\n\tmov %%rsp, %1\n\tmov %%rbp, %2" : "=r"(ip), "=r"(sp), "=r"(bp));
    StackSnapshot s;
    s.pid = static_cast<uint32_t>(getpid());
    s.ip = ip;
    s.sp = sp;
    s.bp = bp;
    uint64_t top = stack_top(sp);
    size_t n = std::min<uint64_t>(bytes, top - sp);
    s.ended_early = n < bytes;
    s.stack.resize(n);
    const volatile uint8_t *from = reinterpret_cast<const volatile uint8_t *>(sp);
    for (size_t i = 0; i < n; ++i) // not memcpy: ASan intercepts it
        s.stack[i] = from[i];
    g_snapshot = std::move(s);
    asm volatile("" ::: "memory");
}

// Three levels with frames of their own (no tail calls), as a program would have.
__attribute__((noinline)) void unwind_level3(size_t bytes)
{
    volatile char pad[64];
    pad[0] = 1;
    take_snapshot(bytes);
    asm volatile("" ::: "memory");
    (void)pad[0];
}

__attribute__((noinline)) void unwind_level2(size_t bytes)
{
    volatile char pad[3000]; // a big frame: a small copy cannot hold the chain
    pad[0] = 1;
    unwind_level3(bytes);
    asm volatile("" ::: "memory");
    (void)pad[0];
}

__attribute__((noinline)) void unwind_level1(size_t bytes)
{
    unwind_level2(bytes);
    asm volatile("" ::: "memory");
}

std::vector<std::string> names_of(const ModuleIndex &index, const UnwoundStack &u)
{
    std::vector<RawUserFrame> frames;
    for (uint64_t pc : u.pcs) {
        MappedAddress where = index.find(getpid(), pc);
        RawUserFrame f;
        if (where.file) {
            f.kind = RawUserFrame::File;
            f.file = where.file;
            f.value = where.file_offset;
        } else {
            f.value = pc;
        }
        frames.push_back(f);
    }
    Symbolizer symbols;
    StackNamer namer(index, symbols, nullptr);
    return namer.user_frames(getpid(), frames); // root first
}

// Whether `names` has frames containing `wanted`, one after another.
bool consecutive(const std::vector<std::string> &names, const std::vector<std::string> &wanted)
{
    for (size_t i = 0; i + wanted.size() <= names.size(); ++i) {
        size_t k = 0;
        while (k < wanted.size() && names[i + k].find(wanted[k]) != std::string::npos)
            ++k;
        if (k == wanted.size())
            return true;
    }
    return false;
}

std::string joined(const std::vector<std::string> &names)
{
    std::string out;
    for (const auto &n : names)
        out += (out.empty() ? "" : ";") + n;
    return out;
}

} // namespace

TEST_CASE("DWARF unwinding of a copied stack names the whole call chain")
{
    unwind_level1(65536); // the most --stack-bytes allows (sanitizer builds have big frames)
    ModuleIndex index;
    REQUIRE(index.snapshot(getpid()));
    DwarfUnwinder unwinder(index, {});
    UnwoundStack u = unwinder.unwind(g_snapshot);
    std::vector<std::string> names = names_of(index, u);
    std::string chain = joined(names);
    INFO(chain << " (" << unwind_end_name(u.end) << ")");
    CHECK(consecutive(names, {"unwind_level1", "unwind_level2", "unwind_level3", "take_snapshot"}));
    REQUIRE(!names.empty());
    CHECK(names.back().find("take_snapshot") != std::string::npos); // the leaf
    CHECK(consecutive(names, {"main"}));                             // through Catch2 to main
    CHECK(u.end == UnwindEnd::Complete);

    SECTION("the same snapshot unwinds the same again (cached address space)")
    {
        UnwoundStack again = unwinder.unwind(g_snapshot);
        CHECK(again.pcs == u.pcs);
    }
}

TEST_CASE("A copy shorter than the stack is cut short, and says so")
{
    unwind_level1(1024); // level2's 3000-byte frame lies beyond the copy
    ModuleIndex index;
    REQUIRE(index.snapshot(getpid()));
    DwarfUnwinder unwinder(index, {});
    UnwoundStack u = unwinder.unwind(g_snapshot);
    std::vector<std::string> names = names_of(index, u);
    std::string chain = joined(names);
    INFO(chain);
    CHECK(u.end == UnwindEnd::StackTooShort);
    CHECK(consecutive(names, {"unwind_level3", "take_snapshot"})); // what it has is right
    CHECK(chain.find("unwind_level1") == std::string::npos);
    CHECK(std::string(unwind_end_name(u.end)) == "stack copy too short");
}

TEST_CASE("A process whose mappings were never read is code in no mapped file")
{
    ModuleIndex index; // no snapshot
    DwarfUnwinder unwinder(index, {});
    StackSnapshot s;
    s.pid = 999999;
    s.ip = 0x1234;
    UnwoundStack u = unwinder.unwind(s);
    CHECK(u.end == UnwindEnd::UnknownCode);
    REQUIRE(u.pcs.size() == 1);
    CHECK(u.pcs[0] == 0x1234);
}

TEST_CASE("A sample at the first instruction of code without CFI: the caller is at [sp]")
{
    unwind_level1(65536);
    // As if take_snapshot had called mt_test_no_cfi and the sample came at its
    // first instruction (its page being faulted in): return address pushed.
    StackSnapshot s = g_snapshot;
    uint64_t ret = s.ip;
    s.ip = reinterpret_cast<uint64_t>(&mt_test_no_cfi);
    s.sp -= sizeof(ret);
    s.stack.insert(s.stack.begin(), reinterpret_cast<const uint8_t *>(&ret),
                   reinterpret_cast<const uint8_t *>(&ret) + sizeof(ret));
    ModuleIndex index;
    REQUIRE(index.snapshot(getpid()));
    DwarfUnwinder unwinder(index, {});
    UnwoundStack u = unwinder.unwind(s);
    std::vector<std::string> names = names_of(index, u);
    INFO(joined(names) << " (" << unwind_end_name(u.end) << ")");
    CHECK(u.end == UnwindEnd::Complete);
    REQUIRE(!names.empty());
    CHECK(names.back().find("mt_test_no_cfi") != std::string::npos);
    CHECK(consecutive(names, {"unwind_level1", "unwind_level2", "unwind_level3", "take_snapshot",
                              "mt_test_no_cfi"}));

    SECTION("one instruction in, the return address is no longer known to be at [sp]")
    {
        s.ip += 1;
        UnwoundStack later = unwinder.unwind(s);
        std::vector<std::string> cut = names_of(index, later);
        INFO(joined(cut) << " (" << unwind_end_name(later.end) << ")");
        // The walk stops here, or goes on by frame pointers where the caller
        // keeps them (an ASan build keeps them everywhere), which skips
        // take_snapshot: never by a return address assumed at [sp].
        CHECK_FALSE(consecutive(cut, {"take_snapshot", "mt_test_no_cfi"}));
    }
}
