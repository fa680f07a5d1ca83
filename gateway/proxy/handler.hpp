// The data plane: match a route, run the plugins' access phase, perform the upstream
// exchange (streaming or not) and write the answer. No business logic of any one provider.
// Thread-safety: one ProxyHandler serves all worker threads; handle() is reentrant.
#pragma once

#include <httplib.h>

#include "config/store.hpp"
#include "core/api_error.hpp"
#include "proxy/upstream.hpp"

namespace aigw::proxy {

class ProxyHandler {
 public:
  ProxyHandler(const config::ConfigStore& store, UpstreamClient& client) : store_(store), client_(client) {}
  void handle(const httplib::Request& req, httplib::Response& res) const;

 private:
  const config::ConfigStore& store_;
  UpstreamClient& client_;
};

// Writes an OpenAI-shaped error (and Retry-After when set).
void writeError(httplib::Response& res, const ApiError& error);

}  // namespace aigw::proxy
