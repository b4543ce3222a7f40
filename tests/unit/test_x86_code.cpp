#include <catch2/catch.hpp>

#include "probes/x86_code.h"

using namespace memtrace;

TEST_CASE("x86: returns, and the entry probe past endbr64")
{
    // endbr64; push rbx; mov ebx,edi; call +0; pop rbx; ret
    std::vector<uint8_t> code = {0xf3, 0x0f, 0x1e, 0xfa, 0x53, 0x89, 0xfb, 0xe8,
                                 0x00, 0x00, 0x00, 0x00, 0x5b, 0xc3};
    FunctionCode c = scan_function(code, 0x1000);
    CHECK(c.fully_decoded);
    CHECK(c.entry == 0x1004);
    CHECK(c.entry_insn == ProbeInsn::Emulated); // push: emulated by the kernel
    CHECK(c.returns == std::vector<uint64_t>{0x100d});
    CHECK(c.tail_calls.empty());
}

TEST_CASE("x86: several rets; a 5-byte nop entry; a lea entry is single-stepped")
{
    // nop5; test edi,edi; je +1; ret; ret
    std::vector<uint8_t> code = {0x0f, 0x1f, 0x44, 0x00, 0x00, 0x85, 0xff, 0x74, 0x01, 0xc3, 0xc3};
    FunctionCode c = scan_function(code, 0x2000);
    CHECK(c.entry == 0x2000);
    CHECK(c.entry_insn == ProbeInsn::Nop5);
    CHECK(c.returns == std::vector<uint64_t>{0x2009, 0x200a});

    std::vector<uint8_t> lea = {0x8d, 0x47, 0x01, 0xc3}; // lea eax,[rdi+1]; ret
    CHECK(scan_function(lea, 0x3000).entry_insn == ProbeInsn::SingleStep);
}

TEST_CASE("x86: an unconditional jmp out is a tail call; a jcc or a jump to .cold is not")
{
    // sub rsp,8; je +0x100 (to .cold); add rsp,8; jmp -0x200 (another function)
    std::vector<uint8_t> code = {0x48, 0x83, 0xec, 0x08, 0x0f, 0x84, 0x00, 0x01, 0x00, 0x00,
                                 0x48, 0x83, 0xc4, 0x08, 0xe9, 0x00, 0xfe, 0xff, 0xff};
    FunctionCode c = scan_function(code, 0x5000);
    CHECK(c.returns.empty());
    REQUIRE(c.tail_calls.size() == 1);
    CHECK(c.tail_calls[0] == 0x500e);

    // the same jmp into the function's .cold range is not leaving it
    FunctionCode inside = scan_function(code, 0x5000, {{0x4e00, 0x4f00}});
    CHECK(inside.tail_calls.empty());
}

TEST_CASE("x86: a function that is one jmp")
{
    std::vector<uint8_t> code = {0xeb, 0x9e}; // jmp -0x62
    FunctionCode c = scan_function(code, 0x2c70);
    CHECK(c.entry_insn == ProbeInsn::Emulated);
    CHECK(c.tail_calls == std::vector<uint64_t>{0x2c70});
}

TEST_CASE("x86: bytes that do not decode stop the scan and say where")
{
    std::vector<uint8_t> code = {0xc3, 0x06}; // ret; then push es, invalid in 64-bit mode
    FunctionCode c = scan_function(code, 0x10);
    CHECK(c.returns == std::vector<uint64_t>{0x10});
    CHECK_FALSE(c.fully_decoded);
    CHECK(c.problem.find("+0x1") != std::string::npos);
}

TEST_CASE("probe costs follow the kernel's handling")
{
    CHECK(probe_cost_us(ProbeInsn::Nop5) < probe_cost_us(ProbeInsn::Emulated));
    CHECK(probe_cost_us(ProbeInsn::Emulated) < probe_cost_us(ProbeInsn::SingleStep));
    CHECK(std::string(probe_insn_name(ProbeInsn::SingleStep)) == "single-step");
}
