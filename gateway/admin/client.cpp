#include "admin/client.hpp"

#include <httplib.h>

#include <cstdlib>

namespace aigw::admin {

namespace {

template <typename Call>
Result<AdminReply> run(const std::string& base, const std::string& path, Call&& call) {
  httplib::Client cli(base);
  cli.set_connection_timeout(3, 0);
  cli.set_read_timeout(60, 0);
  auto res = call(cli);
  if (!res) {
    return Result<AdminReply>::failure(
        "cannot reach the aigw admin API at " + base + path + " (" +
        httplib::to_string(res.error()) +
        "); is the gateway running? Start it with `aigw serve -c FILE` or pass --admin URL");
  }
  return AdminReply{res->status, res->body};
}

}  // namespace

Result<AdminReply> AdminClient::get(const std::string& path) const {
  return run(base_, path, [&](httplib::Client& c) { return c.Get(path.c_str()); });
}

Result<AdminReply> AdminClient::post(const std::string& path, const std::string& body,
                                     const std::string& type) const {
  return run(base_, path,
             [&](httplib::Client& c) { return c.Post(path.c_str(), body, type.c_str()); });
}

std::string defaultAdminUrl() {
  if (const char* v = std::getenv("AIGW_ADMIN_URL"); v && *v) return v;
  return "http://127.0.0.1:8001";
}

}  // namespace aigw::admin
