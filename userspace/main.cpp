// memtrace: kernel events -> in-kernel aggregation -> userspace model -> reports.
#include <signal.h>
#include <sys/resource.h>

#include <iostream>
#include <optional>
#include <sstream>

#include "cli/options.h"
#include "error.h"
#include "report/folded_writer.h"
#include "report/json_writer.h"
#include "report/output_file.h"
#include "report/table_writer.h"
#include "session/functions.h"
#include "session/tracer.h"

using namespace memtrace;

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
        auto parsed = parse_options(std::vector<std::string>(argv + 1, argv + argc));
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
