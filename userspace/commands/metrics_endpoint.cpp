#include "commands/metrics_endpoint.h"

#include <sstream>

#include "model/metric_series.h"
#include "report/metrics_writer.h"

namespace memtrace {

MetricsEndpoint::MetricsEndpoint(const ListenAddress &address, size_t top) : top_(top)
{
    server_ = std::make_unique<HttpServer>(open_listener(address, bound_));
}

void MetricsEndpoint::serve(std::span<const pollfd> ready,
                            const std::function<MetricsSnapshot()> &snapshot)
{
    server_->serve(ready, [&](const HttpRequest &request) {
        if (request.path != "/metrics")
            return HttpResponse{404, "text/plain; charset=utf-8",
                                "memtrace serves its figures at /metrics\n"};
        const MetricsSnapshot figures = snapshot();
        std::ostringstream text;
        write_metrics(text, figures, metric_series(figures, top_));
        return HttpResponse{200, kMetricsContentType, text.str()};
    });
}

} // namespace memtrace
