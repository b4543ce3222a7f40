#include "serve/http_server.h"

#include <sys/socket.h>
#include <time.h>

#include <algorithm>
#include <cerrno>

namespace memtrace {

struct HttpServer::Connection {
    enum class State { Reading, Writing, Lingering, Done };
    UniqueFd fd;
    State state = State::Reading;
    std::string in;
    std::string out;
    size_t written = 0;
    uint64_t deadline = 0;
};

namespace {

// The request line, "METHOD TARGET HTTP/1.x", and nothing else of the head.
std::optional<HttpRequest> parse_request_line(const std::string &head)
{
    const std::string line = head.substr(0, head.find_first_of("\r\n"));
    const size_t first = line.find(' ');
    const size_t second = first == std::string::npos ? first : line.find(' ', first + 1);
    if (second == std::string::npos || line.compare(second + 1, 7, "HTTP/1.") != 0 ||
        line.size() != second + 9)
        return std::nullopt;
    HttpRequest request;
    request.method = line.substr(0, first);
    const std::string target = line.substr(first + 1, second - first - 1);
    request.path = target.substr(0, target.find('?'));
    if (request.method.empty() || request.path.empty())
        return std::nullopt;
    return request;
}

std::string response_text(const HttpResponse &response, bool head)
{
    std::string text = "HTTP/1.1 " + std::to_string(response.status) + " " +
                       http_reason(response.status) + "\r\n";
    if (response.status == 405)
        text += "Allow: GET, HEAD\r\n";
    text += "Content-Type: " + response.content_type + "\r\n";
    text += "Content-Length: " + std::to_string(response.body.size()) + "\r\n";
    text += "Connection: close\r\n\r\n";
    if (!head)
        text += response.body;
    return text;
}

HttpResponse error_response(int status, const std::string &why)
{
    return {status, "text/plain; charset=utf-8", why + "\n"};
}

} // namespace

const char *http_reason(int status)
{
    switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default: return "Error";
    }
}

uint64_t http_now_ns()
{
    timespec now{};
    clock_gettime(CLOCK_MONOTONIC, &now);
    return static_cast<uint64_t>(now.tv_sec) * 1000000000ull + static_cast<uint64_t>(now.tv_nsec);
}

HttpServer::HttpServer(UniqueFd listener, HttpLimits limits)
    : listener_(std::move(listener)), limits_(limits)
{
}

HttpServer::~HttpServer() = default;

void HttpServer::add_descriptors(std::vector<pollfd> &fds) const
{
    fds.push_back({listener_.get(), POLLIN, 0});
    for (const auto &c : connections_)
        fds.push_back({c->fd.get(),
                       static_cast<short>(c->state == Connection::State::Writing ? POLLOUT : POLLIN), 0});
}

std::optional<uint64_t> HttpServer::wake_ns() const
{
    std::optional<uint64_t> wake;
    for (const auto &c : connections_)
        wake = std::min(wake.value_or(UINT64_MAX), c->deadline);
    return wake;
}

void HttpServer::serve(std::span<const pollfd> ready, const HttpHandler &handler)
{
    const uint64_t now = http_now_ns();
    for (const pollfd &p : ready) {
        if (!p.revents || p.fd == listener_.get())
            continue;
        for (auto &c : connections_) {
            if (c->fd.get() != p.fd)
                continue;
            if (c->state == Connection::State::Reading)
                read_request(*c, handler, now);
            else if (c->state == Connection::State::Writing)
                write_response(*c, now);
            else if (c->state == Connection::State::Lingering)
                drain(*c);
        }
    }
    for (auto &c : connections_)
        if (c->state != Connection::State::Done && now >= c->deadline)
            c->state = Connection::State::Done; // too slow a peer: closed, never waited for
    std::erase_if(connections_, [](const auto &c) { return c->state == Connection::State::Done; });
    if (!ready.empty() && ready.front().revents)
        accept_new(handler, now);
}

void HttpServer::accept_new(const HttpHandler &handler, uint64_t now)
{
    for (int i = 0; i < 64; ++i) { // the rest of a burst waits for the next turn
        UniqueFd fd(accept4(listener_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
        if (!fd)
            return; // EAGAIN, or an error of that one connection
        if (connections_.size() >= limits_.connections && !make_way()) {
            const std::string busy = response_text(error_response(503, "too many connections"), false);
            send(fd.get(), busy.data(), busy.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
            continue; // closed
        }
        auto c = std::make_unique<Connection>();
        c->fd = std::move(fd);
        c->deadline = now + limits_.read_timeout_ns;
        connections_.push_back(std::move(c));
        // a request that came with the connection is answered now, before a
        // later connection of the burst could need its place
        read_request(*connections_.back(), handler, now);
    }
}

// Full: a connection that is answered already (our side closed, the peer's
// close awaited) goes first, else the oldest peer still to send its request
// (a scraper sends it at once: peers that connect and wait cannot keep the
// others out).
bool HttpServer::make_way()
{
    std::erase_if(connections_, [](const auto &c) { return c->state == Connection::State::Done; });
    if (connections_.size() < limits_.connections)
        return true;
    for (Connection::State state : {Connection::State::Lingering, Connection::State::Reading}) {
        auto oldest = connections_.end();
        for (auto it = connections_.begin(); it != connections_.end(); ++it)
            if ((*it)->state == state && (oldest == connections_.end() || (*it)->deadline < (*oldest)->deadline))
                oldest = it;
        if (oldest != connections_.end()) {
            connections_.erase(oldest);
            return true;
        }
    }
    return false;
}

void HttpServer::read_request(Connection &c, const HttpHandler &handler, uint64_t now)
{
    char buffer[4096];
    for (;;) {
        const ssize_t n = recv(c.fd.get(), buffer, sizeof(buffer), MSG_DONTWAIT);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
            c.state = Connection::State::Done; // gone before its request was whole
            return;
        }
        if (n < 0)
            return; // the rest later
        c.in.append(buffer, static_cast<size_t>(n));
        const size_t end = c.in.find("\r\n\r\n");
        if (end == std::string::npos && c.in.size() > limits_.request_bytes)
            return respond(c, error_response(431, "request too large"), false, now);
        if (end == std::string::npos)
            continue;
        const std::optional<HttpRequest> request = parse_request_line(c.in);
        if (!request)
            return respond(c, error_response(400, "expected GET /metrics HTTP/1.1"), false, now);
        const bool head = request->method == "HEAD";
        if (request->method != "GET" && !head)
            return respond(c, error_response(405, "only GET and HEAD"), false, now);
        try {
            return respond(c, handler(*request), head, now);
        } catch (...) {
            return respond(c, error_response(500, "internal error"), head, now);
        }
    }
}

void HttpServer::respond(Connection &c, const HttpResponse &response, bool head, uint64_t now)
{
    c.in.clear();
    c.out = response_text(response, head);
    c.written = 0;
    c.state = Connection::State::Writing;
    c.deadline = now + limits_.write_timeout_ns;
    write_response(c, now);
}

void HttpServer::write_response(Connection &c, uint64_t now)
{
    while (c.written < c.out.size()) {
        const ssize_t n = send(c.fd.get(), c.out.data() + c.written, c.out.size() - c.written,
                               MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
            return; // POLLOUT says when to go on
        if (n <= 0) {
            c.state = Connection::State::Done;
            return;
        }
        c.written += static_cast<size_t>(n);
    }
    // All sent: close our side, and let the peer close theirs (closing with its
    // bytes unread would reset the connection and could lose the response).
    shutdown(c.fd.get(), SHUT_WR);
    c.out.clear();
    c.state = Connection::State::Lingering;
    c.deadline = now + limits_.linger_ns;
}

void HttpServer::drain(Connection &c)
{
    char buffer[4096];
    for (int i = 0; i < 16; ++i) {
        const ssize_t n = recv(c.fd.get(), buffer, sizeof(buffer), MSG_DONTWAIT);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
            return;
        if (n <= 0)
            break;
    }
    c.state = Connection::State::Done; // closed by the peer, or more than it should send
}

} // namespace memtrace
