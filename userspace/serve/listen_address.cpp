#include "serve/listen_address.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>
#include <charconv>
#include <cstring>

#include "error.h"

namespace memtrace {
namespace {

constexpr const char *kForm = "expected HOST:PORT or :PORT (127.0.0.1:9977, [::1]:9977, :9977; "
                              "0.0.0.0:9977 or [::]:9977 for every interface)";

uint16_t parse_port(const std::string &text, const std::string &whole)
{
    unsigned port = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), port);
    if (text.empty() || ec != std::errc() || end != text.data() + text.size() || port > 65535)
        throw Error("--listen '" + whole + "': the port must be a number from 0 to 65535; " + kForm);
    return static_cast<uint16_t>(port);
}

union SocketAddress {
    sockaddr any;
    sockaddr_in v4;
    sockaddr_in6 v6;
};

} // namespace

std::string ListenAddress::url() const
{
    return "http://" + (ipv6 ? "[" + host + "]" : host) + ":" + std::to_string(port) + "/metrics";
}

ListenAddress parse_listen_address(const std::string &text)
{
    const size_t colon = text.rfind(':');
    if (colon == std::string::npos)
        throw Error("--listen '" + text + "': no port; " + kForm);
    ListenAddress out;
    std::string host = text.substr(0, colon);
    out.port = parse_port(text.substr(colon + 1), text);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
        host = host.substr(1, host.size() - 2);
        in6_addr v6{};
        if (inet_pton(AF_INET6, host.c_str(), &v6) != 1)
            throw Error("--listen '" + text + "': '" + host + "' is not an IPv6 address; " + kForm);
        out.host = host;
        out.ipv6 = true;
        return out;
    }
    if (host.empty() || host == "localhost")
        host = "127.0.0.1";
    in_addr v4{};
    if (inet_pton(AF_INET, host.c_str(), &v4) != 1)
        throw Error("--listen '" + text + "': '" + host + "' is not a numeric address " +
                    "(IPv6 goes in brackets); " + kForm);
    out.host = host;
    return out;
}

UniqueFd open_listener(const ListenAddress &address, ListenAddress &bound)
{
    SocketAddress where{};
    socklen_t length = 0;
    if (address.ipv6) {
        where.v6.sin6_family = AF_INET6;
        where.v6.sin6_port = htons(address.port);
        inet_pton(AF_INET6, address.host.c_str(), &where.v6.sin6_addr);
        length = sizeof(where.v6);
    } else {
        where.v4.sin_family = AF_INET;
        where.v4.sin_port = htons(address.port);
        inet_pton(AF_INET, address.host.c_str(), &where.v4.sin_addr);
        length = sizeof(where.v4);
    }
    const std::string said = address.ipv6 ? "[" + address.host + "]:" + std::to_string(address.port)
                                          : address.host + ":" + std::to_string(address.port);
    UniqueFd fd(socket(where.any.sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd)
        throw Error("--listen " + said + ": cannot make a socket: " + std::strerror(errno), 1);
    const int on = 1;
    setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)); // a restart soon after is fine
    if (bind(fd.get(), &where.any, length) != 0) {
        const int error = errno;
        if (error == EADDRINUSE)
            throw Error("--listen " + said + ": the port is in use by another program; pick another "
                        "port (ss -ltnp shows which program has it)", 1);
        throw Error("--listen " + said + ": cannot listen there: " + std::strerror(error) +
                        (error == EADDRNOTAVAIL ? " (not an address of this machine)" : ""), 1);
    }
    if (listen(fd.get(), 128) != 0)
        throw Error("--listen " + said + ": listen failed: " + std::strerror(errno), 1);
    bound = address;
    if (getsockname(fd.get(), &where.any, &length) == 0)
        bound.port = ntohs(address.ipv6 ? where.v6.sin6_port : where.v4.sin_port);
    return fd;
}

} // namespace memtrace
