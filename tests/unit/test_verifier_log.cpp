#include <catch2/catch.hpp>

#include <string>

#include "session/verifier_log.h"

using namespace memtrace;

namespace {

// What libbpf 1.1 logged when kernel 6.18 refused mt_page_fault_user with its
// null check taken out (captured from memtrace -v; the relocation lines before
// it shortened to three, the map's kernel address replaced).
const std::string kRejected = R"(libbpf: prog 'mt_func_return': added 235 insns from sub-prog 'close_call'
libbpf: prog 'close_ended': insn #16 relocated, imm 45 points to subprog 'close_call' (now at 278 offset)
libbpf: prog 'mt_func_return': insn #188 relocated, imm 89 points to subprog 'close_call' (now at 278 offset)
libbpf: prog 'mt_page_fault_user': BPF program load failed: Permission denied
libbpf: prog 'mt_page_fault_user': -- BEGIN PROG LOAD LOG --
0: R1=ctx() R10=fp0
; __u32 tgid = bpf_get_current_pid_tgid() >> 32; @ memtrace.bpf.c:113
0: (85) call bpf_get_current_pid_tgid#14      ; R0=scalar()
1: (77) r0 >>= 32                     ; R0=scalar(smin=0,smax=umax=0xffffffff,var_off=(0x0; 0xffffffff))
2: (63) *(u32 *)(r10 -8) = r0         ; R0=scalar(id=1,smin=0,smax=umax=0xffffffff,var_off=(0x0; 0xffffffff)) R10=fp0 fp-8=????scalar(id=1,smin=0,smax=umax=0xffffffff,var_off=(0x0; 0xffffffff))
3: (bf) r2 = r10                      ; R2=fp0 R10=fp0
;  @ memtrace.bpf.c:0
4: (07) r2 += -8                      ; R2=fp-8
; struct mt_proc *p = bpf_map_lookup_elem(&procs, &tgid); @ memtrace.bpf.c:114
5: (18) r1 = 0xffff888100a6c000       ; R1=map_ptr(map=procs,ks=4,vs=232)
7: (85) call bpf_map_lookup_elem#1    ; R0=map_value_or_null(id=2,map=procs,ks=4,vs=232)
8: (b7) r6 = 1                        ; R6=1
; __sync_fetch_and_add(&p->faults, 1); @ memtrace.bpf.c:116
9: (b7) r1 = 1                        ; R1=1
10: (db) lock *(u64 *)(r0 +144) += r1
R0 invalid mem access 'map_value_or_null'
processed 10 insns (limit 1000000) max_states_per_insn 0 total_states 1 peak_states 1 mark_read 0
-- END PROG LOAD LOG --
libbpf: prog 'mt_page_fault_user': failed to load: -13
libbpf: failed to load object 'memtrace_bpf'
libbpf: failed to load BPF skeleton 'memtrace_bpf': -13
)";

} // namespace

TEST_CASE("verifier log: the rejected program and the verifier's verdict")
{
    auto rejection = find_verifier_rejection(kRejected);
    REQUIRE(rejection);
    CHECK(rejection->program == "mt_page_fault_user");
    CHECK(rejection->reason == "R0 invalid mem access 'map_value_or_null'");
}

TEST_CASE("verifier log: nothing refused, nothing found")
{
    CHECK_FALSE(find_verifier_rejection(""));
    CHECK_FALSE(find_verifier_rejection(
        "libbpf: prog 'mt_func_entry': added 67 insns from sub-prog 'slot_take'\n"
        "libbpf: map 'events': created successfully, fd=4\n"));
}

TEST_CASE("verifier log: the closing statistics are not the verdict")
{
    // as kernels with BPF_LOG_STATS print them (bpf mailing list, 2024)
    const std::string log = "libbpf: prog 'on_event': BPF program load failed: Permission denied\n"
                            "libbpf: prog 'on_event': -- BEGIN PROG LOAD LOG --\n"
                            "combined stack size of 4 calls is 544. Too large\n"
                            "verification time 1344153 usec\n"
                            "stack depth 24+440+0+32\n"
                            "processed 51008 insns (limit 1000000) max_states_per_insn 19 "
                            "total_states 1467 peak_states 303 mark_read 146\n"
                            "\n"
                            "-- END PROG LOAD LOG --\n"
                            "libbpf: prog 'on_event': failed to load: -13\n"
                            "libbpf: failed to load object 'strobemeta_subprogs.bpf.o'\n";
    auto rejection = find_verifier_rejection(log);
    REQUIRE(rejection);
    CHECK(rejection->program == "on_event");
    CHECK(rejection->reason == "combined stack size of 4 calls is 544. Too large");
}

TEST_CASE("verifier log: a log cut at its beginning still gives its end")
{
    // memtrace keeps the last 128 KiB of a long log: the BEGIN line may be gone
    std::string cut = kRejected.substr(kRejected.find("5: (18) r1 = "));
    auto rejection = find_verifier_rejection(cut);
    REQUIRE(rejection);
    CHECK(rejection->program == "mt_page_fault_user");
    CHECK(rejection->reason == "R0 invalid mem access 'map_value_or_null'");
}

TEST_CASE("verifier log: a refusal without a verdict names the program only")
{
    // no log at all (e.g. EPERM), or only the statistics
    auto bare = find_verifier_rejection("libbpf: prog 'mt_seed': BPF program load failed: "
                                        "Operation not permitted\n"
                                        "libbpf: prog 'mt_seed': failed to load: -1\n");
    REQUIRE(bare);
    CHECK(bare->program == "mt_seed");
    CHECK(bare->reason.empty());

    auto stats_only = find_verifier_rejection("libbpf: prog 'fexit': BPF program load failed: -EINVAL\n"
                                              "libbpf: prog 'fexit': -- BEGIN PROG LOAD LOG --\n"
                                              "processed 0 insns (limit 1000000) max_states_per_insn 0 "
                                              "total_states 0 peak_states 0 mark_read 0\n"
                                              "-- END PROG LOAD LOG --\n"
                                              "libbpf: prog 'fexit': failed to load: -EINVAL\n");
    REQUIRE(stats_only);
    CHECK(stats_only->program == "fexit");
    CHECK(stats_only->reason.empty());
}

TEST_CASE("verifier log: the last failure is the one reported")
{
    // a log kept from an earlier, unrelated failure, then the real one
    std::string log = "libbpf: prog 'old': BPF program load failed: Invalid argument\n"
                      "libbpf: prog 'old': -- BEGIN PROG LOAD LOG --\n"
                      "unknown func bpf_probe_read#4\n"
                      "-- END PROG LOAD LOG --\n"
                      "libbpf: prog 'old': failed to load: -22\n" +
                      kRejected;
    auto rejection = find_verifier_rejection(log);
    REQUIRE(rejection);
    CHECK(rejection->program == "mt_page_fault_user");
    CHECK(rejection->reason == "R0 invalid mem access 'map_value_or_null'");
}
