// memtrace plot and memtrace report: what a recording shows, after the run.
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <iostream>
#include <sstream>

#include "commands/commands.h"
#include "error.h"
#include "report/json_writer.h"
#include "report/output_file.h"
#include "report/recording.h"
#include "report/svg_plot.h"
#include "report/table_writer.h"

namespace memtrace {
namespace {

// Runs `argv` (argv[0] a full path) and waits: its exit status, or -1.
int run_program(const std::vector<std::string> &argv)
{
    std::vector<char *> args;
    for (const std::string &a : argv)
        args.push_back(const_cast<char *>(a.c_str()));
    args.push_back(nullptr);
    const pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        execv(args[0], args.data());
        _exit(127);
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

} // namespace

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
        // No shell: file names are arguments, never command text.
        const int status = run_program({"/usr/bin/rsvg-convert", "-o", plot.output, svg_path});
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
        text << recording.report.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
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

} // namespace memtrace
