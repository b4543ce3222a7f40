// A recording: memory over time (--timeline, memtrace record), with the calls
// of traced functions as brackets, and the end-of-run report. Plain data;
// written and read as JSON lines (report/recording.h).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace memtrace {

// One interval of one process: at `t` (its end, seconds since the trace
// began) its RSS was `rss`; inside it, the highest was `max_rss`. Bytes.
struct TimelinePoint {
    uint32_t pid = 0;
    double t = 0;
    uint64_t rss = 0;
    uint64_t max_rss = 0;
};

struct CallMark {
    uint32_t pid = 0;
    uint32_t tid = 0;
    std::string function;
    double start = 0, end = 0; // seconds since the trace began
    uint64_t base = 0;         // RSS at entry, bytes
    uint64_t peak = 0;         // highest RSS while open
    uint64_t end_rss = 0;      // RSS when it ended
    bool returned = true;
};

struct RecordedProcess {
    uint32_t pid = 0, ppid = 0;
    std::string comm, cmdline;
    double start = 0;
    double end = -1; // -1: running when tracing ended
};

struct Recording {
    static constexpr int kVersion = 1;
    std::string label;                // legend text: the command line, or the file name
    std::vector<std::string> command; // -- CMD
    double start_unix = 0;            // wall-clock time the trace began
    double resolution = 0.01;         // seconds per interval
    double duration = 0;
    uint32_t main_pid = 0;            // the command, or the first -p target
    std::vector<RecordedProcess> processes;
    std::vector<TimelinePoint> points; // by time
    std::vector<CallMark> marks;       // by start
    uint64_t marks_dropped = 0;        // calls of hot functions not recorded one by one
    nlohmann::ordered_json report;     // the end-of-run report (report/json_writer.h)
    bool cut_off = false;              // read from a file that ends before its report
};

// Where a recording goes while it is made (report/recording_stream.h): the
// header once, then points and calls as they are drained, so a memtrace
// killed mid-run leaves a readable prefix.
class RecordingStream {
public:
    virtual ~RecordingStream() = default;
    virtual void begin(const Recording &header) = 0; // no points or calls yet
    virtual void add(const std::vector<TimelinePoint> &points, const std::vector<CallMark> &marks) = 0;
};

// The legend of a recording: the command's program and arguments, the main
// process's command line (-p), or "every process".
std::string recording_label(const std::vector<std::string> &command, uint32_t main_pid,
                            const std::string &main_cmdline);

// The RSS over time of the recording's processes summed (the main process and
// the processes it started, as mprof --include-children): a step series, with
// the highest sum inside each step. Sorted by t.
std::vector<TimelinePoint> total_series(const Recording &recording);

} // namespace memtrace
