// --listen: memtrace serves /metrics while it traces. Scraped with a plain
// socket (the figures against the kernel's own), then by a real Prometheus
// server, queried in PromQL.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "harness.h"

using namespace e2e;

namespace {

uint16_t free_port()
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in at{};
    at.sin_family = AF_INET;
    inet_pton(AF_INET, "127.0.0.1", &at.sin_addr);
    socklen_t length = sizeof(at);
    REQUIRE(bind(fd, reinterpret_cast<sockaddr *>(&at), sizeof(at)) == 0);
    REQUIRE(getsockname(fd, reinterpret_cast<sockaddr *>(&at), &length) == 0);
    close(fd);
    return ntohs(at.sin_port);
}

// One HTTP request on a fresh connection, the whole response ("" if none came in 5 s).
std::string http(uint16_t port, const std::string &request_line)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    timeval five{5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &five, sizeof(five));
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(port);
    inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
    std::string got;
    if (connect(fd, reinterpret_cast<sockaddr *>(&to), sizeof(to)) == 0) {
        const std::string request = request_line + "\r\nHost: localhost\r\n\r\n";
        send(fd, request.data(), request.size(), MSG_NOSIGNAL);
        char buffer[65536];
        for (ssize_t n; (n = recv(fd, buffer, sizeof(buffer), 0)) > 0;)
            got.append(buffer, static_cast<size_t>(n));
    }
    close(fd);
    return got;
}

std::string body_of(const std::string &response)
{
    const size_t end = response.find("\r\n\r\n");
    return end == std::string::npos ? "" : response.substr(end + 4);
}

// The value of the sample `series` (name{labels}, exactly as written) in an exposition text.
std::optional<double> sample(const std::string &text, const std::string &series)
{
    std::istringstream lines(text);
    for (std::string line; std::getline(lines, line);)
        if (line.compare(0, series.size() + 1, series + " ") == 0)
            return std::stod(line.substr(series.size() + 1));
    return std::nullopt;
}

// A traced function's sample: its module label is the file probed (a path).
std::optional<double> function_sample(const std::string &text, const std::string &metric,
                                      const std::string &function)
{
    const std::string start = metric + "{function=\"" + function + "\",module=\"";
    std::istringstream lines(text);
    for (std::string line; std::getline(lines, line);)
        if (line.compare(0, start.size(), start) == 0)
            return std::stod(line.substr(line.rfind(' ') + 1));
    return std::nullopt;
}

std::vector<pid_t> children_of(pid_t pid)
{
    std::vector<pid_t> out;
    std::ifstream in("/proc/" + std::to_string(pid) + "/task/" + std::to_string(pid) + "/children");
    for (pid_t child; in >> child;)
        out.push_back(child);
    return out;
}

std::string comm_of(pid_t pid)
{
    std::string comm;
    std::getline(std::ifstream("/proc/" + std::to_string(pid) + "/comm"), comm);
    return comm;
}

uint64_t status_bytes(pid_t pid, const std::string &field)
{
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    for (std::string line; std::getline(status, line);)
        if (line.rfind(field + ":", 0) == 0)
            return std::stoull(line.substr(field.size() + 1)) * KiB;
    return 0;
}

// The processes below memtrace, killed when the test ends whatever happens
// (memtrace signalled alone leaves its command running, untraced).
struct Descendants {
    std::vector<pid_t> pids;
    void find(pid_t root)
    {
        for (pid_t child : children_of(root)) {
            if (std::find(pids.begin(), pids.end(), child) == pids.end())
                pids.push_back(child);
            find(child);
        }
    }
    std::vector<pid_t> named(const std::string &comm) const
    {
        std::vector<pid_t> out;
        for (pid_t p : pids)
            if (comm_of(p) == comm)
                out.push_back(p);
        return out;
    }
    ~Descendants()
    {
        for (pid_t p : pids)
            kill(p, SIGKILL);
    }
};

// Waits (20 s at most) until memtrace's descendants include `count` processes
// named `comm`, each with at least `bytes` resident (or, `dropped`, that
// reached `bytes` and holds less than half of it now).
std::vector<pid_t> wait_resident(Descendants &d, pid_t tracer, const std::string &comm, size_t count,
                                 uint64_t bytes, bool dropped = false)
{
    for (int i = 0; i < 400; ++i, usleep(50000)) {
        d.find(tracer);
        std::vector<pid_t> ready;
        for (pid_t p : d.named(comm)) {
            const uint64_t rss = status_bytes(p, "VmRSS");
            if (dropped ? status_bytes(p, "VmHWM") >= bytes && rss > 0 && rss < bytes / 2 : rss >= bytes)
                ready.push_back(p);
        }
        if (ready.size() >= count)
            return ready;
    }
    return {};
}

// Scrapes until `series` reaches `at_least` (the kernel side's figures are read
// at each scrape; the process may still be touching its pages).
std::string scrape_until(uint16_t port, const std::string &series, double at_least)
{
    std::string text;
    for (int i = 0; i < 100; ++i, usleep(100000)) {
        text = body_of(http(port, "GET /metrics HTTP/1.1"));
        if (sample(text, series).value_or(0) >= at_least)
            break;
    }
    return text;
}

bool holds_a_socket(pid_t pid)
{
    std::error_code ec;
    for (const auto &fd : std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ec)) {
        std::error_code link_ec;
        if (std::filesystem::read_symlink(fd.path(), link_ec).string().rfind("socket:", 0) == 0)
            return true;
    }
    return false;
}

} // namespace

TEST_CASE("--listen -- CMD: /metrics while tracing, its peak RSS the workload's known peak and VmHWM",
          "[listen]")
{
    require_root();
    const uint16_t port = free_port();
    const std::string at = "127.0.0.1:" + std::to_string(port);
    Background tracer({memtrace_bin(), "--listen", at, "--", workload("memwork"), "dropped", "64"});
    Descendants below;
    REQUIRE(tracer.wait_for_stderr("memtrace: serving metrics at http://" + at + "/metrics"));
    // touched 64 MiB and gave it back: the peak is far from what it holds
    const std::vector<pid_t> work = wait_resident(below, tracer.pid(), "memwork", 1, 64 * MiB, true);
    REQUIRE(work.size() == 1);
    const std::string pid = std::to_string(work[0]);
    const std::string series = "{pid=\"" + pid + "\",comm=\"memwork\"}";

    // memwork maps, touches and unmaps 64 MiB: once the munmap is counted (its
    // syscall's exit: RSS fell a moment before), every figure below is final
    const std::string text = scrape_until(port, "memtrace_process_unmapped_bytes_total" + series, 64.0 * MiB);
    INFO(text);
    const uint64_t vm_hwm = status_bytes(work[0], "VmHWM"), vm_rss = status_bytes(work[0], "VmRSS");
    const auto peak = sample(text, "memtrace_process_peak_rss_bytes" + series);
    const auto rss = sample(text, "memtrace_process_rss_bytes" + series);
    REQUIRE(peak);
    REQUIRE(rss);
    INFO(bound_text(static_cast<uint64_t>(*peak), vm_hwm));
    CHECK(within_peak_bound(static_cast<uint64_t>(*peak), vm_hwm));
    CHECK(*peak >= 64.0 * MiB);
    CHECK(*peak <= 68.0 * MiB); // 64 MiB and the program itself
    CHECK(within_peak_bound(static_cast<uint64_t>(*rss), vm_rss));
    CHECK(*rss < 8.0 * MiB);
    CHECK(sample(text, "memtrace_process_anon_bytes" + series).value_or(0) < 8.0 * MiB);
    CHECK(sample(text, "memtrace_process_unmapped_bytes_total" + series).value_or(0) >= 64.0 * MiB);
    CHECK(sample(text, "memtrace_process_page_faults_total" + series).value_or(0) >= 64.0 * MiB / 4096);
    CHECK(sample(text, "memtrace_process_mapped_bytes_total" + series).value_or(0) >= 64.0 * MiB);
    CHECK(sample(text, "memtrace_processes").value_or(0) >= 1);
    // one process traced: the sum's peak is at least its peak
    CHECK(sample(text, "memtrace_processes_peak_total_rss_bytes").value_or(0) >= *peak);
    CHECK(sample(text, "memtrace_resident_memory_bytes").value_or(0) > 1.0 * MiB);
    CHECK(sample(text, "memtrace_lost_total{reason=\"record_ring_full\"}") == 0.0);
    CHECK(text.find("# TYPE memtrace_process_peak_rss_bytes gauge\n") != std::string::npos);

    const std::string head = http(port, "GET /metrics HTTP/1.1");
    CHECK(head.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
    CHECK(head.find("Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n") != std::string::npos);
    CHECK(http(port, "GET /other HTTP/1.1").rfind("HTTP/1.1 404 ", 0) == 0);
    CHECK(http(port, "DELETE /metrics HTTP/1.1").rfind("HTTP/1.1 405 ", 0) == 0);
    CHECK_FALSE(holds_a_socket(work[0])); // the listening socket is memtrace's alone

    tracer.signal(SIGTERM);
    RunResult r = tracer.wait(30);
    INFO(r.err);
    CHECK(r.out.find("memwork") != std::string::npos); // the end-of-run table, as always
    CHECK(http(port, "GET /metrics HTTP/1.1").empty()); // gone with memtrace
    CHECK(memtrace_programs_loaded().empty());
}

TEST_CASE("--listen -f: each function's calls, largest peak increment and net, as the JSON has them",
          "[listen][functions]")
{
    require_root();
    const uint16_t port = free_port();
    const std::string json = report_dir() + "/report.json";
    Background tracer({memtrace_bin(), "--listen", ":" + std::to_string(port), "--json", json, "-f",
                       "outer_call,inner_spike", "--", workload("funcwork"), "--hold", "60000", "nested", "100"});
    Descendants below;
    REQUIRE(tracer.wait_for_stderr("serving metrics at"));
    const auto value = [](const std::string &text, const std::string &metric, const std::string &function) {
        return function_sample(text, metric, function);
    };
    const std::string outer = "outer_call", inner = "inner_spike";
    std::string text;
    for (int i = 0; i < 200; ++i, usleep(100000)) { // until both calls have returned
        text = body_of(http(port, "GET /metrics HTTP/1.1"));
        if (value(text, "memtrace_function_calls_total", outer) == 1.0 &&
            value(text, "memtrace_function_active_calls", outer) == 0.0)
            break;
    }
    below.find(tracer.pid());
    INFO(text);
    REQUIRE(value(text, "memtrace_function_calls_total", inner) == 1.0);
    const double inner_inc = value(text, "memtrace_function_peak_increment_max_bytes", inner).value_or(0);
    const double outer_inc = value(text, "memtrace_function_peak_increment_max_bytes", outer).value_or(0);
    const double outer_net = value(text, "memtrace_function_net_bytes", outer).value_or(0);
    // known by construction: outer keeps 50 MiB, inner spikes 100 MiB on top of it
    CHECK(std::abs(inner_inc - 100.0 * MiB) <= 2.0 * MiB);
    CHECK(std::abs(outer_inc - 150.0 * MiB) <= 3.0 * MiB);
    CHECK(outer_net >= 49.0 * MiB);
    CHECK(outer_net <= 52.0 * MiB);
    CHECK(std::abs(value(text, "memtrace_function_net_bytes", inner).value_or(1e18)) <= 1.0 * MiB);

    tracer.signal(SIGTERM);
    RunResult r = tracer.wait(30);
    INFO(r.err);
    std::ifstream in(json);
    REQUIRE(in.good());
    const nlohmann::json report = nlohmann::json::parse(in);
    // nothing changed since the scrape (the program sleeps): the same numbers as the JSON
    for (const auto &f : report["functions"]) {
        const std::string labels = f.value("symbol", "");
        INFO(f.dump());
        CHECK(value(text, "memtrace_function_calls_total", labels) == f["calls"].get<double>());
        CHECK(value(text, "memtrace_function_peak_increment_max_bytes", labels) ==
              f["max_peak_increment_bytes"].get<double>());
        CHECK(value(text, "memtrace_function_net_bytes", labels) == f["total_net_bytes"].get<double>());
    }
    for (const auto &p : report["processes"])
        if (p["comm"] == "funcwork")
            CHECK(sample(text, "memtrace_process_peak_rss_bytes{pid=\"" + std::to_string(p["pid"].get<int>()) +
                                   "\",comm=\"funcwork\"}") == p["peak_rss_bytes"].get<double>());
}

TEST_CASE("--listen -p PID and --children: the top N by RSS, the rest summed in 'other'", "[listen]")
{
    require_root();
    const uint16_t port = free_port();
    SECTION("-p")
    {
        Background work({workload("memwork"), "idle", "40"});
        Descendants guard;
        guard.pids.push_back(work.pid());
        Background tracer({memtrace_bin(), "--listen", ":" + std::to_string(port), "-p",
                           std::to_string(work.pid())});
        REQUIRE(tracer.wait_for_stderr("memtrace: tracing pid"));
        const std::string series = "memtrace_process_peak_rss_bytes{pid=\"" + std::to_string(work.pid()) +
                                   "\",comm=\"memwork\"}";
        const std::string text = scrape_until(port, series, 40.0 * MiB);
        INFO(text);
        // attached late: its peak while traced is what it holds, VmHWM too
        CHECK(within_peak_bound(static_cast<uint64_t>(sample(text, series).value_or(0)),
                                status_bytes(work.pid(), "VmHWM")));
        tracer.signal(SIGINT);
        CHECK(tracer.wait(30).exit_code == 0);
    }
    SECTION("--children, --listen-top 1")
    {
        const std::string script = workload("memwork") + " idle 40 & " + workload("memwork") +
                                   " idle 20 & wait";
        Background tracer({memtrace_bin(), "--children", "--listen", "127.0.0.1:" + std::to_string(port),
                           "--listen-top", "1", "--", "sh", "-c", script});
        Descendants below;
        const std::vector<pid_t> work = wait_resident(below, tracer.pid(), "memwork", 2, 20 * MiB);
        REQUIRE(work.size() == 2);
        // the bigger one is the one that reaches 40 MiB (at 20 MiB each, either may be ahead)
        const std::vector<pid_t> forty = wait_resident(below, tracer.pid(), "memwork", 1, 40 * MiB);
        REQUIRE(forty.size() == 1);
        const pid_t big = forty[0];
        const pid_t small = big == work[0] ? work[1] : work[0];
        const std::string top = "memtrace_process_rss_bytes{pid=\"" + std::to_string(big) + "\",comm=\"memwork\"}";
        std::string text;
        for (int i = 0; i < 50; ++i, usleep(100000)) { // until both have touched all their pages
            text = scrape_until(port, top, 40.0 * MiB);
            if (sample(text, "memtrace_process_rss_bytes{pid=\"other\"}").value_or(0) >= 20.0 * MiB)
                break;
        }
        INFO(text);
        const uint64_t big_rss = static_cast<uint64_t>(sample(text, top).value_or(0));
        INFO("the bigger memwork: " << bound_text(big_rss, status_bytes(big, "VmRSS")));
        CHECK(within_peak_bound(big_rss, status_bytes(big, "VmRSS")));
        CHECK(text.find("pid=\"" + std::to_string(small) + "\"") == std::string::npos); // not listed: top 1
        const std::vector<pid_t> shell = children_of(tracer.pid());
        REQUIRE(shell.size() == 1);
        const uint64_t rest = status_bytes(small, "VmRSS") + status_bytes(shell[0], "VmRSS");
        const double other = sample(text, "memtrace_process_rss_bytes{pid=\"other\"}").value_or(0);
        // the small memwork and sh, summed
        INFO("'other': " << bound_text(static_cast<uint64_t>(other), rest));
        CHECK(within_peak_bound(static_cast<uint64_t>(other), rest));
        CHECK(sample(text, "memtrace_processes").value_or(0) == 3.0);
        tracer.signal(SIGTERM);
        tracer.wait(30);
    }
    CHECK(memtrace_programs_loaded().empty());
}

TEST_CASE("--listen: a bad address or a port in use: one line, exit 2 or 1, nothing attached", "[listen]")
{
    require_root();
    RunResult bad = run_memtrace({"--listen", "nonsense", "--", "true"});
    CHECK(bad.exit_code == 2);
    CHECK(bad.err.find("--listen 'nonsense'") != std::string::npos);
    CHECK(std::count(bad.err.begin(), bad.err.end(), '\n') == 1);

    // a port some program listens on already
    int held = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in at{};
    at.sin_family = AF_INET;
    inet_pton(AF_INET, "127.0.0.1", &at.sin_addr);
    socklen_t length = sizeof(at);
    REQUIRE(bind(held, reinterpret_cast<sockaddr *>(&at), sizeof(at)) == 0);
    REQUIRE(listen(held, 1) == 0);
    REQUIRE(getsockname(held, reinterpret_cast<sockaddr *>(&at), &length) == 0);
    const std::string port = std::to_string(ntohs(at.sin_port));
    RunResult busy = run_memtrace({"--listen", ":" + port, "-a", "-d", "1"});
    close(held);
    INFO(busy.err);
    CHECK(busy.exit_code == 1);
    CHECK(busy.err == "memtrace: --listen 127.0.0.1:" + port +
                          ": the port is in use by another program; pick another port (ss -ltnp "
                          "shows which program has it)\n");
    CHECK(busy.out.empty());
    CHECK(memtrace_programs_loaded().empty());
}

TEST_CASE("--listen: hostile peers (garbage, endless headers, idle, never reading) do not keep "
          "scrapes out or stop tracing", "[listen][hostile]")
{
    require_root();
    const uint16_t port = free_port();
    const std::string table = report_dir() + "/table.txt";
    Background tracer({memtrace_bin(), "--listen", "127.0.0.1:" + std::to_string(port), "-a", "-o", table});
    REQUIRE(tracer.wait_for_stderr("tracing every process"));
    std::vector<int> peers;
    std::string garbage(20000, '\0');
    for (size_t i = 0; i < garbage.size(); ++i)
        garbage[i] = static_cast<char>((i * 7919) % 251);
    const std::string endless = "GET /metrics HTTP/1.1\r\nX: " + std::string(100000, 'a');
    for (int i = 0; i < 120; ++i) {
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        sockaddr_in to{};
        to.sin_family = AF_INET;
        to.sin_port = htons(port);
        inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
        connect(fd, reinterpret_cast<sockaddr *>(&to), sizeof(to)); // may be still in progress: fine
        const std::string sent = i % 4 == 0 ? garbage : i % 4 == 1 ? endless
                                 : i % 4 == 2 ? std::string("GET /met") // and nothing more
                                              : std::string("GET /metrics HTTP/1.1\r\n\r\n"); // never read
        send(fd, sent.data(), sent.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
        peers.push_back(fd);
    }
    int served = 0;
    std::string failed;
    for (int i = 0; i < 10; ++i, usleep(100000)) {
        const std::string got = http(port, "GET /metrics HTTP/1.1");
        if (got.rfind("HTTP/1.1 200 OK\r\n", 0) == 0)
            ++served;
        else
            failed += "scrape " + std::to_string(i) + ": '" + got.substr(0, got.find('\r')) + "'\n";
    }
    INFO(failed);
    for (int fd : peers)
        close(fd);
    CHECK(served == 10);
    tracer.signal(SIGTERM);
    RunResult r = tracer.wait(30);
    INFO(r.err);
    CHECK(r.exit_code == 0);
    std::ostringstream written;
    written << std::ifstream(table).rdbuf();
    CHECK(written.str().find("(interrupted by SIGTERM)") != std::string::npos); // the table, as always
}

TEST_CASE("--listen: a real Prometheus scrapes memtrace; PromQL returns the workload's known peak",
          "[listen][prometheus]")
{
    require_root();
    INFO("Debian's prometheus is needed: scripts/install-deps.sh installs it");
    REQUIRE(access("/usr/bin/prometheus", X_OK) == 0);
    const uint16_t port = free_port(), web = free_port();
    REQUIRE(port != web);
    const std::string dir = report_dir();
    std::ofstream(dir + "/prometheus.yml") << "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
                                              "scrape_configs:\n  - job_name: memtrace\n"
                                              "    static_configs:\n      - targets: ['127.0.0.1:"
                                           << port << "']\n";
    Background tracer({memtrace_bin(), "--listen", "127.0.0.1:" + std::to_string(port), "--",
                       workload("memwork"), "dropped", "48"});
    Descendants below;
    REQUIRE(tracer.wait_for_stderr("serving metrics at"));
    const std::vector<pid_t> work = wait_resident(below, tracer.pid(), "memwork", 1, 48 * MiB, true);
    REQUIRE(work.size() == 1);
    Background prometheus({"/usr/bin/prometheus", "--config.file=" + dir + "/prometheus.yml",
                           "--storage.tsdb.path=" + dir + "/data", "--log.level=warn",
                           "--web.listen-address=127.0.0.1:" + std::to_string(web)});
    const std::string query = "max_over_time(memtrace_process_peak_rss_bytes%7Bcomm%3D%22memwork%22%7D%5B1m%5D)";
    double peak = 0;
    std::string answer;
    for (int i = 0; i < 50 && peak < 48.0 * MiB; ++i, usleep(500000)) {
        answer = body_of(http(web, "GET /api/v1/query?query=" + query + " HTTP/1.1"));
        const auto json = nlohmann::json::parse(answer, nullptr, false);
        if (json.is_object() && json.value("status", "") == "success" && !json["data"]["result"].empty())
            peak = std::stod(json["data"]["result"][0]["value"][1].get<std::string>());
    }
    INFO("last answer: " << answer);
    const uint64_t vm_hwm = status_bytes(work[0], "VmHWM");
    INFO(bound_text(static_cast<uint64_t>(peak), vm_hwm));
    CHECK(peak >= 48.0 * MiB);
    CHECK(peak <= 52.0 * MiB);
    CHECK(within_peak_bound(static_cast<uint64_t>(peak), vm_hwm));
    tracer.signal(SIGTERM);
    tracer.wait(30);
}
