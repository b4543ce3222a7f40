// The --listen HTTP server on a real socket, driven by a poll loop like the
// collector's: answers, errors, and peers that send too much, too slowly, or
// never read.
#include <catch2/catch.hpp>

#include <netinet/in.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <poll.h>
#include <unistd.h>

#include <string>

#include "serve/http_server.h"
#include "serve/listen_address.h"

using namespace memtrace;

namespace {

struct Served {
    ListenAddress bound;
    std::unique_ptr<HttpServer> server;
    HttpHandler handler = [](const HttpRequest &r) {
        if (r.path != "/metrics")
            return HttpResponse{404, "text/plain", "no\n"};
        return HttpResponse{200, "text/plain; version=0.0.4", "m 1\n"};
    };

    explicit Served(HttpLimits limits = {})
    {
        UniqueFd fd = open_listener(parse_listen_address(":0"), bound);
        server = std::make_unique<HttpServer>(std::move(fd), limits);
    }
    // One turn of the loop: poll (at most 10 ms), then serve.
    void turn()
    {
        std::vector<pollfd> fds;
        server->add_descriptors(fds);
        poll(fds.data(), fds.size(), 10);
        server->serve(fds, handler);
    }
    UniqueFd connect_client()
    {
        UniqueFd fd(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
        sockaddr_in to{};
        to.sin_family = AF_INET;
        to.sin_port = htons(bound.port);
        inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
        REQUIRE(connect(fd.get(), reinterpret_cast<sockaddr *>(&to), sizeof(to)) == 0);
        return fd;
    }
    // Turns the loop until the peer's side is closed (or `turns` pass); what came.
    std::string read_all(int fd, int turns = 300)
    {
        std::string got;
        char buffer[65536];
        for (int i = 0; i < turns; ++i) {
            turn();
            for (;;) {
                const ssize_t n = recv(fd, buffer, sizeof(buffer), MSG_DONTWAIT);
                if (n == 0)
                    return got;
                if (n < 0)
                    break;
                got.append(buffer, static_cast<size_t>(n));
            }
        }
        return got + "[still open]";
    }
    // The peers gone: turns until the server has closed its side too.
    size_t settle()
    {
        for (int i = 0; i < 50 && server->open_connections() > 0; ++i)
            turn();
        return server->open_connections();
    }
    std::string exchange(const std::string &request)
    {
        UniqueFd fd = connect_client();
        REQUIRE(send(fd.get(), request.data(), request.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(request.size()));
        return read_all(fd.get());
    }
};

bool starts_with(const std::string &text, const std::string &prefix)
{
    return text.compare(0, prefix.size(), prefix) == 0;
}

} // namespace

TEST_CASE("http: GET /metrics gets the handler's answer, then the connection closes", "[metrics]")
{
    Served s;
    const std::string got = s.exchange("GET /metrics HTTP/1.1\r\nHost: x\r\nAccept: */*\r\n\r\n");
    CHECK(got == "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: 4\r\n"
                 "Connection: close\r\n\r\nm 1\n");
    CHECK(starts_with(s.exchange("GET /metrics?x=1 HTTP/1.0\r\n\r\n"), "HTTP/1.1 200 OK\r\n"));
    CHECK(starts_with(s.exchange("GET / HTTP/1.1\r\n\r\n"), "HTTP/1.1 404 Not Found\r\n"));
    const std::string head = s.exchange("HEAD /metrics HTTP/1.1\r\n\r\n");
    CHECK(starts_with(head, "HTTP/1.1 200 OK\r\n"));
    CHECK(head.find("Content-Length: 4\r\n") != std::string::npos);
    CHECK(head.substr(head.size() - 4) == "\r\n\r\n"); // no body
    CHECK(s.settle() == 0);
}

TEST_CASE("http: other methods 405, malformed requests 400, a handler that throws 500", "[metrics]")
{
    Served s;
    const std::string post = s.exchange("POST /metrics HTTP/1.1\r\nContent-Length: 2\r\n\r\nab");
    CHECK(starts_with(post, "HTTP/1.1 405 Method Not Allowed\r\nAllow: GET, HEAD\r\n"));
    CHECK(starts_with(s.exchange("GET /metrics\r\n\r\n"), "HTTP/1.1 400 Bad Request\r\n"));
    CHECK(starts_with(s.exchange("\r\n\r\n"), "HTTP/1.1 400 Bad Request\r\n"));
    CHECK(starts_with(s.exchange("GET /metrics SPDY/3\r\n\r\n"), "HTTP/1.1 400 Bad Request\r\n"));
    s.handler = [](const HttpRequest &) -> HttpResponse { throw std::runtime_error("boom"); };
    CHECK(starts_with(s.exchange("GET /metrics HTTP/1.1\r\n\r\n"), "HTTP/1.1 500 Internal Server Error\r\n"));
}

TEST_CASE("http: a request past the size limit gets 431 and is closed", "[metrics]")
{
    HttpLimits limits;
    limits.request_bytes = 1024;
    Served s(limits);
    const std::string endless = "GET /metrics HTTP/1.1\r\nX: " + std::string(5000, 'a');
    CHECK(starts_with(s.exchange(endless), "HTTP/1.1 431 "));
    CHECK(s.settle() == 0);
}

TEST_CASE("http: a peer too slow to send its request is closed at the read timeout", "[metrics]")
{
    HttpLimits limits;
    limits.read_timeout_ns = 100'000'000;
    Served s(limits);
    UniqueFd slow = s.connect_client();
    REQUIRE(send(slow.get(), "GET /met", 8, MSG_NOSIGNAL) == 8);
    CHECK(s.read_all(slow.get()) == ""); // closed, nothing answered
    CHECK(s.server->open_connections() == 0);
    CHECK(s.server->wake_ns() == std::nullopt);
}

TEST_CASE("http: past the connection limit, the oldest peer yet to send its request makes way",
          "[metrics]")
{
    HttpLimits limits;
    limits.connections = 2;
    Served s(limits);
    UniqueFd a = s.connect_client();
    for (int i = 0; i < 20 && s.server->open_connections() < 1; ++i)
        s.turn();
    UniqueFd b = s.connect_client();
    for (int i = 0; i < 20 && s.server->open_connections() < 2; ++i)
        s.turn();
    REQUIRE(s.server->open_connections() == 2);
    UniqueFd c = s.connect_client();
    REQUIRE(send(c.get(), "GET /metrics HTTP/1.1\r\n\r\n", 25, MSG_NOSIGNAL) == 25);
    CHECK(starts_with(s.read_all(c.get()), "HTTP/1.1 200 OK\r\n")); // served
    CHECK(s.read_all(a.get(), 1) == "");                              // closed for it
    REQUIRE(send(b.get(), "GET /metrics HTTP/1.1\r\n\r\n", 25, MSG_NOSIGNAL) == 25);
    CHECK(starts_with(s.read_all(b.get()), "HTTP/1.1 200 OK\r\n"));
}

TEST_CASE("http: past the connection limit with every peer being answered: 503", "[metrics]")
{
    HttpLimits limits;
    limits.connections = 2;
    Served s(limits);
    s.handler = [](const HttpRequest &) { return HttpResponse{200, "text/plain", std::string(64 << 20, 'x')}; };
    std::vector<UniqueFd> readers;
    for (int k = 0; k < 2; ++k) {
        readers.push_back(s.connect_client());
        REQUIRE(send(readers.back().get(), "GET /metrics HTTP/1.1\r\n\r\n", 25, MSG_NOSIGNAL) == 25);
        for (int i = 0; i < 20 && s.server->open_connections() < readers.size(); ++i)
            s.turn();
    }
    for (int i = 0; i < 5; ++i)
        s.turn(); // both requests read; their responses wait for readers that do not read
    REQUIRE(s.server->open_connections() == 2);
    UniqueFd c = s.connect_client();
    std::string got;
    char buffer[4096];
    for (int i = 0; i < 100 && got.find("\r\n\r\n") == std::string::npos; ++i) {
        s.turn();
        const ssize_t n = recv(c.get(), buffer, sizeof(buffer), MSG_DONTWAIT);
        if (n > 0)
            got.append(buffer, static_cast<size_t>(n));
    }
    CHECK(starts_with(got, "HTTP/1.1 503 Service Unavailable\r\n"));
}

TEST_CASE("http: a peer that never reads its response is closed at the write timeout", "[metrics]")
{
    HttpLimits limits;
    limits.write_timeout_ns = 200'000'000;
    Served s(limits);
    s.handler = [](const HttpRequest &) { return HttpResponse{200, "text/plain", std::string(64 << 20, 'x')}; };
    UniqueFd idle = s.connect_client();
    int small = 4096;
    setsockopt(idle.get(), SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
    REQUIRE(send(idle.get(), "GET /metrics HTTP/1.1\r\n\r\n", 25, MSG_NOSIGNAL) == 25);
    for (int i = 0; i < 100 && s.server->open_connections() > 0; ++i)
        s.turn(); // never blocks: each turn returns whatever the peer does
    CHECK(s.server->open_connections() == 0);
}
