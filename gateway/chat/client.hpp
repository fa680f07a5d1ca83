// The HTTP side of `aigw chat`: one OpenAI-shaped chat call to a gateway route, streamed (SSE)
// or not, with tokens handed to a callback as they arrive and a cancel flag that aborts the
// request mid-stream.
// Thread-safety: complete() is reentrant; `cancel` may be set from any thread or a signal
// handler.
#pragma once

#include <atomic>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace aigw::chat {

// Splits server-sent events into their data payloads (several data: lines are joined with
// "\n"); bytes may arrive in any pieces.
class SseParser {
 public:
  void feed(std::string_view bytes, const std::function<void(const std::string&)>& on_data);

 private:
  void line(std::string_view text, const std::function<void(const std::string&)>& on_data);
  std::string pending_;
  std::string data_;
  bool has_data_ = false;
};

struct Endpoint {
  std::string base;  // scheme://host[:port]
  std::string path;  // /path[?query]
  std::string url() const { return base + path; }
};
// "http(s)://host[:port][/path]"; nullopt for anything else.
std::optional<Endpoint> parseUrl(std::string_view url);

struct Reply {
  enum class Outcome { kOk, kCancelled, kError };
  Outcome outcome = Outcome::kOk;
  std::string content;  // the answer; partial when cancelled or broken
  std::string model;
  std::optional<long long> prompt_tokens, completion_tokens;
  std::string error;  // the gateway's message, or what went wrong on the way
  int status = 0;     // HTTP status; 0 when nothing came back
  double first_token_ms = -1;
  double total_ms = 0;
};

struct CallOptions {
  bool stream = true;
  std::string api_key;  // sent as apikey and Authorization: Bearer (key-auth)
  int connect_timeout_s = 5;
  int read_timeout_s = 300;
};

// POSTs `body` (an OpenAI chat request; "stream" and stream_options are set here) and returns
// the answer. `on_token` sees each piece of content as it arrives (the whole answer at once
// without streaming).
Reply complete(const Endpoint& endpoint, nlohmann::json body, const CallOptions& options,
               const std::function<void(std::string_view)>& on_token,
               const std::atomic<bool>* cancel = nullptr);

// The message of an OpenAI-shaped ({"error":{"message"}}) or Kong-shaped ({"message"}) error
// body; the body itself (shortened) when it is neither.
std::string errorMessage(std::string_view body);

}  // namespace aigw::chat
