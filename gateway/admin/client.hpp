// A small client of the admin API for the CLI (sync, diff, dump, reset, chat).
// Thread-safety: one object per thread.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "core/result.hpp"

namespace aigw::admin {

struct AdminReply {
  int status = 0;
  std::string body;
  nlohmann::json json() const { return nlohmann::json::parse(body, nullptr, false); }
};

class AdminClient {
 public:
  explicit AdminClient(std::string base_url) : base_(std::move(base_url)) {}
  // Transport failures come back as a message naming the URL and how to start the gateway.
  Result<AdminReply> get(const std::string& path) const;
  Result<AdminReply> post(const std::string& path, const std::string& body,
                          const std::string& type = "application/json") const;
  const std::string& baseUrl() const { return base_; }

 private:
  std::string base_;
};

// The admin URL from --admin, else AIGW_ADMIN_URL, else http://127.0.0.1:8001.
std::string defaultAdminUrl();

}  // namespace aigw::admin
