// --timeline FILE while tracing: the header at once, then points and calls as
// they are drained, appended to FILE itself (placed under its name at once, as
// output files are: a temporary file renamed, never through a planted symlink).
// A memtrace killed mid-run (SIGKILL, the OOM killer) so leaves a recording
// that memtrace report and plot read, saying it was cut off. The complete
// recording replaces it at the end.
#pragma once

#include <string>
#include <vector>

#include "model/timeline.h"
#include "report/output_file.h"

namespace memtrace {

class RecordingFileStream : public RecordingStream {
public:
    explicit RecordingFileStream(const std::string &path) : file_(path) {}

    void begin(const Recording &header) override;
    void add(const std::vector<TimelinePoint> &points, const std::vector<CallMark> &marks) override;

private:
    OutputFile file_;
    bool failed_ = false; // said once; the complete recording is still written at the end
};

} // namespace memtrace
