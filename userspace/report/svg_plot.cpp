#include "report/svg_plot.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

#include "report/units.h"

namespace memtrace {
namespace {

const char *const kColors[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"};

std::string escape(const std::string &text)
{
    std::string out;
    for (char c : text) {
        switch (c) {
        case '&': out += "&amp;"; break;
        case '<': out += "&lt;"; break;
        case '>': out += "&gt;"; break;
        case '"': out += "&quot;"; break;
        default:
            if (static_cast<unsigned char>(c) >= 0x20 || c == '\t')
                out += c;
        }
    }
    return out;
}

// A name or label from a recording: at most `width` bytes in the image, cut
// between UTF-8 characters.
std::string fitted(const std::string &text, size_t width = 120)
{
    if (text.size() <= width)
        return escape(text);
    size_t cut = width - 3;
    while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80)
        --cut;
    return escape(text.substr(0, cut) + "...");
}

std::string num(double v)
{
    char buf[32];
    std::snprintf(buf, sizeof(buf), "%.1f", v);
    return buf;
}

double mib(uint64_t bytes)
{
    return static_cast<double>(bytes) / (1024.0 * 1024.0);
}

} // namespace

std::vector<double> nice_ticks(double max, int target)
{
    if (!(max > 0))
        max = 1;
    double raw = max / std::max(target, 1);
    double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
    double step = magnitude;
    for (double m : {1.0, 2.0, 2.5, 5.0, 10.0}) {
        step = m * magnitude;
        if (step >= raw)
            break;
    }
    std::vector<double> ticks;
    for (int i = 0; ticks.empty() || ticks.back() < max - step * 1e-9; ++i)
        ticks.push_back(std::round(step * i * 1e9) / 1e9); // 0.3, not 0.30000000000000004
    return ticks;
}

std::string tick_label(double value)
{
    char buf[32];
    std::snprintf(buf, sizeof(buf), "%.3f", value);
    std::string s = buf;
    while (s.back() == '0')
        s.pop_back();
    if (s.back() == '.')
        s.pop_back();
    return s;
}

namespace {

// Where the plot area lies in the image, and the scales of its axes.
struct Frame {
    double left = 84, right = 24, top = 56, bottom = 0;
    double plot_w = 0, plot_h = 0;
    double x_end = 1, y_end = 1; // seconds and MiB at the far ends
    double X(double t) const { return left + t / x_end * plot_w; }
    double Y(double m) const { return top + plot_h - m / y_end * plot_h; }
};

void write_title(std::ostream &svg, const std::vector<Recording> &recordings, const PlotOptions &opt)
{
    svg << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << opt.width << "\" height=\""
        << opt.height << "\" viewBox=\"0 0 " << opt.width << ' ' << opt.height
        << "\" font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\" font-size=\"12\">\n"
        << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
    std::string title = opt.title;
    if (title.empty()) {
        for (const Recording &r : recordings)
            title += (title.empty() ? "" : "  vs  ") + r.label;
        title = "memtrace: " + title;
    }
    // about 7 px a character at this size: keep it inside the image
    size_t fits = static_cast<size_t>(opt.width / 8);
    if (title.size() > fits)
        title = title.substr(0, fits - 3) + "...";
    svg << "<text class=\"title\" x=\"" << opt.width / 2 << "\" y=\"28\" text-anchor=\"middle\" "
        << "font-size=\"16\" font-weight=\"bold\">" << escape(title) << "</text>\n";
}

void write_axes(std::ostream &svg, const Frame &f, const std::vector<double> &xt,
                const std::vector<double> &yt)
{
    svg << "<g class=\"axes\" stroke=\"#ccc\" stroke-width=\"1\">\n";
    for (double v : yt)
        svg << "<line x1=\"" << num(f.left) << "\" x2=\"" << num(f.left + f.plot_w) << "\" y1=\""
            << num(f.Y(v)) << "\" y2=\"" << num(f.Y(v)) << "\"/>\n";
    for (double v : xt)
        svg << "<line x1=\"" << num(f.X(v)) << "\" x2=\"" << num(f.X(v)) << "\" y1=\"" << num(f.top)
            << "\" y2=\"" << num(f.top + f.plot_h) << "\"/>\n";
    svg << "</g>\n<g class=\"ticks\" fill=\"#333\">\n";
    for (double v : yt)
        svg << "<text x=\"" << num(f.left - 8) << "\" y=\"" << num(f.Y(v) + 4)
            << "\" text-anchor=\"end\">" << tick_label(v) << "</text>\n";
    for (double v : xt)
        svg << "<text x=\"" << num(f.X(v)) << "\" y=\"" << num(f.top + f.plot_h + 18)
            << "\" text-anchor=\"middle\">" << tick_label(v) << "</text>\n";
    svg << "</g>\n"
        << "<rect x=\"" << num(f.left) << "\" y=\"" << num(f.top) << "\" width=\"" << num(f.plot_w)
        << "\" height=\"" << num(f.plot_h) << "\" fill=\"none\" stroke=\"#333\"/>\n"
        << "<text x=\"" << num(f.left + f.plot_w / 2) << "\" y=\"" << num(f.top + f.plot_h + 40)
        << "\" text-anchor=\"middle\">time (s)</text>\n"
        << "<text transform=\"translate(22 " << num(f.top + f.plot_h / 2)
        << ") rotate(-90)\" text-anchor=\"middle\">memory used (MiB)</text>\n";
}

// Each traced call: a box from its start to its end, from its base to its peak.
void write_brackets(std::ostream &svg, const Frame &f, const Recording &r, const char *color)
{
    size_t drawn = 0;
    for (const CallMark &m : r.marks) {
        if (drawn++ == 500)
            break;
        double x0 = f.X(m.start), x1 = std::max(f.X(m.end), f.X(m.start) + 1);
        double y_lo = f.Y(mib(m.base)), y_hi = f.Y(mib(m.peak));
        svg << "<g class=\"bracket\" data-function=\"" << fitted(m.function) << "\">"
            << "<rect x=\"" << num(x0) << "\" y=\"" << num(y_hi) << "\" width=\"" << num(x1 - x0)
            << "\" height=\"" << num(std::max(1.0, y_lo - y_hi)) << "\" fill=\"" << color
            << "\" fill-opacity=\"0.12\" stroke=\"" << color << "\" stroke-opacity=\"0.5\"/>";
        if (x1 - x0 >= 30 || r.marks.size() <= 12)
            svg << "<text x=\"" << num(x0 + 3) << "\" y=\"" << num(y_hi + 13) << "\" fill=\""
                << color << "\" font-size=\"11\">" << fitted(m.function) << "</text>";
        svg << "<title>" << fitted(m.function) << ": +" << escape(format_bytes(m.peak - m.base))
            << " peak, " << tick_label(m.end - m.start) << " s</title></g>\n";
    }
}

// At most a point per pixel column: the last level of the column and the
// highest point inside it, so no peak is lost and the SVG's size is bounded
// whatever the recording holds.
std::vector<TimelinePoint> decimated(const Frame &f, const std::vector<TimelinePoint> &points)
{
    std::vector<TimelinePoint> out;
    double column = -1;
    for (const TimelinePoint &p : points) {
        const double x = std::floor(f.X(p.t));
        if (!out.empty() && x == column) {
            out.back().t = p.t;
            out.back().rss = p.rss;
            out.back().max_rss = std::max(out.back().max_rss, p.max_rss);
            continue;
        }
        out.push_back(p);
        column = x;
    }
    return out;
}

// The line, its peak marked, and its legend entry (the `index`th).
void write_series(std::ostream &svg, const Frame &f, const Recording &r,
                  const std::vector<TimelinePoint> &points, const char *color, size_t index,
                  const PlotOptions &opt)
{
    // each interval rises to its highest point, then settles at its end
    std::ostringstream path;
    uint64_t start_rss = 0;
    if (r.report.contains("processes"))
        for (const auto &p : r.report["processes"])
            if (p.value("pid", 0u) == r.main_pid)
                start_rss = p.value("start_rss_bytes", uint64_t{0});
    path << "M" << num(f.X(0)) << ' ' << num(f.Y(mib(start_rss)));
    double peak_t = 0, peak = mib(start_rss);
    double last_t = 0;
    double level = mib(start_rss);
    for (const TimelinePoint &p : decimated(f, points)) {
        // The interval [t0, t]: the level held until it began; inside, RSS went as
        // high as max_rss (when exactly is not kept: drawn at t0) and ended at rss.
        double t0 = std::max(last_t, p.t - r.resolution);
        path << " L" << num(f.X(t0)) << ' ' << num(f.Y(level));
        path << " L" << num(f.X(t0)) << ' ' << num(f.Y(mib(p.max_rss)));
        path << " L" << num(f.X(t0)) << ' ' << num(f.Y(mib(p.rss)));
        path << " L" << num(f.X(p.t)) << ' ' << num(f.Y(mib(p.rss)));
        level = mib(p.rss);
        if (mib(p.max_rss) > peak) {
            peak = mib(p.max_rss);
            peak_t = t0;
        }
        last_t = p.t;
    }
    svg << "<path class=\"series\" data-label=\"" << fitted(r.label) << "\" d=\"" << path.str()
        << "\" fill=\"none\" stroke=\"" << color << "\" stroke-width=\"1.6\"/>\n";
    std::string peak_text = "peak " + format_bytes(static_cast<uint64_t>(peak * 1024 * 1024));
    svg << "<g class=\"peak\"><circle cx=\"" << num(f.X(peak_t)) << "\" cy=\"" << num(f.Y(peak))
        << "\" r=\"4\" fill=\"" << color << "\"/><text x=\"" << num(f.X(peak_t) + 7) << "\" y=\""
        << num(f.Y(peak) - 6) << "\" fill=\"" << color << "\" font-weight=\"bold\">"
        << escape(peak_text) << "</text></g>\n";
    double ly = opt.height - f.bottom + 50 + 20.0 * static_cast<double>(index);
    svg << "<g class=\"legend\"><line x1=\"" << num(f.left) << "\" x2=\"" << num(f.left + 24)
        << "\" y1=\"" << num(ly - 4) << "\" y2=\"" << num(ly - 4) << "\" stroke=\"" << color
        << "\" stroke-width=\"3\"/><text x=\"" << num(f.left + 32) << "\" y=\"" << num(ly) << "\">"
        << fitted(r.label) << " (" << escape(peak_text) << ")</text></g>\n";
}

} // namespace

std::string plot_svg(const std::vector<Recording> &recordings, const PlotOptions &opt)
{
    Frame f;
    f.bottom = 64 + 20.0 * static_cast<double>(recordings.size());
    f.plot_w = opt.width - f.left - f.right;
    f.plot_h = opt.height - f.top - f.bottom;

    std::vector<std::vector<TimelinePoint>> series;
    double t_max = 0, y_max = 0;
    for (const Recording &r : recordings) {
        series.push_back(total_series(r));
        t_max = std::max(t_max, r.duration);
        for (const auto &p : series.back()) {
            t_max = std::max(t_max, p.t);
            y_max = std::max(y_max, mib(p.max_rss));
        }
    }
    std::vector<double> xt = nice_ticks(t_max, 10), yt = nice_ticks(y_max * 1.08, 6);
    f.x_end = xt.back();
    f.y_end = yt.back();

    std::ostringstream svg;
    write_title(svg, recordings, opt);
    write_axes(svg, f, xt, yt);
    for (size_t i = 0; i < recordings.size(); ++i) {
        const char *color = kColors[i % std::size(kColors)];
        if (opt.functions) // function brackets first, under the line
            write_brackets(svg, f, recordings[i], color);
        write_series(svg, f, recordings[i], series[i], color, i, opt);
    }
    svg << "</svg>\n";
    return svg.str();
}

} // namespace memtrace
