// The write stage of a trace: every output the options name, opened before
// tracing (an unwritable path fails at once, not after the run) and written
// from the run's result at the end.
#pragma once

#include <optional>

#include "cli/options.h"
#include "commands/metrics_endpoint.h"
#include "model/run_builder.h"
#include "report/output_file.h"
#include "report/recording_stream.h"

namespace memtrace {

class TraceOutputs {
public:
    explicit TraceOutputs(const Options &options);
    // False if any output could not be written (each says why on stderr).
    bool write(RunResult &run);
    // --timeline FILE: where the recording goes as it is made; none for stdout.
    RecordingStream *recording_stream() { return stream_ ? &*stream_ : nullptr; }
    // --listen ADDR: /metrics, served from the collect loop; listening already.
    MetricsService *metrics_service() { return metrics_ ? &*metrics_ : nullptr; }

private:
    const Options &options_;
    std::optional<RecordingFileStream> stream_;
    std::optional<MetricsEndpoint> metrics_;
    std::optional<OutputFile> table_, json_, folded_, pprof_, timeline_, mprof_;
};

} // namespace memtrace
