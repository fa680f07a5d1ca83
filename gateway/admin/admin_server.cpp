#include "admin/admin_server.hpp"

#include <nlohmann/json.hpp>

#include "admin/multipart.hpp"

namespace aigw::admin {

namespace {

std::string kongError(const std::string& message) {
  return nlohmann::json{{"message", message}}.dump();
}

// The request as the admin handlers read it (cpp-httplib's Request, which they were written
// against): decoded path, raw target, headers, query parameters, body, multipart files.
Result<httplib::Request> toHttplib(http::Request& in) {
  httplib::Request req;
  req.method = in.method;
  req.path = in.path;
  req.target = in.target;
  req.version = in.version == 10 ? "HTTP/1.0" : "HTTP/1.1";
  req.remote_addr = in.remote_addr;
  for (auto& h : in.headers) req.headers.emplace(h.name, h.value);
  if (!in.query.empty()) httplib::detail::parse_query_text(in.query, req.params);
  const std::string type = in.get_header_value("content-type");
  if (const std::string boundary = multipartBoundary(type); !boundary.empty()) {
    auto parts = parseMultipart(in.body, boundary);
    if (!parts) return Result<httplib::Request>::failure(parts.error());
    for (auto& p : *parts)
      req.files.emplace(
          p.name, httplib::MultipartFormData{p.name, std::move(p.content), std::move(p.filename),
                                             std::move(p.content_type)});
  } else if (type.find("multipart/form-data") != std::string::npos) {
    return Result<httplib::Request>::failure("multipart body without a boundary");
  }
  req.body = std::move(in.body);
  return req;
}

}  // namespace

net::ServerLimits adminServerLimits() {
  net::ServerLimits limits;
  limits.max_body_bytes = kMaxAdminBody;
  limits.header_timeout_ms = 10000;
  limits.keepalive_timeout_ms = 30000;
  limits.max_connections = 4096;
  limits.max_connections_per_client = 256;
  return limits;
}

net::Handler makeAdminNetHandler(AdminHandler handler, AdminAccessOptions access) {
  return [handler = std::move(handler),
          access = std::move(access)](net::Exchange& ex) -> net::Task<void> {
    const net::BodyStatus body = co_await ex.readBody(kMaxAdminBody);
    int status = 0;
    std::string message;
    switch (body) {
      case net::BodyStatus::Ok:
        break;
      case net::BodyStatus::TooLarge:
        status = 413;
        message = "request body is larger than " + std::to_string(kMaxAdminBody) + " bytes";
        break;
      case net::BodyStatus::TimedOut:
        status = 408;
        message = "timed out reading the request body";
        break;
      case net::BodyStatus::Invalid:
        status = 400;
        message = "malformed request body framing";
        break;
      case net::BodyStatus::Closed:
        co_return;
    }
    httplib::Response res;
    if (status == 0) {
      auto req = toHttplib(ex.request());
      if (!req) {
        status = 400;
        message = req.error();
      } else {
        try {
          if (!guardAdminRequest(*req, res, access)) handler(*req, res);
        } catch (const std::exception&) {
          // The handlers answer every input themselves; this is the last line of defence.
          res = httplib::Response();
          res.status = 500;
          res.set_content(kongError("An unexpected error occurred"), "application/json");
        }
      }
    }
    if (status != 0) {
      const std::string error = kongError(message);
      co_await ex.respond(status, {}, error);
      co_return;
    }
    if (res.status < 0) res.status = res.body.empty() ? 404 : 200;
    std::string content_type;
    http::Headers headers;
    for (const auto& [name, value] : res.headers) {
      if (http::iequals(name, "content-type"))
        content_type = value;
      else
        headers.push_back({name, value});
    }
    co_await ex.respond(res.status, headers, res.body, content_type);
  };
}

}  // namespace aigw::admin
