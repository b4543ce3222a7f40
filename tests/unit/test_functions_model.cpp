#include <catch2/catch.hpp>

#include "collect/kernel_figures.h"
#include "model/functions.h"

using namespace memtrace;

namespace {

constexpr uint64_t kPage = 4096;
constexpr uint64_t kStart = 1'000'000'000;

FunctionInputs inputs()
{
    FunctionInputs in;
    in.functions = {{"spike", "spike", "/bin/app", 6, 21, 0, 0, false, "/bin/app", 0x1000, 64},
                    {"_ZN1A1fEv", "A::f()", "/bin/app", 21, 21, 0, 0, false, "/bin/app", 0x2000, 64}};
    in.end_s = 5.0;
    return in;
}

const KernelUnits kUnits{kPage, kStart};

} // namespace

TEST_CASE("function figures: pages to bytes, the call that set the max, the cost")
{
    FunctionInputs in = inputs();
    mt_func_stats s{};
    s.calls = 3;
    s.returned = 2;
    s.unreturned = 1;
    s.max_peak_inc = 25600; // 100 MiB
    s.max_peak_rss = 26000;
    s.total_net = -10;
    s.max_tid = 77;
    s.max_base = 400;
    s.max_entry_ns = kStart + 1'000'000'000;
    s.max_exit_ns = kStart + 1'500'000'000;
    s.entry_hits = 3;
    s.return_hits = 2;
    in.totals = function_totals({{{42, 0}, s}}, kUnits);
    auto out = build_function_records(in);
    REQUIRE(out.size() == 1);
    const FunctionRecord &r = out[0];
    CHECK(r.pid == 42);
    CHECK(r.symbol == "spike");
    CHECK(r.max_peak_increment == 100ull << 20);
    CHECK(r.max_peak_rss == 26000 * kPage);
    CHECK(r.total_net == -10 * static_cast<int64_t>(kPage));
    CHECK(r.max_tid == 77);
    CHECK(r.max_start_s == Approx(1.0));
    CHECK(r.max_end_s == Approx(1.5));
    CHECK(r.probe_hits() == 5);
    CHECK(r.estimated_cost_s == Approx((3 * 6 + 2 * 21) / 1e6));
}

TEST_CASE("function figures: a call still open counts its peak so far")
{
    FunctionInputs in = inputs();
    mt_thread_frames fr{};
    fr.tgid = 42;
    fr.depth = 2;
    fr.f[0] = {0x7ff0, 0, 100, kStart + 2'000'000'000, 1, 3, 0, 0, 0}; // A::f, slot 3
    fr.f[1] = {0x7fe0, 0, 100, kStart, 1, MT_NO_SLOT, 1, 0, 0};        // folded recursion

    mt_call_slots slots{};
    slots.used = 1u << 3;
    slots.peak[3] = 100 + 256; // +1 MiB
    mt_proc proc{};
    proc.tgid = 42;
    proc.pages[MT_RSS_ANON] = 120;
    in.open_calls = open_calls({{43, fr}}, {{42, slots}}, {proc}, kUnits);
    auto out = build_function_records(in);
    REQUIRE(out.size() == 1);
    CHECK(out[0].demangled == "A::f()");
    CHECK(out[0].active == 1);
    CHECK(out[0].calls == 0);
    CHECK(out[0].max_peak_increment == 1ull << 20);
    CHECK(out[0].max_tid == 43);
    CHECK(out[0].max_start_s == Approx(2.0));
    CHECK(out[0].max_end_s == Approx(5.0));
}

TEST_CASE("function figures: rows for every function of the target, sorted by peak")
{
    FunctionInputs in = inputs();
    mt_func_stats s{};
    s.calls = 1;
    s.max_peak_inc = 10;
    in.totals = function_totals({{{42, 1}, s}}, kUnits);
    in.every_function_for = {42};
    auto out = build_function_records(in);
    REQUIRE(out.size() == 2);
    CHECK(out[0].symbol == "_ZN1A1fEv");
    CHECK(out[1].symbol == "spike");
    CHECK(out[1].calls == 0);
}
