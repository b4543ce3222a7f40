// A tiny HTTP/1.1 server for --listen, run from the caller's poll loop on the
// caller's one thread: non-blocking sockets, one request per connection
// (Connection: close), GET and HEAD only. A peer can never make it wait: a
// request is at most `request_bytes`, must arrive within `read_timeout`, its
// response be taken within `write_timeout`; past `connections` open at once,
// one answered already, or else the oldest peer that has not sent its request,
// is closed for the new one; if every one is being answered, it gets 503.
#pragma once

#include <poll.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "unique_fd.h"

namespace memtrace {

struct HttpRequest {
    std::string method; // "GET" or "HEAD"
    std::string path;   // without the query
};

struct HttpResponse {
    int status = 200;
    std::string content_type = "text/plain; charset=utf-8";
    std::string body;
};

using HttpHandler = std::function<HttpResponse(const HttpRequest &)>;

struct HttpLimits {
    size_t connections = 8;
    size_t request_bytes = 8192;
    uint64_t read_timeout_ns = 5'000'000'000;
    uint64_t write_timeout_ns = 10'000'000'000;
    uint64_t linger_ns = 1'000'000'000; // after the response: the peer's close awaited
};

class HttpServer {
public:
    explicit HttpServer(UniqueFd listener, HttpLimits limits = {});
    ~HttpServer();
    HttpServer(const HttpServer &) = delete;
    HttpServer &operator=(const HttpServer &) = delete;

    void add_descriptors(std::vector<pollfd> &fds) const;
    std::optional<uint64_t> wake_ns() const; // the earliest deadline of a connection
    // `ready`: what add_descriptors appended, after poll. Calls `handler` for
    // each complete request; a handler that throws gets the peer a 500.
    void serve(std::span<const pollfd> ready, const HttpHandler &handler);
    size_t open_connections() const { return connections_.size(); }

private:
    struct Connection;
    void accept_new(const HttpHandler &handler, uint64_t now);
    bool make_way();
    void read_request(Connection &c, const HttpHandler &handler, uint64_t now);
    void respond(Connection &c, const HttpResponse &response, bool head, uint64_t now);
    void write_response(Connection &c, uint64_t now);
    void drain(Connection &c);

    UniqueFd listener_;
    HttpLimits limits_;
    std::vector<std::unique_ptr<Connection>> connections_;
};

// The status line's words: "OK", "Not Found", ...
const char *http_reason(int status);

// Clock of the deadlines: CLOCK_MONOTONIC in ns.
uint64_t http_now_ns();

} // namespace memtrace
