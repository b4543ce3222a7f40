// --listen: the series of /metrics from a fixed snapshot, in the text
// exposition format, and the address it is served at.
#include <catch2/catch.hpp>

#include <sstream>

#include "cli/options.h"
#include "error.h"
#include "golden.h"
#include "model/metric_series.h"
#include "report/metrics_writer.h"
#include "serve/listen_address.h"

using namespace memtrace;

namespace {

constexpr uint64_t MiB = 1024 * 1024;

ProcessRecord process(uint32_t pid, const std::string &comm, uint64_t rss_mib, uint64_t peak_mib)
{
    ProcessRecord p;
    p.pid = pid;
    p.comm = comm;
    p.final_rss = rss_mib * MiB;
    p.peak_rss = peak_mib * MiB;
    p.final_anon = (rss_mib - 1) * MiB;
    p.final_file = MiB;
    p.page_faults = pid * 10;
    p.mapped = 2 * peak_mib * MiB;
    p.unmapped = peak_mib * MiB;
    return p;
}

FunctionRecord call_figures(uint32_t pid, const std::string &name, uint64_t calls, uint64_t inc_mib,
                            int64_t net_mib)
{
    FunctionRecord f;
    f.pid = pid;
    f.symbol = name;
    f.module = "app";
    f.calls = calls;
    f.max_peak_increment = inc_mib * MiB;
    f.max_peak_rss = (inc_mib + 10) * MiB;
    f.total_net = net_mib * static_cast<int64_t>(MiB);
    return f;
}

MetricsSnapshot sample_snapshot()
{
    MetricsSnapshot s;
    s.elapsed_s = 12.5;
    s.live = {process(101, "small", 3, 5), process(102, "quote\"back\\slash\nnew\xff", 300, 400),
              process(103, "big", 500, 500), process(104, "tiny", 2, 9)};
    s.processes_seen = 9;
    s.total_peak_bytes = 300ull << 20;
    s.functions = {call_figures(102, "build", 3, 100, 40), call_figures(103, "build", 2, 150, -8),
                   call_figures(103, "parse", 7, 1, 0)};
    s.stats.rss_events = 51200;
    s.stats.fault_events = 50000;
    s.stats.ringbuf_drops = 3;
    s.cost.cpu_user_s = 0.25;
    s.cost.cpu_system_s = 1.5;
    s.cost.maxrss_bytes = 20 * MiB;
    s.self_rss_bytes = 18 * MiB;
    s.collect_s = 0.000125;
    return s;
}

std::string metrics_text(const MetricsSnapshot &s, size_t top)
{
    std::ostringstream out;
    write_metrics(out, s, metric_series(s, top));
    return out.str();
}

} // namespace

TEST_CASE("metrics: a label value escapes backslash, quote and newline; bytes not UTF-8 become U+FFFD",
          "[metrics]")
{
    CHECK(metric_label_value("a\\b\"c\nd") == "a\\\\b\\\"c\\nd");
    CHECK(metric_label_value("x\xffy") == "x\xef\xbf\xbdy");
    CHECK(metric_label_value("caf\xc3\xa9 \xe2\x82\xac") == "caf\xc3\xa9 \xe2\x82\xac"); // kept
    CHECK(metric_label_value("\xc0\xaf") == "\xef\xbf\xbd\xef\xbf\xbd");               // overlong '/'
    CHECK(metric_label_value("\xed\xa0\x80") == "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"); // a surrogate
    CHECK(metric_label_value("\xe2\x82") == "\xef\xbf\xbd\xef\xbf\xbd");               // cut short
    CHECK(metric_label_value("tab\there") == "tab\there");
}

TEST_CASE("metrics: the top N processes by current RSS, then one 'other' summing the rest", "[metrics]")
{
    const std::vector<ProcessSeries> series = process_series(sample_snapshot().live, 2);
    REQUIRE(series.size() == 3);
    CHECK(series[0].pid == "103");
    CHECK(series[1].pid == "102");
    CHECK(series[2].pid == "other");
    CHECK(series[2].comm.empty());
    CHECK(series[2].rss == 5 * MiB);       // 3 + 2
    CHECK(series[2].peak_rss == 14 * MiB); // 5 + 9
    CHECK(series[2].page_faults == 1010 + 1040);
    // nothing left over: 'other' is still there, zero (a series must not come and go)
    const std::vector<ProcessSeries> all = process_series(sample_snapshot().live, 20);
    REQUIRE(all.size() == 5);
    CHECK(all.back().pid == "other");
    CHECK(all.back().rss == 0);
    CHECK(process_series({}, 20).size() == 1);
}

TEST_CASE("metrics: one series per function and module, over every process", "[metrics]")
{
    const std::vector<FunctionSeries> f = function_series(sample_snapshot().functions);
    REQUIRE(f.size() == 2);
    CHECK(f[0].function == "build");
    CHECK(f[0].calls == 5);
    CHECK(f[0].max_peak_increment == 150 * MiB);
    CHECK(f[0].total_net == 32 * static_cast<int64_t>(MiB));
    CHECK(f[1].function == "parse");
}

TEST_CASE("metrics: exact exposition text of a fixed snapshot", "[metrics]")
{
    const std::string text = metrics_text(sample_snapshot(), 2);
    CHECK(text.find("memtrace_process_peak_rss_bytes{pid=\"102\",comm=\"quote\\\"back\\\\slash\\nnew\xef\xbf\xbd\"} 419430400\n") !=
          std::string::npos);
    CHECK(text.find("memtrace_process_rss_bytes{pid=\"other\"} 5242880\n") != std::string::npos);
    CHECK(text.find("memtrace_function_net_bytes{function=\"build\",module=\"app\"} 33554432\n") !=
          std::string::npos);
    CHECK(text.find("memtrace_lost_total{reason=\"record_ring_full\"} 3\n") != std::string::npos);
    CHECK(text.find("memtrace_bpf_run_seconds_total") == std::string::npos); // stats off: not shown
    check_golden("metrics_sample.txt", text);
}

TEST_CASE("metrics: no -f, no function families; BPF run time when its statistics are on", "[metrics]")
{
    MetricsSnapshot s = sample_snapshot();
    s.functions.clear();
    s.cost.bpf_stats_enabled = true;
    s.cost.bpf_run_time_ns = 1500000000;
    s.cost.bpf_run_count = 42;
    const std::string text = metrics_text(s, 20);
    CHECK(text.find("memtrace_function_") == std::string::npos);
    CHECK(text.find("memtrace_bpf_run_seconds_total 1.5\n") != std::string::npos);
    CHECK(text.find("memtrace_bpf_runs_total 42\n") != std::string::npos);
}

TEST_CASE("--listen: HOST:PORT, :PORT on 127.0.0.1, IPv6 in brackets", "[metrics]")
{
    CHECK(parse_listen_address(":9100").host == "127.0.0.1");
    CHECK(parse_listen_address(":9100").port == 9100);
    CHECK(parse_listen_address("localhost:80").host == "127.0.0.1");
    CHECK(parse_listen_address("0.0.0.0:1").host == "0.0.0.0");
    const ListenAddress v6 = parse_listen_address("[::1]:9100");
    CHECK(v6.ipv6);
    CHECK(v6.host == "::1");
    CHECK(v6.url() == "http://[::1]:9100/metrics");
    CHECK(parse_listen_address("[::]:9100").host == "::");
    for (const char *bad : {"nonsense", "9100", ":", ":x", ":65536", ":-1", "example.com:80", "[::1]",
                            "::1:80", "[nonsense]:80", "1.2.3:80", ":9100 "}) {
        INFO(bad);
        try {
            parse_listen_address(bad);
            FAIL("accepted");
        } catch (const Error &e) {
            CHECK(e.exit_code() == 2);
            CHECK(std::string(e.what()).find("--listen") == 0);
        }
    }
}

TEST_CASE("--listen: a port in use is refused with exit code 1", "[metrics]")
{
    ListenAddress first;
    UniqueFd held = open_listener(parse_listen_address(":0"), first);
    REQUIRE(first.port != 0);
    ListenAddress second;
    try {
        open_listener(first, second);
        FAIL("bound twice");
    } catch (const Error &e) {
        CHECK(e.exit_code() == 1);
        CHECK(std::string(e.what()).find("in use") != std::string::npos);
    }
}

TEST_CASE("--listen options: --listen-top needs --listen; the address is checked at once", "[metrics]")
{
    auto parsed = parse_options({"--listen", ":9100", "--listen-top", "5", "-a"});
    REQUIRE(std::holds_alternative<Options>(parsed));
    const Options &o = std::get<Options>(parsed);
    REQUIRE(o.listen);
    CHECK(o.listen->port == 9100);
    CHECK(o.listen_top == 5);
    CHECK(std::get<Options>(parse_options({"--listen", ":1", "-a"})).listen_top == 20);
    CHECK_THROWS_WITH(parse_options({"--listen-top", "5", "-a"}), Catch::Contains("give it too"));
    CHECK_THROWS_WITH(parse_options({"--listen", "x", "-a"}), Catch::Contains("no port"));
    CHECK_THROWS_WITH(parse_options({"--listen", ":1", "--list-funcs", "f", "--", "ls"}),
                      Catch::Contains("drop one"));
}
