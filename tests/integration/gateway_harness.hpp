// Starts the real aigw binary on loopback ports with a config written for the test, and
// talks to it over HTTP. Every wait is bounded and on an event (a port, a process exit).
#pragma once

#include <httplib.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "support/process.hpp"

namespace aigw::test {

struct HttpResult {
  int status = 0;  // 0 = transport error
  std::string body;
  httplib::Headers headers;
  nlohmann::json json() const { return nlohmann::json::parse(body, nullptr, false); }
  std::string header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? std::string() : it->second;
  }
};

struct StreamResult {
  int status = 0;
  std::string content_type;
  std::vector<std::string> events;  // data payloads, in order
  std::vector<double> arrival_ms;   // when each event arrived, from the request start
  bool done() const { return !events.empty() && events.back() == "[DONE]"; }
  std::string text() const;  // concatenated delta.content / text
};

class Gateway {
 public:
  // `config_yaml` is written to a file; the gateway is started with it.
  explicit Gateway(const std::string& config_yaml, std::map<std::string, std::string> env = {});
  ~Gateway();

  int port() const { return port_; }
  int adminPort() const { return admin_port_; }
  const std::string& configPath() const { return config_path_; }
  Process& process() { return *process_; }

  HttpResult post(const std::string& path, const std::string& body,
                  httplib::Headers headers = {}) const;
  HttpResult get(const std::string& path) const;
  HttpResult admin(const std::string& path) const;
  StreamResult stream(const std::string& path, const std::string& body,
                      httplib::Headers headers = {}) const;

 private:
  std::string dir_;
  std::string config_path_;
  int port_ = 0, admin_port_ = 0;
  std::unique_ptr<Process> process_;
};

// Replaces every "{FAKE}" in text with the fake's base URL.
std::string withFake(std::string text, const std::string& base_url);

}  // namespace aigw::test
