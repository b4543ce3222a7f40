#include "session/probe_calibration.h"

#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <vector>

#include "symbols/modules.h"

// Three functions whose first instruction is each kind the kernel handles
// differently; each returns at once.
asm(R"(
    .text
    .globl memtrace_trap_nop5
    .type memtrace_trap_nop5, @function
memtrace_trap_nop5:
    .byte 0x0f, 0x1f, 0x44, 0x00, 0x00
    ret
    .size memtrace_trap_nop5, .-memtrace_trap_nop5

    .globl memtrace_trap_push
    .type memtrace_trap_push, @function
memtrace_trap_push:
    push %rbp
    pop %rbp
    ret
    .size memtrace_trap_push, .-memtrace_trap_push

    .globl memtrace_trap_ret
    .type memtrace_trap_ret, @function
memtrace_trap_ret:
    ret
    .size memtrace_trap_ret, .-memtrace_trap_ret

    .globl memtrace_trap_lea
    .type memtrace_trap_lea, @function
memtrace_trap_lea:
    lea 8(%rsp), %rax
    ret
    .size memtrace_trap_lea, .-memtrace_trap_lea
)");

extern "C" void memtrace_trap_nop5();
extern "C" void memtrace_trap_push();
extern "C" void memtrace_trap_lea();
extern "C" void memtrace_trap_ret();

namespace memtrace {
namespace {

double call_ns(void (*fn)(), int calls)
{
    timespec t0{}, t1{};
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int i = 0; i < calls; ++i)
        fn();
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (static_cast<double>(t1.tv_sec - t0.tv_sec) * 1e9 + static_cast<double>(t1.tv_nsec - t0.tv_nsec)) /
           calls;
}

// The median of three rounds of `calls` hits, in µs; nullopt if unattachable.
std::optional<double> trap_us(BpfLoader &loader, void (*fn)(), int calls)
{
    auto where = file_offset_at(getpid(), reinterpret_cast<uint64_t>(fn));
    if (!where)
        return std::nullopt;
    const double plain_ns = call_ns(fn, 1000);
    std::vector<double> rounds;
    for (int round = 0; round < 3; ++round) {
        auto timing = loader.time_probe(where->open_path, where->offset, fn, calls);
        if (!timing)
            return std::nullopt;
        rounds.push_back(std::max(0.0, timing->hit_ns - timing->bpf_ns - plain_ns) / 1000);
    }
    std::sort(rounds.begin(), rounds.end());
    return rounds[1];
}

} // namespace

TrapCosts measure_trap_costs(BpfLoader &loader)
{
    TrapCosts costs;
    auto nop5 = trap_us(loader, memtrace_trap_nop5, 300);
    auto push = trap_us(loader, memtrace_trap_push, 200);
    auto lea = trap_us(loader, memtrace_trap_lea, 100);
    auto ret = trap_us(loader, memtrace_trap_ret, 100);
    if (nop5)
        costs.nop5_us = *nop5;
    if (push)
        costs.emulated_us = *push;
    if (lea)
        costs.single_step_us = *lea;
    if (ret)
        costs.ret_us = *ret;
    costs.measured = nop5 && push && lea && ret && loader.run_time_stats();
    return costs;
}

} // namespace memtrace
