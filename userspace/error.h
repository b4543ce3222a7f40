// The one error type for fatal set-up problems: main() prints what() on one line
// and exits with exit_code. Recoverable problems are return values instead.
#pragma once

#include <stdexcept>
#include <string>

namespace memtrace {

inline constexpr int kExitUsage = 2; // bad input, missing privileges, failed set-up

class Error : public std::runtime_error {
public:
    explicit Error(const std::string &message, int exit_code = kExitUsage)
        : std::runtime_error(message), exit_code_(exit_code) {}
    int exit_code() const { return exit_code_; }

private:
    int exit_code_;
};

} // namespace memtrace
