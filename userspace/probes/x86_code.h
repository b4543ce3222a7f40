// What memtrace needs to know of a function's machine code (x86-64), decoded
// with capstone: where its entry probe goes, what that probe will cost, and
// where it returns. Return-site probes never touch the stack, unlike
// uretprobes, whose trampoline breaks C++ exception unwinding (std::terminate).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace memtrace {

// How the kernel handles a uprobe on an instruction: what decides its cost.
enum class ProbeInsn {
    Nop5,       // 5-byte nop: the kernel's optimized path
    Emulated,   // push, jmp, call, jcc: emulated without single-stepping
    SingleStep, // anything else: copied out of line and single-stepped
};

struct FunctionCode {
    uint64_t entry = 0;                 // where the entry probe goes (past endbr64)
    ProbeInsn entry_insn = ProbeInsn::SingleStep;
    std::vector<uint64_t> returns;      // addresses of its ret instructions
    std::vector<uint64_t> tail_calls;   // addresses of jmps that leave it for another function
    bool fully_decoded = true;
    std::string problem;                // why not fully decoded
};

struct AddressRange {
    uint64_t start = 0, end = 0; // [start, end)
};

// `code` holds the function's bytes; `address` is where they start. A jmp is
// a tail call when it leaves the function and every range in `also_inside`
// (its .cold fragment: jumping there is not leaving).
FunctionCode scan_function(std::span<const uint8_t> code, uint64_t address,
                           const std::vector<AddressRange> &also_inside = {});

// The return addresses of the direct calls to `target` in a function's code
// (`code` from `address`): the instruction after each `call target`.
std::vector<uint64_t> calls_to(std::span<const uint8_t> code, uint64_t address, uint64_t target);

// Every direct call in a function's code: (target, return address) pairs.
struct DirectCall {
    uint64_t target = 0, return_address = 0;
};
std::vector<DirectCall> direct_calls(std::span<const uint8_t> code, uint64_t address);

const char *probe_insn_name(ProbeInsn kind);

// Microseconds one probe hit costs the traced program, by how the kernel
// handles the instruction, BPF handler included: measured on our VMs
// (bench/probes.py; design.md section 7). A ret is single-stepped; a jmp is emulated.
double probe_cost_us(ProbeInsn kind);

} // namespace memtrace
