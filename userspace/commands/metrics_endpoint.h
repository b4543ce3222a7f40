// --listen: GET /metrics answered from the collect loop with the figures of
// that moment, in Prometheus' text format; 404 for any other path.
#pragma once

#include "model/metrics_snapshot.h"
#include "serve/http_server.h"
#include "serve/listen_address.h"

namespace memtrace {

class MetricsEndpoint : public MetricsService {
public:
    // Listens at once: a port in use fails before anything is traced.
    MetricsEndpoint(const ListenAddress &address, size_t top);
    const ListenAddress &address() const { return bound_; } // the port the kernel chose for :0

    void add_descriptors(std::vector<pollfd> &fds) const override { server_->add_descriptors(fds); }
    std::optional<uint64_t> wake_ns() const override { return server_->wake_ns(); }
    void serve(std::span<const pollfd> ready, const std::function<MetricsSnapshot()> &snapshot) override;

private:
    ListenAddress bound_;
    size_t top_;
    std::unique_ptr<HttpServer> server_;
};

} // namespace memtrace
