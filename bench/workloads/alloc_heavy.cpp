// Benchmark workload, allocation heavy: builds and drops large hash maps and
// vectors of strings: millions of small allocations, a few hundred MiB at peak.
//
//   alloc_heavy [ROUNDS] [ENTRIES]   (default 2 rounds of a 2,000,000-entry map +
//                                     1.5 x ENTRIES strings: 2M + 3M)
//
// Each round is three named, non-inlined functions (run_round calls build_index
// and build_words), so `memtrace -f` has real functions to trace.
// Prints "elapsed_s=S cpu_s=C" on stderr: its own run time and CPU time (user +
// system, of the whole process), without the tracer's set-up.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <string>
#include <unordered_map>
#include <vector>

#define NOINLINE __attribute__((noinline))

using Index = std::unordered_map<std::string, std::vector<int>>;

NOINLINE void build_index(Index &index, int entries, int round)
{
    for (int i = 0; i < entries; ++i) {
        std::string key = "key-" + std::to_string(static_cast<long long>(i) * 7919 % 2'000'003) + "-round-" +
                          std::to_string(round);
        index[key].assign(static_cast<size_t>(i % 7 + 1), i);
    }
}

NOINLINE void build_words(std::vector<std::string> &words, int count)
{
    words.reserve(static_cast<size_t>(count));
    for (int i = 0; i < count; ++i)
        words.push_back("a longer string that defeats SSO #" + std::to_string(i));
}

NOINLINE size_t run_round(int entries, int round)
{
    Index index;
    build_index(index, entries, round);
    std::vector<std::string> words;
    build_words(words, entries / 2 * 3);
    return index.size() + words.size() + words[words.size() / 2].size();
}

static double cpu_seconds()
{
    timespec ts{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

int main(int argc, char **argv)
{
    int rounds = argc > 1 ? std::atoi(argv[1]) : 2;
    int entries = argc > 2 ? std::atoi(argv[2]) : 2'000'000;
    if (rounds < 1 || entries < 2) {
        std::fprintf(stderr, "usage: alloc_heavy [ROUNDS >= 1] [ENTRIES >= 2]\n");
        return 2;
    }
    auto start = std::chrono::steady_clock::now();
    double cpu_start = cpu_seconds();
    size_t checksum = 0;
    for (int round = 0; round < rounds; ++round)
        checksum += run_round(entries, round);
    double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::fprintf(stderr, "elapsed_s=%.6f cpu_s=%.6f checksum=%zu\n", elapsed, cpu_seconds() - cpu_start, checksum);
    return 0;
}
