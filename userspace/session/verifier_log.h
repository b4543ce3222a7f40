// Why the kernel refused a BPF program, from what libbpf logged while loading.
// Plain text in, plain text out: no libbpf here, so unit tests can check it.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace memtrace {

struct VerifierRejection {
    std::string program; // as libbpf names it: "mt_rss_stat"
    std::string reason;  // the verifier's last meaningful line; empty if the log was lost
};

// Finds the last program libbpf reported as failing to load ("prog 'NAME':
// failed to load") and the verifier's verdict on it: the last line of its log
// (between "-- BEGIN PROG LOAD LOG --" and "-- END PROG LOAD LOG --") that is
// not the closing statistics. nullopt if no program failed.
std::optional<VerifierRejection> find_verifier_rejection(std::string_view libbpf_log);

} // namespace memtrace
