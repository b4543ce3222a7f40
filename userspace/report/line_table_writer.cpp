#include "report/line_table_writer.h"

#include <filesystem>

#include "report/text_table.h"
#include "report/units.h"

namespace memtrace {

namespace {

std::string file_name(const std::string &path)
{
    return std::filesystem::path(path).filename().string();
}

void write_heading(std::ostream &out, const FunctionLines &f)
{
    out << "\n" << (f.python ? "Python function " : "Function ") << terminal_safe(f.function);
    if (!f.module.empty())
        out << " (" << terminal_safe(file_name(f.module)) << ")";
    if (f.pid)
        out << ", pid " << f.pid;
    out << "\n";
    if (!f.source_file.empty())
        out << "Filename: " << terminal_safe(f.source_file) << "\n";
    if (!f.source_note.empty())
        out << "(" << terminal_safe(f.source_note) << ")\n";
    if (f.total.samples == 0 && !f.rows.empty())
        out << "(no stack sample had it: never called, or it brought in less than one sample)\n";
}

void write_rows(std::ostream &out, const FunctionLines &f)
{
    using A = TextTable::Align;
    TextTable t;
    t.add_column("Line #", A::Right);
    t.add_column("PEAK RSS", A::Right);
    t.add_column("BROUGHT IN", A::Right);
    t.add_column("SAMPLES", A::Right);
    t.add_column("Line Contents", A::Left);
    for (const LineRow &row : f.rows) {
        const bool sampled = row.tally.samples != 0;
        t.add_row({std::to_string(row.line), sampled ? format_bytes(row.tally.peak_rss) : "",
                   sampled ? format_bytes(row.tally.bytes) : "",
                   sampled ? format_count(row.tally.samples) : "",
                   row.text ? terminal_safe(*row.text) : ""});
    }
    if (!t.empty())
        t.write(out);
}

void write_elsewhere(std::ostream &out, const FunctionLines &f)
{
    for (const auto &[where, tally] : f.other_files)
        out << "  also " << format_bytes(tally.bytes) << " (" << format_count(tally.samples)
            << " samples, peak RSS " << format_bytes(tally.peak_rss) << ") at "
            << terminal_safe(where) << ", a line of another file\n";
    if (f.unplaced_bytes)
        out << "  also " << format_bytes(f.unplaced_bytes) << " on no known line (no line table there)\n";
    if (f.total.samples)
        out << "  In all: " << format_bytes(f.total.bytes) << " brought in while the function was on "
            << "the stack (" << format_count(f.total.samples) << " samples), peak RSS "
            << format_bytes(f.total.peak_rss) << ".\n";
}

} // namespace

void write_line_tables(std::ostream &out, const std::vector<FunctionLines> &tables, uint64_t sample_bytes,
                       uint64_t samples_lost)
{
    if (tables.empty())
        return;
    out << "\nLines of the traced functions (--lines), from one stack sample per "
        << format_bytes(sample_bytes) << " brought in per thread"
        << (sample_bytes == 4096 ? " (every page: exact):\n" : " (--sample-bytes 4096: exact per page):\n");
    for (const FunctionLines &f : tables) {
        write_heading(out, f);
        write_rows(out, f);
        write_elsewhere(out, f);
    }
    out << "\nPEAK RSS: the process's highest RSS at a sample taken on the line: the line's high point\n"
           "  (to within one sample). BROUGHT IN: memory brought into RSS (first touch) while the\n"
           "  line ran, in whole samples. SAMPLES: stack samples taken there, not how often the line\n"
           "  ran: a line that brought nothing in has none. A line counts what its callees brought\n"
           "  in; code inlined into the function counts on the line of the inlined call.\n";
    if (samples_lost)
        out << "warning: " << format_count(samples_lost)
            << " samples lost (memtrace fell behind: stack ring buffer full): their bytes are in no line; "
               "a larger --sample-bytes takes fewer\n";
}

} // namespace memtrace
