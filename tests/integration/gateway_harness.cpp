#include "integration/gateway_harness.hpp"

#include <chrono>
#include <stdexcept>

namespace aigw::test {

std::string StreamResult::text() const {
  std::string out;
  for (const auto& e : events) {
    if (e == "[DONE]") continue;
    auto j = nlohmann::json::parse(e, nullptr, false);
    if (!j.is_object() || !j.contains("choices")) continue;
    for (const auto& c : j["choices"]) {
      if (c.contains("delta") && c["delta"].contains("content") &&
          c["delta"]["content"].is_string())
        out += c["delta"]["content"].get<std::string>();
      if (c.contains("text") && c["text"].is_string()) out += c["text"].get<std::string>();
    }
  }
  return out;
}

std::string withFake(std::string text, const std::string& base_url) {
  for (auto pos = text.find("{FAKE}"); pos != std::string::npos; pos = text.find("{FAKE}", pos))
    text.replace(pos, 6, base_url);
  return text;
}

Gateway::Gateway(const std::string& config_yaml, std::map<std::string, std::string> env) {
  dir_ = tempDir();
  config_path_ = dir_ + "/aigw.yaml";
  writeFile(config_path_, config_yaml);
  port_ = freePort();
  admin_port_ = freePort();
  process_ = std::make_unique<Process>(
      std::vector<std::string>{AIGW_BINARY, "serve", "-c", config_path_, "--listen",
                               "127.0.0.1:" + std::to_string(port_), "--admin-listen",
                               "127.0.0.1:" + std::to_string(admin_port_), "--data-dir",
                               dir_ + "/data"},
      std::move(env));
  if (!waitForPort(port_, 10000) || !waitForPort(admin_port_, 10000))
    throw std::runtime_error("aigw did not start:\n" + process_->log());
}

Gateway::~Gateway() {
  if (process_) process_->terminate(5000);
  removeTempDir(dir_);
}

static HttpResult toResult(const httplib::Result& r) {
  HttpResult out;
  if (!r) return out;
  out.status = r->status;
  out.body = r->body;
  out.headers = r->headers;
  return out;
}

HttpResult Gateway::post(const std::string& path, const std::string& body,
                         httplib::Headers headers) const {
  httplib::Client cli("127.0.0.1", port_);
  cli.set_read_timeout(30, 0);
  return toResult(cli.Post(path.c_str(), headers, body, "application/json"));
}

HttpResult Gateway::get(const std::string& path) const {
  httplib::Client cli("127.0.0.1", port_);
  cli.set_read_timeout(30, 0);
  return toResult(cli.Get(path.c_str()));
}

HttpResult Gateway::admin(const std::string& path) const {
  httplib::Client cli("127.0.0.1", admin_port_);
  cli.set_read_timeout(30, 0);
  return toResult(cli.Get(path.c_str()));
}

StreamResult Gateway::stream(const std::string& path, const std::string& body,
                             httplib::Headers headers) const {
  httplib::Client cli("127.0.0.1", port_);
  cli.set_read_timeout(30, 0);
  StreamResult out;
  std::string buf;
  const auto start = std::chrono::steady_clock::now();
  httplib::Request req;
  req.method = "POST";
  req.path = path;
  req.headers = std::move(headers);
  req.headers.emplace("Content-Type", "application/json");
  req.body = body;
  req.response_handler = [&](const httplib::Response& r) {
    out.status = r.status;
    out.content_type = r.get_header_value("Content-Type");
    return true;
  };
  req.content_receiver = [&](const char* data, size_t len, uint64_t, uint64_t) {
    buf.append(data, len);
    for (auto end = buf.find("\n\n"); end != std::string::npos; end = buf.find("\n\n")) {
      std::string event = buf.substr(0, end);
      buf.erase(0, end + 2);
      if (event.rfind("data: ", 0) == 0) {
        out.events.push_back(event.substr(6));
        out.arrival_ms.push_back(
            std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
                .count());
      }
    }
    return true;
  };
  httplib::Response res;
  httplib::Error err;
  cli.send(req, res, err);
  if (out.status == 0) out.status = res.status;
  if (!buf.empty() && buf.rfind("data: ", 0) == 0) out.events.push_back(buf.substr(6));
  // A non-SSE answer (an error before streaming started) arrives as a plain body.
  else if (out.events.empty() && !buf.empty())
    out.events.push_back(buf);
  else if (out.events.empty() && !res.body.empty())
    out.events.push_back(res.body);
  return out;
}

}  // namespace aigw::test
