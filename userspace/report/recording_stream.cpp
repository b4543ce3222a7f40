#include "report/recording_stream.h"

#include <sstream>

#include "report/recording.h"

namespace memtrace {

void RecordingFileStream::begin(const Recording &header)
{
    std::ostringstream text;
    write_recording_header(text, header);
    failed_ = !file_.append(text.str()) || !file_.place();
}

void RecordingFileStream::add(const std::vector<TimelinePoint> &points, const std::vector<CallMark> &marks)
{
    if (failed_ || (points.empty() && marks.empty()))
        return;
    std::ostringstream text;
    write_recording_points(text, points);
    write_recording_calls(text, marks);
    failed_ = !file_.append(text.str());
}

} // namespace memtrace
