#include "report/json_writer.h"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "error.h"
#include "model/program_groups.h"

namespace memtrace {

using json = nlohmann::ordered_json;

namespace {

double rounded(double seconds)
{
    return std::round(seconds * 1e6) / 1e6;
}

const char *mode_name(TraceMode mode)
{
    switch (mode) {
    case TraceMode::Command:
        return "command";
    case TraceMode::Pids:
        return "pids";
    case TraceMode::All:
        return "all";
    }
    return "?";
}

const char *origin(const ProcessRecord &p, const RunReport &r)
{
    if (r.mode == TraceMode::Command && p.pid == r.command_pid)
        return "command";
    if (p.forked)
        return "forked";
    return "attached";
}

json process_json(const ProcessRecord &p, const RunReport &r)
{
    json j;
    j["pid"] = p.pid;
    j["ppid"] = p.ppid;
    j["comm"] = p.comm;
    j["cmdline"] = p.cmdline;
    j["origin"] = origin(p, r);
    j["peak_rss_bytes"] = p.peak_rss;
    j["start_rss_bytes"] = p.start_rss;
    j["final_rss_bytes"] = p.final_rss;
    j["peak_anon_bytes"] = p.peak_anon;
    j["peak_file_bytes"] = p.peak_file;
    j["peak_shmem_bytes"] = p.peak_shmem;
    j["final_swap_bytes"] = p.final_swap;
    j["peak_vm_bytes"] = p.peak_vm;
    j["final_vm_bytes"] = p.final_vm;
    j["page_faults"] = p.page_faults;
    j["touched_bytes"] = p.touched;
    j["mapped_bytes"] = p.mapped;
    j["unmapped_bytes"] = p.unmapped;
    j["exit_code"] = p.exit_code() ? json(*p.exit_code()) : json(nullptr);
    j["exit_signal"] = p.exit_signal() ? json(signal_name(*p.exit_signal())) : json(nullptr);
    j["running"] = !p.exited && !p.replaced;
    j["execed"] = p.execed;
    j["start_s"] = rounded(p.start_s);
    j["peak_s"] = rounded(p.peak_s);
    j["end_s"] = p.end_s ? json(rounded(*p.end_s)) : json(nullptr);
    if (p.kernel_maxrss)
        j["kernel_maxrss_bytes"] = *p.kernel_maxrss;
    j["exe"] = p.exe;
    j["kernel_hwm_bytes"] = p.kernel_hwm ? json(*p.kernel_hwm) : json(nullptr);
    if (p.replaced) {
        j["ended_by_exec"] = true;
        return j;
    }
    // the programs it ran before its latest exec, oldest first: no peak hidden
    json earlier = json::array();
    for (const ProcessRecord &e : p.earlier_programs)
        earlier.push_back(process_json(e, r));
    j["earlier_programs"] = std::move(earlier);
    j["highest_peak_rss_bytes"] = highest_peak(p);
    if (p.earlier_programs_not_kept)
        j["earlier_programs_not_kept"] = p.earlier_programs_not_kept;
    return j;
}

json program_json(const ProgramGroup &g)
{
    return {{"program", g.program},
            {"comm", g.comm},
            {"processes", g.runs},
            {"running", g.running},
            {"max_peak_rss_bytes", g.max_peak_rss},
            {"max_peak_pid", g.max_peak_pid},
            {"final_rss_bytes", g.final_rss},
            {"page_faults", g.page_faults},
            {"touched_bytes", g.touched},
            {"mapped_bytes", g.mapped},
            {"unmapped_bytes", g.unmapped}};
}

json function_json(const FunctionRecord &f)
{
    json fj;
    fj["symbol"] = f.symbol;
    fj["demangled"] = f.demangled;
    fj["module"] = f.module;
    fj["kind"] = f.python ? "python" : "native";
    fj["pid"] = f.pid;
    fj["calls"] = f.calls;
    fj["max_peak_increment_bytes"] = f.max_peak_increment;
    fj["max_peak_rss_bytes"] = f.max_peak_rss;
    fj["total_net_bytes"] = f.total_net;
    fj["unreturned"] = f.unreturned;
    fj["probe_hits"] = f.probe_hits();
    fj["returned"] = f.returned;
    fj["active"] = f.active;
    fj["recursive_calls_folded"] = f.folded;
    fj["calls_not_tracked"] = f.dropped;
    fj["max_call"] = {{"tid", f.max_tid},
                      {"base_rss_bytes", f.max_base},
                      {"start_s", rounded(f.max_start_s)},
                      {"end_s", rounded(f.max_end_s)}};
    fj["estimated_probe_cost_s"] = rounded(f.estimated_cost_s);
    if (!f.python)
        fj["probe_cost"] = {{"measured", f.cost_measured},
                            {"entry_hits", f.entry_hits},
                            {"return_hits", f.return_hits},
                            {"entry_hit_us", rounded(f.entry_hit_us)},
                            {"return_hit_us", rounded(f.return_hit_us)}};
    return fj;
}

json stacks_json(const StacksSummary &st, const RunReport &r)
{
    return {{"kind", st.kind},
           {"file", st.path},
            {"pprof_file", st.pprof_path},
            {"sample_bytes", st.sample_bytes},
            {"samples", st.samples},
            {"distinct_stacks", r.folded.size()},
            {"folded_total_bytes", st.folded_total},
            {"exact_total_bytes", st.exact_total},
            {"samples_without_stack", st.user_stacks_lost + st.samples_lost},
            {"without_frame_pointers", st.without_frame_pointers},
            {"unwind", {{"method", st.unwind},
                        {"stack_bytes", st.stack_bytes},
                        {"by_frame_pointers", st.by_frame_pointers},
                        {"by_dwarf", st.by_dwarf},
                        {"copies_lost", st.copies_lost},
                        {"cut_short", st.cut_short}}},
            {"python", {{"samples", st.python_samples}, {"functions_not_named", st.python_codes_lost}}},
            {"resident", {{"untracked_bytes", st.untracked},
                          {"samples_lost", st.samples_dropped},
                          {"ranges_lost", st.ranges_dropped}}}};
}

// What memtrace lost or counted, and what it cost.
json tally_json(json j, const LineTally &t)
{
    j["bytes"] = t.bytes;
    j["samples"] = t.samples;
    j["peak_rss_bytes"] = t.samples ? json(t.peak_rss) : json(nullptr);
    return j;
}

// --lines: one table per traced function, each with its "lines"
json line_tables_json(const RunReport &r)
{
    json tables = json::array();
    for (const FunctionLines &f : r.lines) {
        json t;
        t["pid"] = f.pid ? json(f.pid) : json(nullptr);
        t["function"] = f.function;
        t["language"] = f.python ? "python" : "native";
        if (!f.module.empty())
            t["module"] = f.module;
        t["source_file"] = f.source_file.empty() ? json(nullptr) : json(f.source_file);
        if (!f.source_note.empty())
            t["source_note"] = f.source_note;
        t["first_line"] = f.first_line;
        t["last_line"] = f.last_line;
        t["sample_bytes"] = r.lines_sample_bytes;
        t["total"] = tally_json(json::object(), f.total);
        t["unplaced_bytes"] = f.unplaced_bytes;
        json other = json::array();
        for (const auto &[where, tally] : f.other_files)
            other.push_back(tally_json({{"where", where}}, tally));
        t["other_files"] = std::move(other);
        json lines = json::array();
        for (const LineRow &row : f.rows) {
            json l = tally_json({{"line", row.line}}, row.tally);
            l["text"] = row.text ? json(*row.text) : json(nullptr);
            lines.push_back(std::move(l));
        }
        t["lines"] = std::move(lines);
        tables.push_back(std::move(t));
    }
    return tables;
}

void add_stats_json(json &j, const RunReport &r)
{
    const TraceStats &s = r.stats;
    j["stats"] = {
        {"lost_events", s.lost_events()},
        {"ringbuf_drops", s.ringbuf_drops},
        {"procs_not_traced", s.procs_not_traced},
        {"mm_not_owned", s.mm_not_owned},
        {"percpu_read_failures", s.percpu_misses},
        {"malformed_records", s.malformed_records},
        {"calls_not_tracked", s.frames_overflow},
        {"calls_with_approximate_peak", s.slots_full},
        {"function_figures_lost", s.func_stats_full + s.threads_full},
        {"return_address_probes", s.retsites_attached},
        {"return_address_probes_failed", s.retsites_failed},
        {"ended_processes_not_listed", s.ended_not_kept},
        {"rss_events", s.rss_events},
        {"page_fault_events", s.fault_events},
        {"vm_events", s.vm_events},
        {"execs", s.execs},
        {"forks", s.forks},
        {"exits", s.exits},
    };
    const SelfCost &c = r.cost;
    j["memtrace"] = {
        {"cpu_user_s", rounded(c.cpu_user_s)},
        {"cpu_system_s", rounded(c.cpu_system_s)},
        {"maxrss_bytes", c.maxrss_bytes},
        {"bpf_run_time_ns", c.bpf_stats_enabled ? json(c.bpf_run_time_ns) : json(nullptr)},
        {"bpf_run_count", c.bpf_stats_enabled ? json(c.bpf_run_count) : json(nullptr)},
    };
}

} // namespace

void write_json(std::ostream &out, const RunReport &r)
{
    out << report_json(r).dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
}

json report_json(const RunReport &r)
{
    json j;
    j["version"] = 1;
    j["mode"] = mode_name(r.mode);
    if (r.mode == TraceMode::Command) {
        j["command"] = r.command;
        j["command_pid"] = r.command_pid;
    }
    if (r.mode == TraceMode::Pids)
        j["pids"] = r.pids;
    j["duration_s"] = rounded(r.duration_s);
    j["end_reason"] = r.end_reason;
    j["children"] = r.children;

    std::vector<ProcessRecord> procs = r.processes;
    std::stable_sort(procs.begin(), procs.end(),
                     [](auto &a, auto &b) { return a.peak_rss > b.peak_rss; });
    json list = json::array();
    for (const auto &p : procs)
        list.push_back(process_json(p, r));
    j["processes"] = std::move(list);
    // the same processes grouped by program (each program of an exec chain counts)
    json programs = json::array();
    for (const ProgramGroup &g : group_by_program(r.processes, r.unlisted_programs))
        programs.push_back(program_json(g));
    j["programs"] = std::move(programs);
    if (!r.unlisted_programs.empty()) { // what "programs" counts beyond "processes" (read back by report)
        json unlisted = json::array();
        for (const ProgramGroup &g : r.unlisted_programs)
            unlisted.push_back(program_json(g));
        j["unlisted_programs"] = std::move(unlisted);
    }
    RunningTotal running = running_total(r.processes);
    j["running_at_end"] = {{"processes", running.processes}, {"rss_bytes", running.rss}};
    j["total_peak"] = {{"rss_bytes", r.total_peak.bytes}, {"at_s", r.total_peak.at_s}};

    json functions = json::array();
    for (const FunctionRecord &f : r.functions)
        functions.push_back(function_json(f));
    if (!r.functions.empty() || r.probes_attached)
        j["functions"] = std::move(functions);
    if (!r.functions.empty()) {
        json grouped = json::array();
        for (const FunctionGroup &g : group_functions(r.functions, r.processes)) {
            json fj = function_json(g.figures);
            fj["program"] = g.program;
            fj["processes"] = g.processes;
            grouped.push_back(std::move(fj));
        }
        j["functions_by_program"] = std::move(grouped);
    }

    if (!r.lines.empty())
        j["line_tables"] = line_tables_json(r);
    if (r.stacks)
        j["stacks"] = stacks_json(*r.stacks, r);
    add_stats_json(j, r);
    return j;
}

namespace {

LineTally tally_from_json(const json &t)
{
    LineTally tally;
    tally.bytes = t.value("bytes", uint64_t{0});
    tally.samples = t.value("samples", uint64_t{0});
    if (t.contains("peak_rss_bytes") && t["peak_rss_bytes"].is_number_unsigned())
        tally.peak_rss = t["peak_rss_bytes"].get<uint64_t>();
    return tally;
}

std::string string_or_empty(const json &j, const char *key)
{
    return j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : std::string();
}

// --lines tables, as line_tables_json wrote them (for memtrace report).
void line_tables_from_json(const json &tables, RunReport &r)
{
    for (const auto &t : tables) {
        FunctionLines f;
        f.pid = t.contains("pid") && t["pid"].is_number_unsigned() ? t["pid"].get<uint32_t>() : 0;
        f.function = string_or_empty(t, "function");
        f.module = string_or_empty(t, "module");
        f.python = string_or_empty(t, "language") == "python";
        f.source_file = string_or_empty(t, "source_file");
        f.source_note = string_or_empty(t, "source_note");
        f.first_line = t.value("first_line", 0);
        f.last_line = t.value("last_line", 0);
        f.unplaced_bytes = t.value("unplaced_bytes", uint64_t{0});
        r.lines_sample_bytes = t.value("sample_bytes", uint64_t{0});
        if (t.contains("total"))
            f.total = tally_from_json(t["total"]);
        for (const auto &o : t.value("other_files", json::array()))
            f.other_files[string_or_empty(o, "where")] += tally_from_json(o);
        for (const auto &l : t.value("lines", json::array())) {
            LineRow row{l.value("line", 0), tally_from_json(l), std::nullopt};
            if (l.contains("text") && l["text"].is_string())
                row.text = l["text"].get<std::string>();
            f.rows.push_back(std::move(row));
        }
        r.lines.push_back(std::move(f));
    }
}

} // namespace

// One row of a report's "functions", as function_json() wrote it.
static ProgramGroup program_from_json(const json &g)
{
    ProgramGroup out;
    out.program = g.value("program", "");
    out.comm = g.value("comm", "");
    out.runs = g.value("processes", size_t{0});
    out.running = g.value("running", size_t{0});
    out.max_peak_rss = g.value("max_peak_rss_bytes", uint64_t{0});
    out.max_peak_pid = g.value("max_peak_pid", uint32_t{0});
    out.final_rss = g.value("final_rss_bytes", uint64_t{0});
    out.page_faults = g.value("page_faults", uint64_t{0});
    out.touched = g.value("touched_bytes", uint64_t{0});
    out.mapped = g.value("mapped_bytes", uint64_t{0});
    out.unmapped = g.value("unmapped_bytes", uint64_t{0});
    return out;
}

static FunctionRecord function_from_json(const json &f)
{
    FunctionRecord fr;
    fr.symbol = f.value("symbol", "");
    fr.demangled = f.value("demangled", "");
    fr.module = f.value("module", "");
    fr.python = f.value("kind", "native") == "python";
    fr.pid = f.value("pid", 0u);
    fr.calls = f.value("calls", uint64_t{0});
    fr.returned = f.value("returned", uint64_t{0});
    fr.unreturned = f.value("unreturned", uint64_t{0});
    fr.active = f.value("active", uint64_t{0});
    fr.folded = f.value("recursive_calls_folded", uint64_t{0});
    fr.dropped = f.value("calls_not_tracked", uint64_t{0});
    fr.max_peak_increment = f.value("max_peak_increment_bytes", uint64_t{0});
    fr.max_peak_rss = f.value("max_peak_rss_bytes", uint64_t{0});
    fr.total_net = f.value("total_net_bytes", int64_t{0});
    fr.entry_hits = f.value("probe_hits", uint64_t{0});
    fr.estimated_cost_s = f.value("estimated_probe_cost_s", 0.0);
    if (const auto cost = f.find("probe_cost"); cost != f.end() && cost->is_object()) {
        fr.entry_hits = cost->value("entry_hits", fr.entry_hits);
        fr.return_hits = cost->value("return_hits", uint64_t{0});
        fr.entry_hit_us = cost->value("entry_hit_us", 0.0);
        fr.return_hit_us = cost->value("return_hit_us", 0.0);
        fr.cost_measured = cost->value("measured", false);
    }
    return fr;
}

// One entry of a report's "processes" (or of its "earlier_programs", at
// `depth` 1: a recording is untrusted input, nesting goes no deeper).
static ProcessRecord process_from_json(const json &p, int depth)
{
    ProcessRecord rec;
    rec.pid = p.value("pid", 0u);
    rec.ppid = p.value("ppid", 0u);
    rec.comm = p.value("comm", "");
    rec.cmdline = p.value("cmdline", "");
    rec.peak_rss = p.value("peak_rss_bytes", uint64_t{0});
    rec.start_rss = p.value("start_rss_bytes", uint64_t{0});
    rec.final_rss = p.value("final_rss_bytes", uint64_t{0});
    rec.peak_anon = p.value("peak_anon_bytes", uint64_t{0});
    rec.peak_file = p.value("peak_file_bytes", uint64_t{0});
    rec.peak_shmem = p.value("peak_shmem_bytes", uint64_t{0});
    rec.final_swap = p.value("final_swap_bytes", uint64_t{0});
    rec.peak_vm = p.value("peak_vm_bytes", uint64_t{0});
    rec.final_vm = p.value("final_vm_bytes", uint64_t{0});
    rec.page_faults = p.value("page_faults", uint64_t{0});
    rec.touched = p.value("touched_bytes", uint64_t{0});
    rec.mapped = p.value("mapped_bytes", uint64_t{0});
    rec.unmapped = p.value("unmapped_bytes", uint64_t{0});
    rec.start_s = p.value("start_s", 0.0);
    rec.peak_s = p.value("peak_s", 0.0);
    if (p.contains("end_s") && p["end_s"].is_number())
        rec.end_s = p["end_s"].get<double>();
    std::string origin = p.value("origin", "");
    rec.forked = origin == "forked";
    rec.attached = origin == "attached";
    rec.execed = p.value("execed", false);
    rec.exited = !p.value("running", false);
    if (p.contains("exit_signal") && p["exit_signal"].is_string()) {
        for (int sig = 1; sig < 65; ++sig)
            if (signal_name(sig) == p["exit_signal"].get<std::string>())
                rec.wait_status = sig;
    } else if (p.contains("exit_code") && p["exit_code"].is_number()) {
        rec.wait_status = (p["exit_code"].get<int>() & 0xff) << 8;
    }
    if (p.contains("kernel_maxrss_bytes"))
        rec.kernel_maxrss = p["kernel_maxrss_bytes"].get<uint64_t>();
    rec.exe = p.value("exe", "");
    if (p.contains("kernel_hwm_bytes") && p["kernel_hwm_bytes"].is_number())
        rec.kernel_hwm = p["kernel_hwm_bytes"].get<uint64_t>();
    rec.replaced = p.value("ended_by_exec", false);
    if (depth == 0 && p.contains("earlier_programs") && p["earlier_programs"].is_array())
        for (const auto &e : p["earlier_programs"])
            if (rec.earlier_programs.size() < ProcessRecord::kEarlierProgramsKept)
                rec.earlier_programs.push_back(process_from_json(e, 1));
    return rec;
}

RunReport report_from_json(const json &j)
{
    if (!j.is_object() || j.value("version", 0) != 1 || !j.contains("processes"))
        throw Error("not a memtrace report (version 1)");
    RunReport r;
    std::string mode = j.value("mode", "command");
    r.mode = mode == "all" ? TraceMode::All : mode == "pids" ? TraceMode::Pids : TraceMode::Command;
    r.command = j.value("command", std::vector<std::string>{});
    r.command_pid = j.value("command_pid", 0u);
    r.pids = j.value("pids", std::vector<uint32_t>{});
    r.duration_s = j.value("duration_s", 0.0);
    r.end_reason = j.value("end_reason", "");
    r.children = j.value("children", false);
    for (const auto &p : j["processes"])
        r.processes.push_back(process_from_json(p, 0));
    if (j.contains("unlisted_programs") && j["unlisted_programs"].is_array())
        for (const auto &g : j["unlisted_programs"])
            r.unlisted_programs.push_back(program_from_json(g));
    if (j.contains("functions"))
        for (const auto &f : j["functions"])
            r.functions.push_back(function_from_json(f));
    if (j.contains("line_tables") && j["line_tables"].is_array())
        line_tables_from_json(j["line_tables"], r);
    if (j.contains("total_peak") && j["total_peak"].is_object()) {
        const json &t = j["total_peak"];
        if (t.contains("rss_bytes") && t["rss_bytes"].is_number_unsigned())
            r.total_peak.bytes = t["rss_bytes"].get<uint64_t>();
        if (t.contains("at_s") && t["at_s"].is_number())
            r.total_peak.at_s = t["at_s"].get<double>();
    }
    if (j.contains("stats")) {
        const auto &s = j["stats"];
        r.stats.ringbuf_drops = s.value("ringbuf_drops", uint64_t{0});
        r.stats.procs_not_traced = s.value("procs_not_traced", uint64_t{0});
        r.stats.mm_not_owned = s.value("mm_not_owned", uint64_t{0});
        r.stats.ended_not_kept = s.value("ended_processes_not_listed", uint64_t{0});
    }
    return r;
}

} // namespace memtrace
