// A small client of the admin API for the CLI (sync, diff, dump, reset, chat, quickstart).
// When an admin token is set (--admin-token / AIGW_ADMIN_TOKEN), every request carries it in
// Kong-Admin-Token.
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
  explicit AdminClient(std::string base_url, std::string token = {});
  // Transport failures come back as a message naming the URL and how to start the gateway;
  // a 401 from a gateway that wants a token comes back as a reply (status 401).
  Result<AdminReply> get(const std::string& path) const;
  Result<AdminReply> post(const std::string& path, const std::string& body,
                          const std::string& type = "application/json") const;
  const std::string& baseUrl() const { return base_; }

 private:
  std::string base_;
  std::string token_;
};

// The admin URL from --admin, else AIGW_ADMIN_URL, else http://127.0.0.1:8001.
std::string defaultAdminUrl();
// AIGW_ADMIN_TOKEN, or empty.
std::string defaultAdminToken();
// The name of the header the token travels in (Kong Enterprise's name).
inline constexpr const char* kAdminTokenHeader = "Kong-Admin-Token";

}  // namespace aigw::admin
