#include "integration/gateway_harness.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <stdexcept>

namespace aigw::test {

std::size_t SseReader::feed(std::string_view bytes) {
  const std::size_t before = parsed_.data.size();
  for (const char c : bytes) {
    if (after_cr_) {
      after_cr_ = false;
      if (c == '\n') continue;  // the LF of a CRLF pair
    }
    pending_ += c;
    if (c == '\r' || c == '\n') {
      after_cr_ = c == '\r';
      line(buffer_);
      buffer_.clear();
    } else {
      buffer_ += c;
    }
  }
  return parsed_.data.size() - before;
}

void SseReader::line(std::string_view l) {
  if (l.empty()) {  // a blank line: dispatch
    if (has_data_) {
      parsed_.data.push_back(data_);
      parsed_.event_type.push_back(type_);
    }
    data_.clear();
    type_.clear();
    has_data_ = false;
    pending_.clear();
    return;
  }
  if (l.front() == ':') return;  // a comment
  const auto colon = l.find(':');
  const std::string_view field = l.substr(0, colon);
  std::string_view value = colon == std::string_view::npos ? "" : l.substr(colon + 1);
  if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  if (field == "data") {
    if (has_data_) data_ += '\n';
    data_ += value;
    has_data_ = true;
  } else if (field == "event") {
    type_ = value;
  }
}

SseParse SseReader::finish() {
  SseParse out = parsed_;
  out.partial = pending_;
  return out;
}

SseParse parseSse(std::string_view bytes) {
  SseReader reader;
  reader.feed(bytes);
  return reader.finish();
}

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

Served startServe(std::vector<std::string> args, std::map<std::string, std::string> env,
                  int timeout_ms) {
  std::vector<std::string> argv = {AIGW_BINARY, "serve"};
  argv.insert(argv.end(), args.begin(), args.end());
  for (const char* flag : {"--listen", "--admin-listen"}) {
    argv.emplace_back(flag);
    argv.emplace_back("127.0.0.1:0");
  }
  Served out;
  out.process = std::make_unique<Process>(std::move(argv), std::move(env));
  // The wait ends as soon as aigw exits, so a start-up failure is reported at once.
  const auto ports = waitForServePorts(*out.process, timeout_ms);
  if (!ports) {
    const bool exited = !out.process->running();
    throw std::runtime_error(std::string(exited ? "aigw serve exited before listening"
                                                : "aigw serve reported no ports within " +
                                                      std::to_string(timeout_ms) + " ms") +
                             ":\n" + out.process->log());
  }
  out.ports = *ports;
  return out;
}

Gateway::Gateway(const std::string& config_yaml, std::map<std::string, std::string> env,
                 std::vector<std::string> extra_args) {
  dir_ = tempDir();
  config_path_ = dir_ + "/aigw.yaml";
  writeFile(config_path_, config_yaml);
  std::vector<std::string> args = {"-c", config_path_, "--data-dir", dir_ + "/data"};
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  auto served = startServe(std::move(args), std::move(env));
  process_ = std::move(served.process);
  port_ = served.ports.proxy;
  admin_port_ = served.ports.admin;
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
  std::string raw;
  SseReader reader;
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
    raw.append(data, len);
    const double now =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    for (std::size_t n = reader.feed(std::string_view(data, len)); n > 0; --n)
      out.arrival_ms.push_back(now);
    return true;
  };
  httplib::Response res;
  httplib::Error err = httplib::Error::Success;
  out.complete = cli.send(req, res, err) && err == httplib::Error::Success;
  if (out.status == 0) out.status = res.status;
  if (raw.empty()) raw = res.body;
  if (out.content_type.rfind("text/event-stream", 0) == 0) {
    SseParse parsed = reader.finish();
    out.events = std::move(parsed.data);
    out.event_types = std::move(parsed.event_type);
    out.partial = std::move(parsed.partial);
    if (!out.partial.empty())
      FAIL_CHECK("POST " << path
                         << ": the stream ended inside an event (no blank line after "
                            "it): \""
                         << out.partial << "\"");
  } else if (!raw.empty()) {
    out.events.push_back(raw);  // a plain answer, e.g. an error before streaming started
  }
  out.raw = std::move(raw);
  return out;
}

}  // namespace aigw::test
