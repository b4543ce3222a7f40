// A fake kernel side for unit tests of the collect stage: records queued in a
// "ring" (an eventfd signals them), maps returned as the test sets them.
#pragma once

#include <catch2/catch.hpp>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cstring>
#include <deque>
#include <vector>

#include "collect/kernel_side.h"

namespace memtrace::testing {

template <typename T> std::vector<std::byte> bytes_of(const T &value)
{
    std::vector<std::byte> out(sizeof(T));
    std::memcpy(out.data(), &value, sizeof(T));
    return out;
}

class FakeKernel final : public KernelSide {
public:
    FakeKernel() : fd_(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {}
    ~FakeKernel() override { close(fd_); }

    void send(std::vector<std::byte> record)
    {
        ring_.push_back(std::move(record));
        uint64_t one = 1;
        REQUIRE(write(fd_, &one, sizeof(one)) == sizeof(one));
    }

    std::vector<mt_proc> procs;
    std::vector<std::pair<mt_func_key, mt_func_stats>> func_stats;
    mt_stats stats{};
    int seeded = 0;

    void seed_running() override { ++seeded; }
    int ring_fd() const override { return fd_; }
    int consume(const RecordHandler &handler) override
    {
        uint64_t n = 0;
        [[maybe_unused]] ssize_t r = read(fd_, &n, sizeof(n));
        int count = 0;
        for (; !ring_.empty(); ++count) {
            handler(ring_.front());
            ring_.pop_front();
        }
        return count;
    }
    void attach_probes(const std::vector<ProbeSite> &sites, const std::vector<pid_t> &) override
    {
        attached += sites.size();
    }
    size_t probes_attached() const override { return attached; }
    uint64_t code_gen(uint32_t) const override { return 0; }
    void set_unwind_hint(uint32_t, const mt_unwind_hint &) override {}
    void set_python(uint32_t tgid, const mt_py_proc &) override { python.push_back(tgid); }
    std::optional<mt_py_code> read_py_code(uint32_t, uint64_t, uint64_t) const override { return std::nullopt; }
    std::vector<uint32_t> python;
    std::vector<mt_proc> read_procs() const override { return procs; }
    mt_stats read_stats() const override { return stats; }
    std::vector<std::pair<mt_func_key, mt_func_stats>> read_func_stats() const override
    {
        return func_stats;
    }
    std::vector<std::pair<uint32_t, mt_thread_frames>> read_thread_frames() const override { return {}; }
    std::vector<std::pair<uint32_t, mt_call_slots>> read_call_slots() const override { return {}; }
    std::vector<std::pair<uint32_t, mt_py_code_key>> read_py_funcs() const override { return {}; }
    std::vector<std::pair<mt_stack_key, uint64_t>> read_stack_bytes() const override { return stack_bytes; }
    std::vector<std::pair<mt_stack_key, uint64_t>> take_stack_bytes(const std::set<uint32_t> &tgids) override
    {
        std::vector<std::pair<mt_stack_key, uint64_t>> taken;
        std::erase_if(stack_bytes, [&](const auto &entry) {
            if (!tgids.count(entry.first.tgid))
                return false;
            taken.push_back(entry);
            return true;
        });
        return taken;
    }
    std::vector<std::pair<uint32_t, std::string>> take_thread_names(const std::set<uint32_t> &) override { return {}; }
    std::vector<std::pair<mt_stack_key, uint64_t>> stack_bytes;
    std::vector<UserStackFrame> read_user_stack(int32_t) const override { return {}; }
    std::vector<uint64_t> read_kernel_stack(int32_t) const override { return {}; }
    std::vector<std::pair<uint32_t, std::string>> read_thread_names() const override { return {}; }
    ProgramCost program_cost() const override { return {}; }
    ProgramCost probe_program_cost(bool entry) const override { return entry ? entry_cost : return_cost; }
    bool run_time_stats() const override { return stats_on; }
    KernelTotalPeak total_peak() const override { return total; }
    KernelTotalPeak total;
    ProgramCost entry_cost, return_cost;
    bool stats_on = false;

    size_t attached = 0;

private:
    int fd_;
    std::deque<std::vector<std::byte>> ring_;
};

} // namespace memtrace::testing
