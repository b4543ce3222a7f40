// Benchmark workload, allocation heavy: builds and drops large hash maps and
// vectors of strings: millions of small allocations, a few hundred MiB at peak.
//
//   alloc_heavy [ROUNDS]   (default 2; each round: 2M-entry map + 3M strings)
//
// Prints "elapsed_s=S" on stderr: its own run time, without the tracer's set-up.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <unordered_map>
#include <vector>

int main(int argc, char **argv)
{
    int rounds = argc > 1 ? std::atoi(argv[1]) : 2;
    auto start = std::chrono::steady_clock::now();
    size_t checksum = 0;
    for (int round = 0; round < rounds; ++round) {
        std::unordered_map<std::string, std::vector<int>> index;
        for (int i = 0; i < 2'000'000; ++i) {
            std::string key = "key-" + std::to_string(static_cast<long long>(i) * 7919 % 2'000'003) + "-round-" +
                              std::to_string(round);
            index[key].assign(static_cast<size_t>(i % 7 + 1), i);
        }
        std::vector<std::string> words;
        words.reserve(3'000'000);
        for (int i = 0; i < 3'000'000; ++i)
            words.push_back("a longer string that defeats SSO #" + std::to_string(i));
        checksum += index.size() + words.size() + words[12345].size();
    }
    double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::fprintf(stderr, "elapsed_s=%.6f checksum=%zu\n", elapsed, checksum);
    return 0;
}
