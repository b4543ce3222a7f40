// Peak RSS of a command traced from its start equals the kernel's own figures.
#include <catch2/catch.hpp>

#include "harness.h"

using namespace e2e;

namespace {

struct Workload {
    std::vector<std::string> args; // memwork arguments
    uint64_t mib;                  // memory it touches
    bool freed_before_exit;        // spike / burst: the peak is gone at exit
};

} // namespace

TEST_CASE("peak RSS of a traced command equals VmHWM and ru_maxrss", "[command][peak]")
{
    require_root();
    const std::vector<Workload> workloads = {
        {{"spike", "256"}, 256, true},       // touched then munmapped: a short peak
        {{"burst", "300"}, 300, true},       // MAP_POPULATE then munmap: microseconds
        {{"keep", "200"}, 200, false},       // malloc (mmap), kept until exit
        {{"brk", "120"}, 120, false},        // ~490k small mallocs from the heap
        {{"mmap", "100"}, 100, false},       // 100 separate 1 MiB mappings
        {{"threads", "200", "4"}, 200, false}, // 4 threads allocating at once
    };
    for (const auto &w : workloads) {
        DYNAMIC_SECTION("memwork " << w.args[0] << " " << w.args[1])
        {
            std::string dir = report_dir();
            std::vector<std::string> args{"--", workload("memwork")};
            args.insert(args.end(), w.args.begin(), w.args.end());
            JsonRun r = run_memtrace_json(args, with_env({"MEMWORK_REPORT_DIR=" + dir}));
            INFO("stderr: " << r.result.err);
            REQUIRE(r.result.exit_code == 0);
            uint32_t pid = r.report["command_pid"];
            const auto *p = r.process(pid);
            REQUIRE(p);
            auto truth = read_report(dir, pid);
            REQUIRE(truth);

            uint64_t peak = (*p)["peak_rss_bytes"];
            uint64_t maxrss = (*p)["kernel_maxrss_bytes"];
            INFO("VmHWM: " << bound_text(peak, truth->vm_hwm));
            INFO("ru_maxrss: " << bound_text(peak, maxrss));
            CHECK(within_peak_bound(peak, truth->vm_hwm));
            CHECK(within_peak_bound(peak, maxrss));
            CHECK(peak >= w.mib * MiB);
            // the split at the peak adds up to the peak
            CHECK(uint64_t((*p)["peak_anon_bytes"]) + uint64_t((*p)["peak_file_bytes"]) +
                      uint64_t((*p)["peak_shmem_bytes"]) == peak);
            CHECK(uint64_t((*p)["peak_anon_bytes"]) >= w.mib * MiB);
            // VM: the kernel's VmPeak is total_vm's high-water mark, as ours
            CHECK(uint64_t((*p)["peak_vm_bytes"]) == truth->vm_peak);
            // every page of the workload was brought in, and no more than the peak allows
            uint64_t touched = (*p)["touched_bytes"];
            CHECK(touched >= w.mib * MiB);
            CHECK(touched <= peak + 8 * MiB);
            if (w.args[0] != "burst") // MAP_POPULATE fills pages without user faults
                CHECK(uint64_t((*p)["page_faults"]) >= w.mib * MiB / 4096);
            CHECK(uint64_t((*p)["mapped_bytes"]) >= w.mib * MiB);
            uint64_t final_rss = (*p)["final_rss_bytes"];
            if (w.freed_before_exit) {
                CHECK(final_rss < 8 * MiB);
                CHECK(uint64_t((*p)["unmapped_bytes"]) >= w.mib * MiB);
                CHECK(within_peak_bound(final_rss, truth->vm_rss));
            } else if (w.args[0] != "threads") { // threads report while holding, then free
                CHECK(within_peak_bound(final_rss, truth->vm_rss));
                CHECK(final_rss >= w.mib * MiB);
            }
            CHECK(uint64_t((*p)["start_rss_bytes"]) < 1 * MiB); // traced from exec
            CHECK((*p)["exit_code"] == 0);
            CHECK((*p)["comm"] == "memwork");
            CHECK(r.report["stats"]["lost_events"] == 0);
        }
    }
}

TEST_CASE("memtrace exits with the command's status", "[command]")
{
    require_root();
    RunResult ok = run_memtrace({"-q", "--", "sh", "-c", "exit 0"});
    CHECK(ok.exit_code == 0);
    RunResult three = run_memtrace({"-q", "--", "sh", "-c", "exit 3"});
    CHECK(three.exit_code == 3);
    CHECK(three.out.find("exited with status 3") != std::string::npos);
}

TEST_CASE("a SIGKILLed command: figures kept, 128+9 returned", "[command]")
{
    require_root();
    std::string dir = report_dir();
    JsonRun r = run_memtrace_json({"--", workload("memwork"), "sigkill", "100"},
                                  with_env({"MEMWORK_REPORT_DIR=" + dir}));
    CHECK(r.result.exit_code == 137);
    uint32_t pid = r.report["command_pid"];
    const auto *p = r.process(pid);
    REQUIRE(p);
    CHECK((*p)["exit_code"] == 137);
    CHECK((*p)["exit_signal"] == "SIGKILL");
    auto truth = read_report(dir, pid);
    REQUIRE(truth);
    uint64_t peak = (*p)["peak_rss_bytes"];
    INFO(bound_text(peak, truth->vm_hwm));
    CHECK(within_peak_bound(peak, truth->vm_hwm));
    CHECK(r.result.out.find("was killed by SIGKILL") != std::string::npos);
    CHECK(memtrace_programs_loaded().empty());
}

TEST_CASE("the table is readable: headline, aligned columns, legend", "[command][output]")
{
    require_root();
    RunResult r = run_memtrace({"--", workload("memwork"), "keep", "64"});
    REQUIRE(r.exit_code == 0);
    INFO(r.out);
    CHECK(r.out.rfind("memtrace: '", 0) == 0);
    CHECK(r.out.find("exited with status 0") != std::string::npos);
    CHECK(r.out.find("PEAK RSS") != std::string::npos);
    CHECK(r.out.find(" MiB") != std::string::npos);
    CHECK(r.out.find("memwork keep 64") != std::string::npos);
    CHECK(r.out.find("PEAK RSS: exact high-water mark") != std::string::npos);
}
