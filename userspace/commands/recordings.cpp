// memtrace plot and memtrace report: what a recording shows, after the run.
#include <fcntl.h>
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
#include "report/text_table.h"

namespace memtrace {
namespace {

// Runs `argv` (argv[0] a full path) with `input` on its stdin and its stdout
// on `out_fd`, and waits: its exit status, or -1.
int run_filter(const std::vector<std::string> &argv, const std::string &input, int out_fd)
{
    std::vector<char *> args;
    for (const std::string &a : argv)
        args.push_back(const_cast<char *>(a.c_str()));
    args.push_back(nullptr);
    int in[2];
    if (pipe2(in, O_CLOEXEC) != 0)
        return -1;
    const pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        if (dup2(in[0], STDIN_FILENO) < 0 || dup2(out_fd, STDOUT_FILENO) < 0)
            _exit(127);
        execv(args[0], args.data());
        _exit(127);
    }
    close(in[0]);
    for (size_t done = 0; done < input.size();) {
        const ssize_t n = write(in[1], input.data() + done, input.size() - done);
        if (n <= 0 && errno != EINTR)
            break; // it ended early: its status says why
        done += n > 0 ? static_cast<size_t>(n) : 0;
    }
    close(in[1]);
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
    std::vector<std::pair<std::string, std::string>> inputs;
    for (const auto &file : plot.files)
        inputs.emplace_back("the recording", file);
    refuse_shared_files({{"-o", plot.output}}, inputs);
    std::vector<Recording> recordings;
    for (const auto &file : plot.files) {
        recordings.push_back(read_recording_file(file));
        if (recordings.back().cut_off)
            std::cerr << "memtrace: " << terminal_safe(file) << " was cut off after "
                      << recordings.back().points.size()
                      << " points (memtrace was killed before its end): plotting what it holds\n";
    }
    PlotOptions options;
    options.title = plot.title;
    options.functions = plot.functions;
    std::string svg = plot_svg(recordings, options);
    if (plot.png) {
        // rsvg-convert (librsvg) rasterizes well; memtrace does not draw pixels itself.
        if (access("/usr/bin/rsvg-convert", X_OK) != 0)
            throw Error("--png needs rsvg-convert: install librsvg2-bin (or plot to SVG)");
        // No shell, no file names: the SVG on its stdin, the PNG from its stdout
        // into our own temporary file (rsvg-convert -o would follow a symlink).
        OutputFile out(plot.output);
        const int fd = out.descriptor() >= 0 ? out.descriptor() : STDOUT_FILENO;
        if (run_filter({"/usr/bin/rsvg-convert", "--format", "png"}, svg, fd) != 0)
            throw Error("rsvg-convert could not convert the plot to PNG for '" + plot.output + "'",
                        1);
        if (!out.commit())
            return 1;
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
    refuse_shared_files({{"--json", a.json_path}}, {{"the recording", a.file}});
    Recording recording = read_recording_file(a.file);
    if (recording.cut_off) {
        std::cerr << "memtrace: " << terminal_safe(a.file) << " was cut off after "
                  << recording.points.size()
                  << " points (memtrace was killed before its end): showing what its points hold\n";
        if (!a.json_path.empty())
            throw Error(a.file + " has no end-of-run report to write as JSON: it was cut off");
        write_points_table(std::cout, recording);
        return 0;
    }
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
    strftime(name, sizeof(name), "memtrace-%Y%m%d-%H%M%S", &local);
    // the pid: two runs started in the same second never pick the same name
    return std::string(name) + "-" + std::to_string(getpid()) + ".mtrace";
}

} // namespace memtrace
