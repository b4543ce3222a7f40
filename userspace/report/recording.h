// The recording file (--timeline, memtrace record): JSON lines, one object per
// line, each with a "type":
//   {"type":"memtrace-recording","version":1,"label":..,"command":[..],
//    "start_unix":..,"resolution_s":..,"duration_s":..,"main_pid":..}   first line
//   {"type":"process","pid":..,"ppid":..,"comm":..,"cmdline":..,"start_s":..,"end_s":..|null}
//   {"type":"point","pid":..,"t":..,"rss":..,"max_rss":..}   t: end of an interval, s; bytes
//   {"type":"call","pid":..,"tid":..,"function":..,"start_s":..,"end_s":..,"base":..,
//    "peak":..,"end_rss":..,"returned":..}
//   {"type":"calls_not_recorded","count":..}
//   {"type":"report", ...the end-of-run JSON report...}        last line
#pragma once

#include <istream>
#include <ostream>
#include <string>
#include <vector>

#include "model/timeline.h"

namespace memtrace {

void write_recording(std::ostream &out, const Recording &recording);
// Its parts, for a recording written as it is made (report/recording_stream.h).
void write_recording_header(std::ostream &out, const Recording &recording);
void write_recording_points(std::ostream &out, const std::vector<TimelinePoint> &points);
void write_recording_calls(std::ostream &out, const std::vector<CallMark> &marks);
// Throws Error("FILE: line N: why") on anything but a recording. A recording
// cut off (memtrace killed: no report, maybe half a last line) reads as far as
// it goes, with cut_off set and its duration its last point's time.
Recording read_recording(std::istream &in, const std::string &name);
Recording read_recording_file(const std::string &path);

// mprof's .dat (memory_profiler's `mprof run` output), which `mprof plot` reads:
// CMDLINE, MEM <MiB> <unix time>, FUNC <name> <MiB> <t> <MiB> <t>, CHLD <n> <MiB> <t>.
// Each interval gives two samples: its highest RSS mid-way, and its RSS at its end.
void write_mprof(std::ostream &out, const Recording &recording);

} // namespace memtrace
