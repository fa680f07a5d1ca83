// Starts the real aigw binary on loopback ports with a config written for the test, and
// talks to it over HTTP. Every wait is bounded and on an event (a port, a process exit).
#pragma once

#include <httplib.h>

#include <map>
#include <memory>
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

// A strict reader of text/event-stream
// (https://html.spec.whatwg.org/multipage/server-sent-events.html): lines end in CRLF, LF or CR; an
// event is dispatched only at a blank line; its data lines are joined with "\n"; comments and
// events without data dispatch nothing. Bytes after the last blank line are an unterminated event:
// a client drops it, so a stream that ends that way has lost its last event, and `partial` keeps it
// so that tests fail on it.
struct SseParse {
  std::vector<std::string> data;        // the data of each dispatched event, in order
  std::vector<std::string> event_type;  // its "event:" field ("" when absent)
  std::string partial;                  // bytes of an event not ended by a blank line
};
class SseReader {
 public:
  // Feeds bytes; returns how many events were completed by them.
  std::size_t feed(std::string_view bytes);
  const SseParse& result() const { return parsed_; }
  // The unterminated rest, once the stream has ended.
  SseParse finish();

 private:
  void line(std::string_view l);
  SseParse parsed_;
  std::string buffer_;   // the current, incomplete line
  std::string pending_;  // raw bytes since the last dispatch (for `partial`)
  std::string data_, type_;
  bool has_data_ = false;
  bool after_cr_ = false;
};
SseParse parseSse(std::string_view bytes);

struct StreamResult {
  int status = 0;
  std::string content_type;
  std::vector<std::string> events;       // data payloads of complete events, in order; a non-SSE
                                         // answer (an error before streaming) is its one element
  std::vector<std::string> event_types;  // each event's "event:" field ("" when absent)
  std::string raw;                       // every byte of the body as it came
  std::vector<double> arrival_ms;        // when each event arrived, from the request start
  std::string partial;                   // an unterminated trailing event (a failure)
  bool complete = false;                 // the HTTP response ended cleanly (final chunk read)
  // [DONE] was the last event, nothing unterminated followed it, and the response ended.
  bool done() const {
    return !events.empty() && events.back() == "[DONE]" && partial.empty() && complete;
  }
  std::string text() const;  // concatenated delta.content / text
};

// `aigw serve ARGS --listen 127.0.0.1:0 --admin-listen 127.0.0.1:0`: the kernel picks the
// ports and aigw reports them. Throws std::runtime_error with the log if aigw exits first or
// reports nothing within `timeout_ms`.
struct Served {
  std::unique_ptr<Process> process;
  ServePorts ports;
};
Served startServe(std::vector<std::string> args, std::map<std::string, std::string> env = {},
                  int timeout_ms = 20000);

class Gateway {
 public:
  // `config_yaml` is written to a file; the gateway is started with it.
  explicit Gateway(const std::string& config_yaml, std::map<std::string, std::string> env = {},
                   std::vector<std::string> extra_args = {});
  ~Gateway();

  int port() const { return port_; }
  int adminPort() const { return admin_port_; }
  const std::string& configPath() const { return config_path_; }
  const std::string& dir() const { return dir_; }
  Process& process() { return *process_; }

  HttpResult post(const std::string& path, const std::string& body,
                  httplib::Headers headers = {}) const;
  HttpResult get(const std::string& path) const;
  HttpResult admin(const std::string& path) const;
  // POSTs and reads the answer as SSE with the strict reader. Any stream that ends in an
  // unterminated event fails the current test case on the spot (and `done()` is false).
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
