#include "commands/trace_outputs.h"

#include <iostream>
#include <sstream>

#include "report/folded_writer.h"
#include "report/json_writer.h"
#include "report/pprof_writer.h"
#include "report/recording.h"
#include "report/table_writer.h"

namespace memtrace {

TraceOutputs::TraceOutputs(const Options &options) : options_(options)
{
    refuse_shared_files({{"-o", options.table_path},
                         {"--json", options.json_path},
                         {"--folded", options.folded_path},
                         {"--pprof", options.pprof_path},
                         {"--timeline", options.timeline_path},
                         {"--format mprof", options.mprof_format ? mprof_path(options.timeline_path) : ""}});
    if (!options.json_path.empty())
        json_.emplace(options.json_path);
    if (!options.folded_path.empty())
        folded_.emplace(options.folded_path);
    if (!options.pprof_path.empty())
        pprof_.emplace(options.pprof_path);
    if (!options.timeline_path.empty()) {
        timeline_.emplace(options.timeline_path);
        if (timeline_->replaces_file())
            stream_.emplace(options.timeline_path);
    }
    if (options.mprof_format)
        mprof_.emplace(mprof_path(options.timeline_path));
    if (options.json_path != "-" || !options.table_path.empty())
        table_.emplace(options.table_path);
    if (options.listen) {
        metrics_.emplace(*options.listen, options.listen_top);
        if (!options.trace.quiet)
            std::cerr << "memtrace: serving metrics at " << metrics_->address().url() << '\n';
    }
}

bool TraceOutputs::write(RunResult &run)
{
    RunReport &report = run.report;
    if (report.stacks) {
        report.stacks->path = options_.folded_path == "-" ? "stdout" : options_.folded_path;
        report.stacks->pprof_path = options_.pprof_path;
    }
    bool written = true;
    if (table_) {
        std::ostringstream text;
        write_table(text, report);
        if (options_.trace.mode == TraceMode::Command && options_.table_path.empty())
            std::cout.flush();
        written &= table_->write(text.str());
    }
    if (timeline_ && run.recording) {
        run.recording->report = report_json(report);
        std::ostringstream text;
        write_recording(text, *run.recording);
        written &= timeline_->write(text.str());
        if (mprof_) {
            std::ostringstream dat;
            write_mprof(dat, *run.recording);
            written &= mprof_->write(dat.str());
        }
        if (!options_.trace.quiet)
            std::cerr << "memtrace: recorded " << run.recording->points.size() << " points to "
                      << options_.timeline_path
                      << (mprof_ ? " (and " + mprof_path(options_.timeline_path) + ")" : "")
                      << "; plot it with: memtrace plot " << options_.timeline_path << '\n';
    }
    if (folded_) // -a: tens of MiB of text, streamed rather than built whole and copied
        written &= folded_->write_with([&](std::ostream &out) { write_folded(out, report.folded); });
    if (pprof_ && report.stacks) {
        const PprofHeader header{report.stacks->kind, report.stacks->sample_bytes, 0,
                                 static_cast<int64_t>(report.duration_s * 1e9)};
        written &= pprof_->write(pprof_file(report.folded, header));
    }
    if (json_)
        written &= json_->write_with([&](std::ostream &out) { write_json(out, report); });
    return written;
}

} // namespace memtrace
