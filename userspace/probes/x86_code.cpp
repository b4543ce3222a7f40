#include "probes/x86_code.h"

#include <capstone/capstone.h>
#include <dlfcn.h>

#include <cstdio>
#include <memory>
#include <string>
#include <type_traits>

namespace memtrace {
namespace {

// capstone, loaded the first time a function is decoded (-f, --list-funcs):
// linked in, its relocated tables were 3 MiB of every memtrace's RSS.
struct CapstoneLib {
    decltype(&::cs_open) open = nullptr;
    decltype(&::cs_close) close = nullptr;
    decltype(&::cs_option) option = nullptr;
    decltype(&::cs_malloc) malloc = nullptr;
    decltype(&::cs_free) free = nullptr;
    decltype(&::cs_disasm_iter) disasm_iter = nullptr;
    std::string error; // why it could not be loaded

    static const CapstoneLib &get()
    {
        static const CapstoneLib lib = load();
        return lib;
    }
    bool loaded() const { return disasm_iter != nullptr; }

private:
    static CapstoneLib load()
    {
        CapstoneLib lib;
        const std::string name = "libcapstone.so." + std::to_string(CS_API_MAJOR);
        void *handle = dlopen(name.c_str(), RTLD_NOW | RTLD_LOCAL);
        if (!handle) {
            const char *why = dlerror();
            lib.error = why ? why : name + ": cannot be loaded";
            return lib;
        }
        auto find = [&](auto &fn, const char *symbol) {
            fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(dlsym(handle, symbol));
            return fn != nullptr;
        };
        if (!find(lib.open, "cs_open") || !find(lib.close, "cs_close") || !find(lib.option, "cs_option") ||
            !find(lib.malloc, "cs_malloc") || !find(lib.free, "cs_free") ||
            !find(lib.disasm_iter, "cs_disasm_iter")) {
            lib.disasm_iter = nullptr;
            lib.error = name + " lacks the cs_* functions memtrace uses";
        }
        return lib; // the library stays loaded for the rest of the run
    }
};

bool is_endbr64(std::span<const uint8_t> code)
{
    return code.size() >= 4 && code[0] == 0xf3 && code[1] == 0x0f && code[2] == 0x1e &&
           code[3] == 0xfa;
}

bool in_group(const cs_insn *insn, uint8_t group)
{
    for (uint8_t i = 0; i < insn->detail->groups_count; ++i)
        if (insn->detail->groups[i] == group)
            return true;
    return false;
}

ProbeInsn classify(const cs_insn *insn)
{
    if (insn->id == X86_INS_NOP && insn->size == 5)
        return ProbeInsn::Nop5;
    if (insn->id == X86_INS_PUSH && insn->detail->x86.op_count == 1 &&
        insn->detail->x86.operands[0].type == X86_OP_REG)
        return ProbeInsn::Emulated;
    bool relative = insn->detail->x86.op_count == 1 &&
                    insn->detail->x86.operands[0].type == X86_OP_IMM;
    if ((in_group(insn, CS_GRP_JUMP) || in_group(insn, CS_GRP_CALL)) && relative)
        return ProbeInsn::Emulated;
    return ProbeInsn::SingleStep;
}

// csh is an integer, not a pointer: the owner holds it in a box of its own.
struct CsClose {
    void operator()(csh *handle) const
    {
        CapstoneLib::get().close(handle);
        delete handle;
    }
};
using Capstone = std::unique_ptr<csh, CsClose>;

struct CsFree {
    void operator()(cs_insn *insn) const { CapstoneLib::get().free(insn, 1); }
};
using Insn = std::unique_ptr<cs_insn, CsFree>; // room for one decoded instruction

// The x86-64 instructions of `code` (which starts at `address`), with their
// details, decoded one at a time.
class X86Decoder {
public:
    X86Decoder(std::span<const uint8_t> code, uint64_t address)
        : bytes_(code.data()), left_(code.size()), pc_(address)
    {
        const CapstoneLib &cs = CapstoneLib::get();
        if (!cs.loaded())
            return;
        auto handle = std::make_unique<csh>();
        if (cs.open(CS_ARCH_X86, CS_MODE_64, handle.get()) != CS_ERR_OK)
            return;
        cs.option(*handle, CS_OPT_DETAIL, CS_OPT_ON);
        cs_.reset(handle.release());
        insn_.reset(cs.malloc(*cs_));
    }

    bool started() const { return cs_ && insn_; } // false: capstone could not start
    bool done() const { return left_ == 0; }
    uint64_t pc() const { return pc_; } // where the next instruction starts
    // The next instruction; null when done, or at bytes that do not decode (at pc()).
    const cs_insn *next()
    {
        if (!started() || left_ == 0 ||
            !CapstoneLib::get().disasm_iter(*cs_, &bytes_, &left_, &pc_, insn_.get()))
            return nullptr;
        return insn_.get();
    }

private:
    Capstone cs_;
    Insn insn_;
    const uint8_t *bytes_;
    size_t left_;
    uint64_t pc_;
};

} // namespace

const char *probe_insn_name(ProbeInsn kind)
{
    switch (kind) {
    case ProbeInsn::Nop5:
        return "nop5";
    case ProbeInsn::Emulated:
        return "emulated";
    case ProbeInsn::SingleStep:
        return "single-step";
    }
    return "?";
}

std::vector<DirectCall> direct_calls(std::span<const uint8_t> code, uint64_t address)
{
    std::vector<DirectCall> out;
    X86Decoder decoder(code, address);
    while (const cs_insn *i = decoder.next()) {
        if (i->id == X86_INS_CALL && i->detail->x86.op_count == 1 &&
            i->detail->x86.operands[0].type == X86_OP_IMM)
            out.push_back({static_cast<uint64_t>(i->detail->x86.operands[0].imm), i->address + i->size});
    }
    return out;
}

std::vector<uint64_t> calls_to(std::span<const uint8_t> code, uint64_t address, uint64_t target)
{
    std::vector<uint64_t> out;
    for (const DirectCall &call : direct_calls(code, address))
        if (call.target == target)
            out.push_back(call.return_address);
    return out;
}

double TrapCosts::of(ProbeInsn kind) const
{
    switch (kind) {
    case ProbeInsn::Nop5:
        return nop5_us;
    case ProbeInsn::Emulated:
        return emulated_us;
    case ProbeInsn::SingleStep:
        return single_step_us;
    }
    return single_step_us;
}

double probe_cost_us(ProbeInsn kind)
{
    switch (kind) {
    // bench/probes.py, 2026-11-23: 26 µs a call with a nop5 entry, 31 with push,
    // 48 with lea, each with one ret probe (single-stepped) and our BPF handlers.
    case ProbeInsn::Nop5:
        return 2.5;
    case ProbeInsn::Emulated:
        return 7.5;
    case ProbeInsn::SingleStep:
        return 23.5;
    }
    return 23.5;
}

FunctionCode scan_function(std::span<const uint8_t> code, uint64_t address,
                           const std::vector<AddressRange> &also_inside)
{
    FunctionCode out;
    out.entry = address + (is_endbr64(code) ? 4 : 0);
    X86Decoder decoder(code, address);
    if (!decoder.started()) {
        out.fully_decoded = false;
        const std::string &why = CapstoneLib::get().error;
        out.problem = why.empty() ? "capstone could not start" : "capstone could not start: " + why;
        return out;
    }
    const uint64_t end = address + code.size();
    bool first = true;
    while (!decoder.done()) {
        const cs_insn *i = decoder.next();
        if (!i) {
            out.fully_decoded = false;
            char where[64];
            std::snprintf(where, sizeof(where), "undecodable byte at +0x%llx",
                          static_cast<unsigned long long>(decoder.pc() - address));
            out.problem = where;
            break;
        }
        if (first && i->address >= out.entry) {
            out.entry_insn = classify(i);
            first = false;
        }
        if (i->id == X86_INS_RET) {
            out.returns.push_back(i->address);
        } else if (i->id == X86_INS_JMP && i->detail->x86.op_count == 1 &&
                   i->detail->x86.operands[0].type == X86_OP_IMM) {
            // Only unconditional jumps: a conditional one out of the function
            // goes to its cold part, not to another function.
            auto target = static_cast<uint64_t>(i->detail->x86.operands[0].imm);
            bool inside = target >= address && target < end;
            for (const AddressRange &r : also_inside)
                inside |= target >= r.start && target < r.end;
            if (!inside)
                out.tail_calls.push_back(i->address);
        }
    }
    return out;
}

} // namespace memtrace
