// Per-request state shared by the plugin phases: the client request, the config snapshot it
// runs on, the body parsed once, what ai-proxy decided, usage and timings.
// Thread-safety: one request, one thread.
#pragma once

#include <httplib.h>

#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "config/model.hpp"
#include "core/api_error.hpp"
#include "providers/provider.hpp"
#include "proxy/upstream.hpp"

namespace aigw::proxy {

// What ai-proxy prepared in the access phase; the core performs the exchange.
struct AiCall {
  const providers::Provider* provider = nullptr;
  const providers::Target* target = nullptr;
  std::string provider_name;  // as configured, for X-Kong-LLM-Model and logs
  providers::ProxyCall call;
  UpstreamRequest upstream;
  UpstreamTimeouts timeouts;
  bool model_name_header = true;
  // Configured credential values of this call, masked wherever an error could echo them
  // (see proxy/redact.hpp); the credential headers of `upstream` are masked as well.
  std::vector<std::string> secrets;
};

struct RequestContext {
  RequestContext(const httplib::Request& req, std::shared_ptr<const config::Config> snapshot)
      : request(req), config(std::move(snapshot)) {}

  const httplib::Request& request;
  std::shared_ptr<const config::Config> config;
  int route = -1;  // index into config->routes

  // The body, parsed at most once (ensureBody()); plugins that rewrite it edit it in place
  // before ai-proxy, which runs last in the access phase.
  nlohmann::json body;
  bool body_parsed = false;
  std::string body_error;  // why the body is not JSON, when parsing failed
  bool ensureBody();

  std::optional<AiCall> ai;
  std::optional<ApiError> error;  // set by a plugin that ends the request
  Headers response_headers;       // added to the client response

  providers::Usage usage;
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
  double first_byte_ms = -1;  // streams: when the first chunk reached the client
  int status = 0;             // what the client got
  std::string outcome;        // error text when the request failed (never secrets)
};

}  // namespace aigw::proxy
