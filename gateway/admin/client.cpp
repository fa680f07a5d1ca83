#include "admin/client.hpp"

#include <httplib.h>

#include <cstdlib>

namespace aigw::admin {

namespace {

template <typename Call>
Result<AdminReply> run(const std::string& base, const std::string& token, const std::string& path,
                       Call&& call) {
  httplib::Client cli(base);
  cli.set_connection_timeout(3, 0);
  cli.set_read_timeout(60, 0);
  httplib::Headers headers;
  if (!token.empty()) headers.emplace(kAdminTokenHeader, token);
  auto res = call(cli, headers);
  if (!res) {
    return Result<AdminReply>::failure(
        "cannot reach the aigw admin API at " + base + path + " (" +
        httplib::to_string(res.error()) +
        "); is the gateway running? Start it with `aigw serve -c FILE` or pass --admin URL");
  }
  return AdminReply{res->status, res->body};
}

}  // namespace

AdminClient::AdminClient(std::string base_url, std::string token)
    : base_(std::move(base_url)), token_(token.empty() ? defaultAdminToken() : std::move(token)) {}

Result<AdminReply> AdminClient::get(const std::string& path) const {
  return run(base_, token_, path,
             [&](httplib::Client& c, const httplib::Headers& h) { return c.Get(path.c_str(), h); });
}

Result<AdminReply> AdminClient::post(const std::string& path, const std::string& body,
                                     const std::string& type) const {
  return run(base_, token_, path, [&](httplib::Client& c, const httplib::Headers& h) {
    return c.Post(path.c_str(), h, body, type.c_str());
  });
}

std::string defaultAdminUrl() {
  if (const char* v = std::getenv("AIGW_ADMIN_URL"); v && *v) return v;
  return "http://127.0.0.1:8001";
}

std::string defaultAdminToken() {
  if (const char* v = std::getenv("AIGW_ADMIN_TOKEN"); v && *v) return v;
  return {};
}

}  // namespace aigw::admin
