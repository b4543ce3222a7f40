// memtrace: kernel events -> in-kernel aggregation -> userspace model -> reports.
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <cstdlib>
#include <sys/resource.h>

#include <iostream>
#include <optional>
#include <sstream>

#include "cli/options.h"
#include "error.h"
#include "report/folded_writer.h"
#include "report/recording.h"
#include "report/svg_plot.h"
#include "report/json_writer.h"
#include "report/output_file.h"
#include "report/table_writer.h"
#include "session/functions.h"
#include "session/tracer.h"

using namespace memtrace;

namespace {

// memtrace plot FILE...: recordings to an SVG (or PNG through rsvg-convert).
int plot_command(const std::vector<std::string> &args)
{
    auto parsed = parse_plot_options(args);
    if (auto *early = std::get_if<EarlyExit>(&parsed)) {
        std::cout << early->text;
        return 0;
    }
    const PlotArgs &plot = std::get<PlotArgs>(parsed);
    std::vector<Recording> recordings;
    for (const auto &file : plot.files)
        recordings.push_back(read_recording_file(file));
    PlotOptions options;
    options.title = plot.title;
    options.functions = plot.functions;
    std::string svg = plot_svg(recordings, options);
    if (plot.png) {
        // rsvg-convert (librsvg) rasterizes well; memtrace does not draw pixels itself.
        if (access("/usr/bin/rsvg-convert", X_OK) != 0)
            throw Error("--png needs rsvg-convert: install librsvg2-bin (or plot to SVG)");
        std::string svg_path = plot.output + ".tmp.svg";
        OutputFile tmp(svg_path);
        if (!tmp.write(svg))
            return 1;
        std::string command = "/usr/bin/rsvg-convert -o '" + plot.output + "' '" + svg_path + "'";
        int status = std::system(command.c_str());
        unlink(svg_path.c_str());
        if (status != 0)
            throw Error("rsvg-convert could not write '" + plot.output + "'");
    } else {
        OutputFile out(plot.output);
        if (!out.write(svg))
            return 1;
    }
    std::cerr << "memtrace: plotted " << recordings.size()
              << (recordings.size() == 1 ? " recording" : " recordings") << " to " << plot.output
              << '\n';
    return 0;
}

// memtrace report FILE: a recording's end-of-run tables, again.
int report_command(const std::vector<std::string> &args)
{
    auto parsed = parse_report_options(args);
    if (auto *early = std::get_if<EarlyExit>(&parsed)) {
        std::cout << early->text;
        return 0;
    }
    const ReportArgs &a = std::get<ReportArgs>(parsed);
    Recording recording = read_recording_file(a.file);
    RunReport report;
    try {
        report = report_from_json(recording.report);
    } catch (const Error &e) {
        throw Error(a.file + ": " + e.what() + " (the recording ends before its report?)");
    }
    if (a.json_path.empty()) {
        write_table(std::cout, report);
    } else {
        std::ostringstream text;
        text << recording.report.dump(2) << '\n';
        OutputFile out(a.json_path);
        if (!out.write(text.str()))
            return 1;
    }
    return 0;
}

std::string default_recording_name()
{
    char name[64];
    time_t now = time(nullptr);
    tm local{};
    localtime_r(&now, &local);
    strftime(name, sizeof(name), "memtrace-%Y%m%d-%H%M%S.mtrace", &local);
    return name;
}

} // namespace

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN); // a closed stdout is a write error, not a silent death
    // Stacks keep a descriptor per mapped file (-a can see thousands).
    rlimit files{};
    if (getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
        files.rlim_cur = files.rlim_max;
        setrlimit(RLIMIT_NOFILE, &files);
    }
    try {
        std::vector<std::string> args(argv + 1, argv + argc);
        if (!args.empty() && args.front() == "plot")
            return plot_command({args.begin() + 1, args.end()});
        if (!args.empty() && args.front() == "report")
            return report_command({args.begin() + 1, args.end()});
        if (!args.empty() && args.front() == "record")
            args = record_arguments({args.begin() + 1, args.end()}, default_recording_name());
        auto parsed = parse_options(args);
        if (auto *early = std::get_if<EarlyExit>(&parsed)) {
            std::cout << early->text;
            return 0;
        }
        const Options &options = std::get<Options>(parsed);
        if (!options.list_funcs.empty())
            return list_functions(options, std::cout);

        // Outputs open before tracing: an unwritable path fails now, not after.
        std::optional<OutputFile> json_out;
        if (!options.json_path.empty())
            json_out.emplace(options.json_path);
        std::optional<OutputFile> folded_out;
        if (!options.folded_path.empty())
            folded_out.emplace(options.folded_path);
        std::optional<OutputFile> timeline_out, mprof_out;
        if (!options.timeline_path.empty())
            timeline_out.emplace(options.timeline_path);
        if (options.mprof_format)
            mprof_out.emplace(mprof_path(options.timeline_path));
        std::optional<OutputFile> table_out;
        if (options.json_path != "-" || !options.table_path.empty())
            table_out.emplace(options.table_path);

        TraceOutcome outcome = run_trace(options);

        bool written = true;
        if (table_out) {
            std::ostringstream text;
            write_table(text, outcome.report);
            if (options.mode == TraceMode::Command && options.table_path.empty())
                std::cout.flush();
            written &= table_out->write(text.str());
        }
        if (timeline_out && outcome.recording) {
            std::ostringstream text;
            write_recording(text, *outcome.recording);
            written &= timeline_out->write(text.str());
            if (mprof_out) {
                std::ostringstream dat;
                write_mprof(dat, *outcome.recording);
                written &= mprof_out->write(dat.str());
            }
            if (!options.quiet)
                std::cerr << "memtrace: recorded " << outcome.recording->points.size()
                          << " points to " << options.timeline_path
                          << (mprof_out ? " (and " + mprof_path(options.timeline_path) + ")" : "")
                          << "; plot it with: memtrace plot " << options.timeline_path << '\n';
        }
        if (folded_out) {
            std::ostringstream text;
            write_folded(text, outcome.report.folded);
            written &= folded_out->write(text.str());
        }
        if (json_out) {
            std::ostringstream text;
            write_json(text, outcome.report);
            written &= json_out->write(text.str());
        }
        if (!written && outcome.exit_code == 0)
            return 1;
        return outcome.exit_code;
    } catch (const Error &e) {
        std::cerr << "memtrace: " << e.what() << '\n';
        return e.exit_code();
    } catch (const std::exception &e) {
        std::cerr << "memtrace: internal error: " << e.what() << '\n';
        return 1;
    }
}
