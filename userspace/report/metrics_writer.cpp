#include "report/metrics_writer.h"

#include <charconv>
#include <initializer_list>
#include <string_view>
#include <utility>

namespace memtrace {
namespace {

// The length of the UTF-8 sequence at text[i], or 0 if it is not one
// (overlong forms, surrogates and code points past U+10FFFF are not).
size_t utf8_length(const std::string &text, size_t i)
{
    const auto byte = [&](size_t k) { return static_cast<unsigned char>(text[k]); };
    const unsigned char lead = byte(i);
    if (lead < 0x80)
        return 1;
    size_t length = 0;
    uint32_t code = 0, lowest = 0;
    if ((lead & 0xe0) == 0xc0)
        length = 2, code = lead & 0x1f, lowest = 0x80;
    else if ((lead & 0xf0) == 0xe0)
        length = 3, code = lead & 0x0f, lowest = 0x800;
    else if ((lead & 0xf8) == 0xf0)
        length = 4, code = lead & 0x07, lowest = 0x10000;
    else
        return 0;
    if (i + length > text.size())
        return 0;
    for (size_t k = 1; k < length; ++k) {
        if ((byte(i + k) & 0xc0) != 0x80)
            return 0;
        code = code << 6 | (byte(i + k) & 0x3f);
    }
    if (code < lowest || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff))
        return 0;
    return length;
}

std::string number(double value)
{
    char buffer[64];
    auto [end, ec] = std::to_chars(buffer, buffer + sizeof(buffer), value);
    return ec == std::errc() ? std::string(buffer, end) : "NaN";
}

using Labels = std::initializer_list<std::pair<const char *, std::string>>;

std::string label_text(Labels labels)
{
    std::string out;
    for (const auto &[name, value] : labels) {
        if (!out.empty())
            out += ',';
        out += name;
        out += "=\"" + metric_label_value(value) + '"';
    }
    return out;
}

// One metric family after another: its HELP and TYPE lines, then its samples.
class Exposition {
public:
    explicit Exposition(std::ostream &out) : out_(out) {}
    void family(std::string_view name, const char *type, const char *help)
    {
        name_ = name;
        out_ << "# HELP " << name << ' ' << help << "\n# TYPE " << name << ' ' << type << '\n';
    }
    void sample(const std::string &labels, const std::string &value)
    {
        out_ << name_;
        if (!labels.empty())
            out_ << '{' << labels << '}';
        out_ << ' ' << value << '\n';
    }
    void sample(const std::string &labels, uint64_t value) { sample(labels, std::to_string(value)); }

private:
    std::ostream &out_;
    std::string_view name_;
};

struct ProcessFamily {
    const char *name, *type, *help;
    uint64_t ProcessSeries::*field;
};

const ProcessFamily kProcessFamilies[] = {
    {"memtrace_process_rss_bytes", "gauge",
     "Resident memory of the process now: anon + file + shmem (VmRSS)", &ProcessSeries::rss},
    {"memtrace_process_peak_rss_bytes", "gauge",
     "Exact high-water mark of the process's resident memory while traced (VmHWM)",
     &ProcessSeries::peak_rss},
    {"memtrace_process_anon_bytes", "gauge", "Resident anonymous memory now (RssAnon)",
     &ProcessSeries::anon},
    {"memtrace_process_file_bytes", "gauge", "Resident file-backed memory now (RssFile)",
     &ProcessSeries::file},
    {"memtrace_process_shmem_bytes", "gauge", "Resident shared memory now (RssShmem)",
     &ProcessSeries::shmem},
    {"memtrace_process_page_faults_total", "counter", "User page faults while traced",
     &ProcessSeries::page_faults},
    {"memtrace_process_mapped_bytes_total", "counter",
     "Virtual memory mapped while traced (mmap, brk, mremap growth)", &ProcessSeries::mapped},
    {"memtrace_process_unmapped_bytes_total", "counter",
     "Virtual memory released while traced (munmap, brk, mremap shrink)", &ProcessSeries::unmapped},
};

void write_processes(Exposition &out, const MetricsSnapshot &snapshot, const MetricSeries &series)
{
    out.family("memtrace_processes", "gauge", "Traced processes running now");
    out.sample("", snapshot.live.size());
    out.family("memtrace_processes_traced_total", "counter",
               "Processes traced since memtrace started, those that ended included");
    out.sample("", snapshot.processes_seen);
    out.family("memtrace_processes_peak_total_rss_bytes", "gauge",
               "The most the traced processes held at one moment: the highest sum of their RSS "
               "(pages shared between processes count in each)");
    out.sample("", snapshot.total_peak_bytes);
    for (const ProcessFamily &f : kProcessFamilies) {
        out.family(f.name, f.type, f.help);
        for (const ProcessSeries &p : series.processes)
            out.sample(p.pid == "other" ? label_text({{"pid", p.pid}})
                                        : label_text({{"pid", p.pid}, {"comm", p.comm}}),
                       p.*f.field);
    }
}

void write_functions(Exposition &out, const MetricSeries &series)
{
    if (series.functions.empty())
        return;
    const auto each = [&](const auto &value) {
        for (const FunctionSeries &f : series.functions)
            out.sample(label_text({{"function", f.function}, {"module", f.module}}), value(f));
    };
    out.family("memtrace_function_calls_total", "counter",
               "Calls of a traced function (-f), outermost calls only, all processes");
    each([](const FunctionSeries &f) { return std::to_string(f.calls); });
    out.family("memtrace_function_peak_increment_max_bytes", "gauge",
               "Largest peak increment of one call: highest RSS while it ran - RSS at its entry");
    each([](const FunctionSeries &f) { return std::to_string(f.max_peak_increment); });
    out.family("memtrace_function_peak_rss_max_bytes", "gauge",
               "Highest RSS of the process while a call ran");
    each([](const FunctionSeries &f) { return std::to_string(f.max_peak_rss); });
    out.family("memtrace_function_net_bytes", "gauge",
               "What the returned calls kept: sum of RSS at return - RSS at entry");
    each([](const FunctionSeries &f) { return std::to_string(f.total_net); });
    out.family("memtrace_function_active_calls", "gauge", "Calls running now");
    each([](const FunctionSeries &f) { return std::to_string(f.active); });
}

struct LossCounter {
    const char *reason;
    uint64_t TraceStats::*field;
};

const LossCounter kLosses[] = {
    {"record_ring_full", &TraceStats::ringbuf_drops},
    {"process_map_full", &TraceStats::procs_not_traced},
    {"address_space_map_full", &TraceStats::mm_not_owned},
    {"percpu_counter_read_failed", &TraceStats::percpu_misses},
    {"malformed_record", &TraceStats::malformed_records},
    {"calls_too_deep", &TraceStats::frames_overflow},
    {"call_slots_full", &TraceStats::slots_full},
    {"function_map_full", &TraceStats::func_stats_full},
    {"thread_map_full", &TraceStats::threads_full},
    {"user_stack_lost", &TraceStats::user_stacks_lost},
    {"kernel_stack_lost", &TraceStats::kernel_stacks_lost},
    {"stack_map_full", &TraceStats::stack_bytes_full},
    {"stack_copy_ring_full", &TraceStats::stack_copy_drops},
    {"python_code_map_full", &TraceStats::python_codes_full},
    {"sample_ring_full", &TraceStats::samples_dropped},
    {"range_ring_full", &TraceStats::ranges_dropped},
};

void write_events(Exposition &out, const TraceStats &stats)
{
    out.family("memtrace_events_total", "counter", "Kernel events memtrace's BPF programs handled");
    const std::pair<const char *, uint64_t> events[] = {
        {"rss_change", stats.rss_events}, {"page_fault", stats.fault_events},
        {"mapping_change", stats.vm_events}, {"exec", stats.execs},
        {"fork", stats.forks}, {"exit", stats.exits}};
    for (const auto &[kind, n] : events)
        out.sample(label_text({{"kind", kind}}), n);
    out.family("memtrace_lost_total", "counter",
               "Events, records or samples lost, by reason (any non-zero value: some figures are "
               "incomplete; the end-of-run table says which)");
    for (const LossCounter &l : kLosses)
        out.sample(label_text({{"reason", l.reason}}), stats.*l.field);
}

void write_self(Exposition &out, const MetricsSnapshot &snapshot)
{
    const SelfCost &cost = snapshot.cost;
    out.family("memtrace_cpu_seconds_total", "counter", "CPU time memtrace itself used");
    out.sample(label_text({{"mode", "user"}}), number(cost.cpu_user_s));
    out.sample(label_text({{"mode", "system"}}), number(cost.cpu_system_s));
    out.family("memtrace_resident_memory_bytes", "gauge", "memtrace's own RSS now");
    out.sample("", snapshot.self_rss_bytes);
    out.family("memtrace_peak_resident_memory_bytes", "gauge", "memtrace's own peak RSS (ru_maxrss)");
    out.sample("", cost.maxrss_bytes);
    if (cost.bpf_stats_enabled) {
        out.family("memtrace_bpf_run_seconds_total", "counter",
                   "Time memtrace's BPF programs ran (charged to the traced processes)");
        out.sample("", number(static_cast<double>(cost.bpf_run_time_ns) / 1e9));
        out.family("memtrace_bpf_runs_total", "counter", "Runs of memtrace's BPF programs");
        out.sample("", cost.bpf_run_count);
    }
    out.family("memtrace_trace_seconds", "gauge", "Time since tracing began");
    out.sample("", number(snapshot.elapsed_s));
    out.family("memtrace_scrape_duration_seconds", "gauge",
               "Time this scrape took to read the figures from the kernel side");
    out.sample("", number(snapshot.collect_s));
}

} // namespace

std::string metric_label_value(const std::string &text)
{
    std::string out;
    for (size_t i = 0; i < text.size();) {
        const size_t length = utf8_length(text, i);
        if (length == 0) {
            out += "\xef\xbf\xbd"; // U+FFFD
            ++i;
            continue;
        }
        const char c = text[i];
        if (c == '\\')
            out += "\\\\";
        else if (c == '"')
            out += "\\\"";
        else if (c == '\n')
            out += "\\n";
        else
            out.append(text, i, length);
        i += length;
    }
    return out;
}

void write_metrics(std::ostream &out, const MetricsSnapshot &snapshot, const MetricSeries &series)
{
    Exposition exposition(out);
    write_processes(exposition, snapshot, series);
    write_functions(exposition, series);
    write_events(exposition, snapshot.stats);
    write_self(exposition, snapshot);
}

} // namespace memtrace
