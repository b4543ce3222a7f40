// --listen ADDR: where /metrics is served. HOST:PORT with a numeric host
// (127.0.0.1, [::1]) or localhost; ":PORT" is 127.0.0.1. Every interface only
// when asked by name: 0.0.0.0 or [::].
#pragma once

#include <cstdint>
#include <string>

#include "unique_fd.h"

namespace memtrace {

struct ListenAddress {
    std::string host; // numeric: "127.0.0.1", "::1", "0.0.0.0", "::"
    uint16_t port = 0;
    bool ipv6 = false;

    std::string url() const; // "http://127.0.0.1:9100/metrics", "http://[::1]:9100/metrics"
};

// Throws Error (exit code 2) with what to write instead.
ListenAddress parse_listen_address(const std::string &text);

// A listening TCP socket, non-blocking and closed on exec (the traced command
// never holds it). Throws Error (exit code 1) when it cannot be had (the port
// is in use, the address is not this machine's). Port 0: the kernel picks one;
// `bound` is where it listens.
UniqueFd open_listener(const ListenAddress &address, ListenAddress &bound);

} // namespace memtrace
