#include "cli/options.h"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <charconv>
#include <cmath>
#include <memory>

#include "cli/bash_completion.h"
#include "cli/man_page.h"
#include "error.h"
#include "probes/function_pattern.h"

namespace memtrace {
namespace {

constexpr const char *kVersion = "0.1.0";

constexpr const char *kDescription =
    "memtrace: how much memory a process uses, its exact peak, and when.\n"
    "Traces from outside with eBPF: no restart, no recompiling, no LD_PRELOAD.\n";

constexpr const char *kUsage =
    "Usage:\n"
    "  memtrace [options] -- CMD [ARGS...]   run CMD and trace it from its first instruction\n"
    "  memtrace [options] -p PID[,PID...]    attach to running processes until they exit\n"
    "  memtrace [options] -a                 every process on the machine (top-like report)\n"
    "  memtrace record [-o FILE] [options] -- CMD | -p PID    record memory over time\n"
    "  memtrace plot FILE... [-o OUT.svg]    plot recordings     memtrace report FILE\n";

constexpr const char *kFooter =
    "\nExamples:\n"
    "  sudo memtrace -- ./build-index data/        peak RSS of a command, exactly\n"
    "  sudo memtrace --children -- make -j2        a command and everything it starts\n"
    "  sudo memtrace -p 1234 -d 60 -i 5            a running service for a minute, a line every 5 s\n"
    "  sudo memtrace -a -d 10 --top 5              the biggest and fastest-growing processes\n"
    "  sudo memtrace --json out.json -- ./app      the same figures as JSON\n"
    "  sudo memtrace -f 'build_*' -- ./indexer     per call of build_*: memory at entry, true peak, kept\n"
    "  sudo memtrace -f libc:malloc -p 1234        a library function in a running process\n"
    "  sudo memtrace -f 'py:extract_*' -- python3 app.py   Python functions (CPython 3.11-3.13)\n"
    "  sudo memtrace -f build_index --lines -- ./a per line of build_index: RSS high point, memory brought in\n"
    "  sudo memtrace -f py:load --lines -- python3 app.py   the same for a Python function\n"
    "  memtrace --list-funcs 'Index::*' ./indexer  what a pattern would trace\n"
    "  sudo memtrace record -f build_index -- ./a  memory over time, to memtrace-DATE-TIME.mtrace\n"
    "  memtrace plot a.mtrace b.mtrace -o cmp.svg  both runs in one plot (memtrace plot --help)\n"
    "\n"
    "What the figures mean:\n"
    "  PEAK RSS   highest resident memory (anon + file + shmem) seen while traced. Exact: the kernel's\n"
    "             per-CPU counters are summed at every change, so no spike is missed. The kernel's\n"
    "             own VmHWM / ru_maxrss may read up to ~0.5 MiB lower (it sums approximately).\n"
    "  START/FINAL RSS  when tracing of the program began (attach, fork, exec) and ended.\n"
    "  FAULTS     user page faults; TOUCHED: memory brought into RSS in all (pages mapped in).\n"
    "  MAPPED     virtual memory mapped (mmap, brk, mremap); UNMAPPED: released.\n"
    "  A process that execs is shown once per program it ran (EXIT 'exec' for the earlier ones).\n"
    "  --children and -a group the table by program: PROCS processes ran it, MAX PEAK RSS is\n"
    "             the largest peak of one of them, FAULTS/TOUCHED/MAPPED are summed (-f rows\n"
    "             too: calls summed, the largest peak increment); --per-process: a row each.\n"
    "  For a traced function (-f), per call: base = RSS at entry; peak = highest RSS of the\n"
    "             process while the call is open (any thread); PEAK INCREMENT = peak - base;\n"
    "             NET = RSS at return - base. Recursive calls fold into the outermost call.\n"
    "             UNRETURNED: calls left by an exception, longjmp, thread exit or exec.\n"
    "  Python functions (-f py:NAME): the same figures, read from the interpreter's frames at\n"
    "             each RSS change, no probes. CALLS counts the calls seen: one during which RSS\n"
    "             never changed is not; one re-entered at the same frame before RSS changed again\n"
    "             is one with its predecessor. A call left by an exception counts as returned.\n"
    "  --lines    per line of a traced function (memory_profiler's table), from stack samples\n"
    "             taken every --sample-bytes brought in (64K by default; 4096 = every page, exact,\n"
    "             at the cost of a stack copy per page fault): PEAK RSS = the process's highest RSS\n"
    "             at a sample on the line; BROUGHT IN = memory first touched while the line (or\n"
    "             what it called) ran; SAMPLES = samples there, not how often the line ran. Code\n"
    "             inlined into the function counts on the line of the inlined call. Native lines\n"
    "             need DWARF (-g or a debug file); Python lines (-f py:NAME, CPython 3.11-3.13)\n"
    "             come from the code objects. Source text is shown when the file is readable.\n"
    "\n"
    "Needs root, or CAP_BPF + CAP_PERFMON, and a kernel >= 5.8 with BTF. Under sudo, CMD runs\n"
    "as the invoking user (SUDO_UID/SUDO_GID) unless --as-root. memtrace exits with CMD's status\n"
    "(128 + signal if it was killed); with -p or -a, 0 once results are written.\n";

pid_t parse_pid(const std::string &text)
{
    long value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size() || value <= 0 || value > 0x3fffffff)
        throw Error("invalid PID '" + text + "': expected a positive number (e.g. -p 1234,5678)");
    return static_cast<pid_t>(value);
}

// memtrace's own usage block replaces CLI11's one-line "Usage: memtrace [OPTIONS]".
class HelpFormatter : public CLI::Formatter {
public:
    std::string make_usage(const CLI::App *, std::string) const override { return ""; }
};

// Seconds above zero; "inf" (or a value too large to ever pass) means no limit.
CLI::Validator positive_seconds()
{
    return CLI::Validator(
        [](std::string &text) -> std::string {
            double value = 0;
            auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
            if (ec != std::errc() || end != text.data() + text.size() || !(value > 0))
                return "expected a positive number of seconds (or inf), got '" + text + "'";
            return "";
        },
        "", "");
}

// -d inf, -i inf: never. Finite values too large for the clock saturate later.
std::optional<double> seconds_limit(double value)
{
    if (std::isinf(value))
        return std::nullopt;
    return value;
}

CLI::Validator whole_number_in(unsigned low, unsigned high)
{
    return CLI::Validator(
        [low, high](std::string &text) -> std::string {
            unsigned long value = 0;
            auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
            if (ec != std::errc() || end != text.data() + text.size() || value < low || value > high)
                return "expected a whole number from " + std::to_string(low) + " to " +
                       std::to_string(high) + ", got '" + text + "'";
            return "";
        },
        "", "");
}

} // namespace

uint64_t parse_size(const std::string &text, const std::string &option)
{
    uint64_t value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    std::string unit(end, text.data() + text.size());
    uint64_t scale = 0;
    if (unit.empty() || unit == "B")
        scale = 1;
    else if (unit == "K" || unit == "KiB" || unit == "k")
        scale = 1024;
    else if (unit == "M" || unit == "MiB")
        scale = 1024 * 1024;
    else if (unit == "G" || unit == "GiB")
        scale = 1024ull * 1024 * 1024;
    if (ec != std::errc() || end == text.data() || scale == 0 || value == 0 ||
        value > (1ull << 40) / scale)
        throw Error(option + ": expected a size like 4096, 64K or 1M, got '" + text + "'");
    return value * scale;
}

std::vector<std::string> record_arguments(const std::vector<std::string> &args,
                                          const std::string &default_file)
{
    std::vector<std::string> out;
    std::string file;
    bool command = false;
    for (size_t i = 0; i < args.size(); ++i) {
        if (!command && args[i] == "--")
            command = true;
        if (!command && (args[i] == "-o" || args[i] == "--output")) {
            if (i + 1 >= args.size())
                throw Error("record -o needs a file name");
            file = args[++i];
            continue;
        }
        if (!command && args[i].rfind("--output=", 0) == 0) {
            file = args[i].substr(9);
            continue;
        }
        out.push_back(args[i]);
    }
    out.insert(out.begin(), {"--timeline", file.empty() ? default_file : file});
    return out;
}

std::string mprof_path(const std::string &recording_path)
{
    const std::string ext = ".mtrace";
    if (recording_path.size() > ext.size() &&
        recording_path.compare(recording_path.size() - ext.size(), ext.size(), ext) == 0)
        return recording_path.substr(0, recording_path.size() - ext.size()) + ".dat";
    return recording_path + ".dat";
}

namespace {

// memtrace plot's options, bound to `out` (and `no_functions`).
std::unique_ptr<CLI::App> plot_app(PlotArgs &out, bool &no_functions)
{
    auto app = std::make_unique<CLI::App>(
        "memtrace plot: memory over time from recordings, as a self-contained SVG.\n"
        "Several recordings are overlaid to compare runs; each peak is marked, and\n"
        "the calls of traced functions (-f) are drawn as labelled brackets.\n\n"
        "Usage: memtrace plot FILE... [-o OUT.svg] [--title TEXT] [--no-functions] [--png]\n",
        "plot");
    app->formatter(std::make_shared<HelpFormatter>());
    app->set_help_flag("-h,--help", "Show this help and exit");
    app->add_option("files", out.files, "Recordings (from memtrace record or --timeline)")
        ->type_name("FILE")
        ->required();
    app->add_option("-o,--output", out.output,
                    "The image to write (default: the first recording's name, .svg or .png)")
        ->type_name("OUT");
    app->add_option("--title", out.title, "The plot's title (default: the commands)")->type_name("TEXT");
    app->add_flag("--no-functions", no_functions, "No brackets for traced calls");
    app->add_flag("--png", out.png, "Write PNG instead of SVG (needs rsvg-convert: librsvg2-bin)");
    return app;
}

// memtrace report's options, bound to `out`.
std::unique_ptr<CLI::App> report_app(ReportArgs &out)
{
    auto app = std::make_unique<CLI::App>("memtrace report: the end-of-run tables of a recording, again.\n\n"
                                          "Usage: memtrace report FILE [--json OUT]\n",
                                          "report");
    app->formatter(std::make_shared<HelpFormatter>());
    app->set_help_flag("-h,--help", "Show this help and exit");
    app->add_option("file", out.file, "A recording (from memtrace record or --timeline)")
        ->type_name("FILE")
        ->required();
    app->add_option("--json", out.json_path, "Write the report as JSON to OUT ('-': stdout)")
        ->type_name("OUT");
    return app;
}

} // namespace

std::variant<PlotArgs, EarlyExit> parse_plot_options(const std::vector<std::string> &args)
{
    PlotArgs out;
    bool no_functions = false;
    std::unique_ptr<CLI::App> app = plot_app(out, no_functions);
    std::vector<std::string> reversed(args.rbegin(), args.rend());
    try {
        app->parse(reversed);
    } catch (const CLI::CallForHelp &) {
        return EarlyExit{app->help()};
    } catch (const CLI::ParseError &e) {
        throw Error(std::string(e.what()) + " (see memtrace plot --help)");
    }
    out.functions = !no_functions;
    if (out.output.empty()) {
        std::string base = out.files.front();
        const std::string ext = ".mtrace";
        if (base.size() > ext.size() && base.compare(base.size() - ext.size(), ext.size(), ext) == 0)
            base.resize(base.size() - ext.size());
        out.output = base + (out.png ? ".png" : ".svg");
    }
    return out;
}

std::variant<ReportArgs, EarlyExit> parse_report_options(const std::vector<std::string> &args)
{
    ReportArgs out;
    std::unique_ptr<CLI::App> app = report_app(out);
    std::vector<std::string> reversed(args.rbegin(), args.rend());
    try {
        app->parse(reversed);
    } catch (const CLI::CallForHelp &) {
        return EarlyExit{app->help()};
    } catch (const CLI::ParseError &e) {
        throw Error(std::string(e.what()) + " (see memtrace report --help)");
    }
    return out;
}

namespace {

// The options of `app` as plain data: its positionals, or its options (not hidden).
std::vector<OptionDoc> option_docs(const CLI::App &app, bool positionals)
{
    std::vector<OptionDoc> out;
    for (const CLI::Option *o : app.get_options()) {
        if (o->get_group().empty() || o->get_positional() != positionals)
            continue;
        OptionDoc doc;
        for (const std::string &name : o->get_snames())
            doc.names.push_back("-" + name);
        for (const std::string &name : o->get_lnames())
            doc.names.push_back("--" + name);
        if (positionals)
            doc.names = {o->get_name()};
        if (o->get_type_size_max() > 0)
            doc.value = o->get_type_name();
        doc.description = o->get_description();
        doc.group = o->get_group();
        out.push_back(std::move(doc));
    }
    return out;
}

CommandDoc command_doc(const CLI::App &app)
{
    return {app.get_name(), app.get_description(), option_docs(app, false), option_docs(app, true)};
}

// The manual page's content: memtrace's own options, plot's and report's.
ManualDoc manual_doc(const CLI::App &app)
{
    ManualDoc doc;
    doc.version = version_string();
    doc.summary = "how much memory a process uses, its exact peak, and when (eBPF)";
    doc.usage = std::string(kUsage).substr(std::string(kUsage).find('\n') + 1);
    doc.description = std::string(kDescription).substr(std::string("memtrace: ").size());
    doc.footer = kFooter;
    doc.main = command_doc(app);
    PlotArgs plot;
    bool no_functions = false;
    ReportArgs report;
    doc.subcommands = {command_doc(*plot_app(plot, no_functions)), command_doc(*report_app(report))};
    return doc;
}

} // namespace

std::string version_string()
{
    return std::string("memtrace ") + kVersion;
}

namespace {

// --lines: the lines of -f functions, from touch samples copied with the RSS.
void check_lines_options(const Options &opt, const std::string &stacks_kind, const std::string &unwind)
{
    if (opt.trace.functions.empty() && opt.trace.python_functions.empty())
        throw Error("--lines shows the lines of traced functions: give -f FUNCTION too "
                    "(e.g. -f build_index --lines, or -f py:load --lines)");
    if (!stacks_kind.empty() && stacks_kind != "touch")
        throw Error("--lines counts memory brought in (--stacks touch), not --stacks " + stacks_kind +
                    ": drop --stacks " + stacks_kind);
    if (unwind == "fp")
        throw Error("--lines needs stack copies (each sample's RSS and frames): use --unwind auto "
                    "(the default) or dwarf, not fp");
}

} // namespace

std::variant<Options, EarlyExit> parse_options(const std::vector<std::string> &args)
{
    // Everything after the first "--" is the command, untouched by option parsing.
    auto dashdash = std::find(args.begin(), args.end(), "--");
    std::vector<std::string> own(args.begin(), dashdash);
    std::vector<std::string> command;
    bool had_dashdash = dashdash != args.end();
    if (had_dashdash)
        command.assign(dashdash + 1, args.end());

    Options opt;
    std::vector<std::string> pid_args;
    bool all = false;
    double duration = 0, interval = 0;
    unsigned top = 0;

    CLI::App app(std::string(kDescription) + "\n" + kUsage, "memtrace");
    app.prefix_command(); // `memtrace ls -l` works too: the first non-option starts the command
    app.set_help_flag("-h,--help", "Show this help and exit");
    app.set_version_flag("-V,--version", version_string());
    app.footer(kFooter);
    app.formatter(std::make_shared<HelpFormatter>());
    app.get_formatter()->column_width(26);

    app.add_option("-p,--pid", pid_args, "Attach to running processes (all their threads)")
        ->delimiter(',')
        ->type_name("PID[,PID...]")
        ->group("Target");
    app.add_flag("-a,--all", all, "Trace every process on the machine")->group("Target");
    app.add_flag("--children", opt.trace.children,
                 "Also trace processes forked (and exec'd) by the targets")
        ->group("Target");
    app.add_flag("--as-root", opt.trace.as_root,
                 "Under sudo, run CMD as root instead of the invoking user")
        ->group("Target");

    auto *duration_opt =
        app.add_option("-d,--duration", duration,
                       "Stop after SECONDS (inf: no limit); a command started with -- is then ended "
                       "with SIGTERM, as timeout(1) does")
            ->type_name("SECONDS")
            ->check(positive_seconds())
            ->group("Duration");
    auto *interval_opt =
        app.add_option("-i,--interval", interval,
                       "Every SECONDS, show the traced processes on stderr: a live table redrawn in "
                       "place on a terminal (largest peak first), a line per process otherwise")
            ->type_name("SECONDS")
            ->check(positive_seconds())
            ->group("Duration");

    std::vector<std::string> func_args;
    app.add_option("-f,--func", func_args,
                   "Trace calls of functions: [MODULE:]SYMBOL, a name, glob or C++ name; "
                   "py:QUALNAME or py:MODULE.QUALNAME (globs) for Python functions (CPython 3.11-3.13, "
                   "at most 16); repeat or use commas (e.g. -f 'build_*' -f libc:malloc -f 'py:Model.*')")
        ->type_name("PATTERN")
        ->group("Functions");
    app.add_option("--list-funcs", opt.list_funcs,
                   "Print the functions PATTERN would trace in -p PID or a program, and exit")
        ->type_name("PATTERN")
        ->group("Functions");
    app.add_option("--max-probes", opt.trace.max_probes,
                   "Refuse patterns matching more functions than N (default 1000)")
        ->type_name("N")
        ->check(whole_number_in(1, 100000))
        ->group("Functions");
    app.add_option("--hot-limit", opt.trace.hot_limit,
                   "Warn when a traced function is called more than N times/s (default 10000)")
        ->type_name("N")
        ->check(whole_number_in(1, 4000000000u))
        ->group("Functions");
    app.add_flag("--lines", opt.trace.lines,
                 "Per line of each traced function (-f): RSS at the line's high point and memory "
                 "it brought in, from stack samples (--sample-bytes, 64K by default with --lines; "
                 "4096 is exact per page)")
        ->group("Functions");
    std::vector<std::string> debug_dirs;
    app.add_option("--debuginfo-dir", debug_dirs,
                   "Also look for separate debug files under DIR (default /usr/lib/debug)")
        ->type_name("DIR")
        ->group("Functions");
    std::string debug_cache;
    app.add_option("--debug-cache", debug_cache,
                   "Keep uncompressed copies of compressed debug files (Debian's -dbg packages) "
                   "under DIR, one per build-id, so their DWARF is read from the page cache "
                   "instead of inflated into memtrace's memory on every run (default "
                   "/var/cache/memtrace as root, else ~/.cache/memtrace; 'none': no copies)")
        ->type_name("DIR|none")
        ->group("Functions");

    app.add_option("--folded", opt.folded_path,
                   "Write flame-graph stacks to FILE: 'root;...;leaf BYTES' lines")
        ->type_name("FILE")
        ->group("Stacks");
    app.add_option("--pprof", opt.pprof_path,
                   "Write the same stacks to FILE as a gzipped pprof profile (go tool pprof), with "
                   "or without --folded")
        ->type_name("FILE")
        ->group("Stacks");
    std::string stacks_kind;
    app.add_option("--stacks", stacks_kind,
                   "What weighs a stack: touch (pages brought in, the default), map "
                   "(memory mapped: mmap, brk, mremap), peak (pages brought in and still resident "
                   "at the moment of the process's peak RSS; each process its own peak, also with "
                   "--per-pid and --children) or end (still resident when the process ended or "
                   "tracing stopped: the leak view)")
        ->type_name("touch|map|peak|end")
        ->group("Stacks");
    std::string sample_bytes;
    app.add_option("--sample-bytes", sample_bytes,
                   "Take a stack every N bytes of growth per thread (default 512K, 64K with --lines; "
                   "4096 = every page)")
        ->type_name("N")
        ->group("Stacks");
    std::string unwind;
    app.add_option("--unwind", unwind,
                   "How user stacks are walked: fp (frame pointers, in the kernel), dwarf (copy the "
                   "stack and unwind it with the binaries' CFI, as perf --call-graph dwarf) or auto "
                   "(the default: dwarf where the sampled code has no frame pointers)")
        ->type_name("fp|dwarf|auto")
        ->group("Stacks");
    std::string stack_bytes;
    app.add_option("--stack-bytes", stack_bytes,
                   "Most stack copied per DWARF sample (default and most 64K); a copy stops at the "
                   "stack's top, so shallow stacks copy less; deeper ones are cut short and counted")
        ->type_name("N")
        ->group("Stacks");
    app.add_flag("--kernel-stacks", opt.trace.kernel_stacks,
                 "Add kernel frames, below a '-' frame")
        ->group("Stacks");
    bool no_python_frames = false;
    app.add_flag("--no-python-frames", no_python_frames,
                 "Python programs: keep the interpreter's C frames (_PyEval_EvalFrameDefault) "
                 "instead of the Python functions they run; reads nothing of the interpreter")
        ->group("Stacks");
    app.add_flag("--per-pid", opt.trace.per_pid, "Root frame comm-PID instead of comm")->group("Stacks");
    app.add_flag("--per-thread", opt.trace.per_thread, "Also a frame per thread (name-TID)")
        ->group("Stacks");

    app.add_option("--timeline", opt.timeline_path,
                   "Record memory over time to FILE (points and function calls; see memtrace plot)")
        ->type_name("FILE")
        ->group("Timeline");
    std::string resolution;
    app.add_option("--resolution", resolution,
                   "Timeline interval in milliseconds (default 10); each keeps its highest RSS too")
        ->type_name("MS")
        ->group("Timeline");
    std::string format;
    app.add_option("--format", format, "mprof: also write FILE.dat, which mprof plot reads")
        ->type_name("mprof")
        ->group("Timeline");

    app.add_option("-o,--output", opt.table_path, "Write the table to FILE instead of stdout")
        ->type_name("FILE")
        ->group("Output");
    app.add_option("--json", opt.json_path, "Write the results as JSON to FILE ('-': stdout)")
        ->type_name("FILE")
        ->group("Output");
    auto *top_opt = app.add_option("--top", top, "Rows per table (default: all; 10 with -a)")
                        ->type_name("N")
                        ->check(whole_number_in(1, 1000000))
                        ->group("Output");
    std::string listen;
    app.add_option("--listen", listen,
                   "While tracing, serve the figures at http://ADDR/metrics for Prometheus: "
                   "HOST:PORT; :PORT is 127.0.0.1 (this machine only), 0.0.0.0:PORT or [::]:PORT "
                   "every interface. Tracing goes on until Ctrl-C, SIGTERM or -d (a command run "
                   "with --: until it ends; -p: until the processes end)")
        ->type_name("ADDR")
        ->group("Output");
    auto *listen_top_opt =
        app.add_option("--listen-top", opt.listen_top,
                       "Processes with series of their own in /metrics, by current RSS (default "
                       "20); the rest are summed in pid=\"other\"")
            ->type_name("N")
            ->check(whole_number_in(1, 10000))
            ->group("Output");
    app.add_flag("--per-process", opt.trace.per_process,
                 "With --children or -a: a table row per process (each program of an exec chain "
                 "its own), instead of one per program")
        ->group("Output");
    app.add_flag("-q,--quiet", opt.trace.quiet, "No progress messages on stderr")->group("Output");
    app.add_flag("-v,--verbose", opt.trace.verbose, "Show libbpf and verifier messages")->group("Output");
    app.add_option("--max-procs", opt.trace.max_procs, "Processes traced at once (default 16384)")
        ->type_name("N")
        ->check(whole_number_in(16, 4194304))
        ->group("Advanced");

    bool help_man = false, help_bash = false; // hidden: make builds memtrace.1 and the completion
    app.add_flag("--help-man", help_man, "Print the manual page (roff) and exit")->group("");
    app.add_flag("--bash-completion", help_bash, "Print the bash completion script and exit")->group("");

    // CLI11 wants argv in reverse order for parse(vector).
    std::vector<std::string> reversed(own.rbegin(), own.rend());
    try {
        app.parse(reversed);
        if (help_man || help_bash)
            return EarlyExit{help_man ? man_page(manual_doc(app)) : bash_completion(manual_doc(app))};
    } catch (const CLI::CallForHelp &) {
        return EarlyExit{app.help()};
    } catch (const CLI::CallForVersion &) {
        return EarlyExit{version_string() + "\n"};
    } catch (const CLI::ParseError &e) {
        std::string what = e.what();
        throw Error(what + " (see memtrace --help)");
    }

    std::vector<std::string> rest = app.remaining();
    if (!rest.empty()) {
        if (rest.front().size() > 1 && rest.front()[0] == '-')
            throw Error("unknown option '" + rest.front() + "' (see memtrace --help)");
        if (had_dashdash)
            throw Error("unexpected '" + rest.front() +
                        "' before '--': options go before '--', the command after it");
        command = rest;
    }

    for (const auto &p : pid_args)
        opt.trace.pids.push_back(parse_pid(p));
    std::sort(opt.trace.pids.begin(), opt.trace.pids.end());
    opt.trace.pids.erase(std::unique(opt.trace.pids.begin(), opt.trace.pids.end()), opt.trace.pids.end());
    opt.trace.command = command;
    for (const auto &f : func_args) {
        if (f.empty())
            throw Error("-f needs a function pattern (e.g. -f build_index or -f libc:malloc)");
        for (const FunctionPattern &p : parse_function_patterns(f)) {
            if (p.python) {
                opt.trace.python_functions.push_back(p.symbol);
                continue;
            }
            if (all && p.module.empty())
                throw Error("with -a there is no main program: name the module, e.g. -f libc:" +
                            p.symbol);
            opt.trace.functions.push_back(p.text);
        }
    }
    for (const auto &dir : debug_dirs)
        opt.trace.debug_dirs.insert(opt.trace.debug_dirs.begin(), dir);
    if (debug_cache == "none")
        opt.debug_cache = "";
    else if (!debug_cache.empty() && debug_cache.front() != '/')
        throw Error("--debug-cache: give an absolute directory (or 'none'), got '" + debug_cache + "'");
    else if (!debug_cache.empty())
        opt.debug_cache = debug_cache;

    if ((!resolution.empty() || !format.empty()) && opt.timeline_path.empty())
        throw Error("--resolution and --format shape --timeline FILE: give it too "
                    "(or use memtrace record)");
    if (!format.empty() && format != "mprof")
        throw Error("--format: only mprof is known, got '" + format + "'");
    opt.mprof_format = format == "mprof";
    opt.trace.timeline = !opt.timeline_path.empty();
    if (!resolution.empty()) {
        double ms = 0;
        auto [end, ec] = std::from_chars(resolution.data(), resolution.data() + resolution.size(), ms);
        if (ec != std::errc() || end != resolution.data() + resolution.size() || !(ms >= 1) ||
            ms > 3600000)
            throw Error("--resolution: expected milliseconds, at least 1, got '" + resolution + "'");
        opt.trace.resolution_ms = ms;
    }
    static const std::map<std::string, StackWeight> kWeights = {
        {"touch", StackWeight::Touch}, {"map", StackWeight::Map},
        {"peak", StackWeight::Peak},   {"end", StackWeight::End}};
    if (!stacks_kind.empty() && !kWeights.count(stacks_kind))
        throw Error("--stacks: expected touch, map, peak or end, got '" + stacks_kind + "'");
    if (opt.trace.lines)
        check_lines_options(opt, stacks_kind, unwind);
    // --folded and --pprof write the stacks; --lines samples them for its tables
    opt.trace.fold_stacks = !opt.folded_path.empty() || !opt.pprof_path.empty();
    const bool stacks_wanted = opt.trace.fold_stacks || opt.trace.lines;
    if (!stacks_wanted &&
        (!stacks_kind.empty() || !sample_bytes.empty() || opt.trace.kernel_stacks || opt.trace.per_pid ||
         opt.trace.per_thread || no_python_frames || !unwind.empty() || !stack_bytes.empty()))
        throw Error("--stacks, --sample-bytes, --unwind, --stack-bytes, --kernel-stacks, --per-pid, "
                    "--per-thread and --no-python-frames shape the stacks of --folded FILE (or --pprof FILE, "
                    "--lines): "
                    "give it too");
    if (!unwind.empty()) {
        if (unwind == "fp")
            opt.trace.unwind = UnwindMode::FramePointers;
        else if (unwind == "dwarf")
            opt.trace.unwind = UnwindMode::Dwarf;
        else if (unwind == "auto")
            opt.trace.unwind = UnwindMode::Auto;
        else
            throw Error("--unwind: expected fp, dwarf or auto, got '" + unwind + "'");
    }
    if (!stack_bytes.empty()) {
        uint64_t n = parse_size(stack_bytes, "--stack-bytes");
        if (n < 512 || n > kMaxStackCopy)
            throw Error("--stack-bytes: between 512 and 64K, got " + stack_bytes);
        if (opt.trace.unwind == UnwindMode::FramePointers)
            throw Error("--stack-bytes sizes the stack copies of --unwind dwarf|auto, not fp");
        opt.trace.stack_bytes = static_cast<uint32_t>(n & ~uint64_t{7});
    }
    opt.trace.python_frames = !no_python_frames;
    if (opt.trace.lines && no_python_frames && !opt.trace.python_functions.empty())
        throw Error("--lines on py: functions reads the samples' Python frames: drop --no-python-frames");
    if (stacks_wanted) {
        opt.trace.stacks = stacks_kind.empty() ? StackWeight::Touch : kWeights.at(stacks_kind);
        if (opt.trace.lines)
            opt.trace.sample_bytes = TraceConfig::kLinesSampleBytes;
        if (!sample_bytes.empty())
            opt.trace.sample_bytes = parse_size(sample_bytes, "--sample-bytes");
        if (opt.trace.sample_bytes < 4096)
            throw Error("--sample-bytes: at least 4096 (one page), got " + sample_bytes);
        if (opt.folded_path == "-" && (opt.json_path == "-"))
            throw Error("--folded - and --json - would both write to stdout: pick one");
        if (opt.pprof_path == "-")
            throw Error("--pprof writes a binary file, not to stdout: give a file name (e.g. --pprof "
                        "mem.pb.gz)");
    }
    if (!opt.list_funcs.empty()) {
        if (all)
            throw Error("--list-funcs needs -p PID or a program, not -a");
        if (app.count("--listen"))
            throw Error("--listen serves the figures of a trace; --list-funcs traces nothing: drop one");
        if (opt.trace.pids.empty() && command.empty())
            throw Error("--list-funcs needs -p PID or a program (e.g. --list-funcs 'build_*' ./app)");
        if (!opt.trace.pids.empty() && !command.empty())
            throw Error("give either -p PID or -- CMD, not both");
        opt.trace.mode = opt.trace.pids.empty() ? TraceMode::Command : TraceMode::Pids;
        return opt;
    }
    int targets = (!opt.trace.pids.empty()) + (!command.empty() || had_dashdash) + all;
    if (targets > 1) {
        if (all)
            throw Error("-a traces every process: give it without -p or a command");
        throw Error("give either -p PID or -- CMD, not both");
    }
    if (had_dashdash && command.empty())
        throw Error("no command after '--' (e.g. memtrace -- ./myprog arg)");
    if (targets == 0)
        throw Error("nothing to trace: give -- CMD, -p PID or -a (see memtrace --help)");

    opt.trace.mode = all ? TraceMode::All : !opt.trace.pids.empty() ? TraceMode::Pids : TraceMode::Command;
    if (opt.trace.as_root && opt.trace.mode != TraceMode::Command)
        throw Error("--as-root applies to a command run with '--', not to -p or -a");
    if (opt.trace.per_process && !opt.trace.children && opt.trace.mode != TraceMode::All)
        throw Error("--per-process applies to --children and -a, whose tables are grouped by "
                    "program; without them every process has its row already");
    if (duration_opt->count())
        opt.trace.duration_s = seconds_limit(duration);
    if (interval_opt->count())
        opt.trace.interval_s = seconds_limit(interval);
    if (top_opt->count())
        opt.trace.top = top;
    if (app.count("--listen"))
        opt.listen = parse_listen_address(listen);
    else if (listen_top_opt->count())
        throw Error("--listen-top sizes what --listen ADDR serves: give it too");
    if (opt.json_path.empty() && app.count("--json"))
        throw Error("--json needs a file name, or '-' for stdout");
    if (opt.json_path == "-" && opt.table_path == "-")
        throw Error("--json - and -o - would both write to stdout: pick one");
    if (opt.table_path == "-")
        opt.table_path.clear();
    return opt;
}

} // namespace memtrace
