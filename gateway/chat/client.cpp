#include "chat/client.hpp"

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include <httplib.h>

namespace aigw::chat {

using Json = nlohmann::json;

void SseParser::feed(std::string_view bytes,
                     const std::function<void(const std::string&)>& on_data) {
  pending_.append(bytes);
  std::size_t start = 0;
  while (true) {
    const std::size_t end = pending_.find_first_of("\r\n", start);
    if (end == std::string::npos) break;
    // "\r\n" is one line end; a lone "\r" at the end of the buffer may be half of one.
    if (pending_[end] == '\r' && end + 1 == pending_.size()) break;
    line(std::string_view(pending_).substr(start, end - start), on_data);
    start = end + 1;
    if (pending_[end] == '\r' && start < pending_.size() && pending_[start] == '\n') ++start;
  }
  pending_.erase(0, start);
}

void SseParser::line(std::string_view text,
                     const std::function<void(const std::string&)>& on_data) {
  if (text.empty()) {
    if (has_data_) on_data(data_);
    data_.clear();
    has_data_ = false;
    return;
  }
  if (text.substr(0, 5) != "data:") return;  // comments, event:, id:, retry:
  text.remove_prefix(5);
  if (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  if (has_data_) data_ += '\n';
  data_.append(text);
  has_data_ = true;
}

std::optional<Endpoint> parseUrl(std::string_view url) {
  for (std::string_view scheme : {"http://", "https://"}) {
    if (url.substr(0, scheme.size()) != scheme) continue;
    const std::size_t slash = url.find('/', scheme.size());
    Endpoint e;
    e.base = std::string(url.substr(0, slash));
    e.path = slash == std::string_view::npos ? "/" : std::string(url.substr(slash));
    if (e.base.size() == scheme.size()) return std::nullopt;
    return e;
  }
  return std::nullopt;
}

std::string errorMessage(std::string_view body) {
  const Json j = Json::parse(body, nullptr, false);
  if (j.is_object()) {
    if (j.contains("error") && j["error"].is_object() && j["error"].contains("message") &&
        j["error"]["message"].is_string())
      return j["error"]["message"].get<std::string>();
    if (j.contains("error") && j["error"].is_string()) return j["error"].get<std::string>();
    if (j.contains("message") && j["message"].is_string()) return j["message"].get<std::string>();
  }
  std::string text(body.substr(0, 300));
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  return text.empty() ? "(empty body)" : text;
}

namespace {

using Clock = std::chrono::steady_clock;

double msSince(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

void takeUsage(const Json& j, Reply& r) {
  if (!j.contains("usage") || !j["usage"].is_object()) return;
  const Json& u = j["usage"];
  if (u.contains("prompt_tokens") && u["prompt_tokens"].is_number())
    r.prompt_tokens = u["prompt_tokens"].get<long long>();
  if (u.contains("completion_tokens") && u["completion_tokens"].is_number())
    r.completion_tokens = u["completion_tokens"].get<long long>();
}

// Stops an in-flight request from another thread when the cancel flag goes up: the read
// blocked in the socket would otherwise only notice with the next byte.
class CancelWatch {
 public:
  CancelWatch(httplib::Client& cli, const std::atomic<bool>* cancel) {
    if (!cancel) return;
    thread_ = std::thread([this, &cli, cancel] {
      std::unique_lock lock(mu_);
      while (!done_) {
        // Re-checked every 20 ms: the flag is set by a signal handler, which cannot notify.
        cv_.wait_for(lock, std::chrono::milliseconds(20));
        if (!done_ && cancel->load()) cli.stop();
      }
    });
  }
  ~CancelWatch() {
    {
      std::lock_guard lock(mu_);
      done_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
  std::thread thread_;
};

}  // namespace

Reply complete(const Endpoint& endpoint, Json body, const CallOptions& options,
               const std::function<void(std::string_view)>& on_token,
               const std::atomic<bool>* cancel) {
  Reply reply;
  body["stream"] = options.stream;
  if (options.stream)
    body["stream_options"] = {{"include_usage", true}};
  else
    body.erase("stream_options");

  httplib::Client cli(endpoint.base);
  cli.set_connection_timeout(options.connect_timeout_s, 0);
  cli.set_read_timeout(options.read_timeout_s, 0);
  cli.set_write_timeout(30, 0);

  httplib::Request req;
  req.method = "POST";
  req.path = endpoint.path;
  req.body = body.dump();
  req.set_header("Content-Type", "application/json");
  req.set_header("Accept", options.stream ? "text/event-stream" : "application/json");
  // Both places key-auth looks by default (apikey) and where OpenAI clients put it.
  if (!options.api_key.empty()) {
    req.set_header("apikey", options.api_key);
    req.set_header("Authorization", "Bearer " + options.api_key);
  }

  const auto t0 = Clock::now();
  bool sse = false;
  std::string header_model;
  bool done = false;
  bool error_event = false;
  std::string raw;  // a non-SSE body: the JSON answer or an error
  SseParser parser;
  auto token = [&](const std::string& piece) {
    if (piece.empty()) return;
    if (reply.first_token_ms < 0) reply.first_token_ms = msSince(t0);
    reply.content += piece;
    if (on_token) on_token(piece);
  };
  auto on_event = [&](const std::string& data) {
    if (data == "[DONE]") {
      done = true;
      return;
    }
    const Json j = Json::parse(data, nullptr, false);
    if (!j.is_object()) return;
    if (j.contains("error")) {
      error_event = true;
      reply.error = errorMessage(data);
      return;
    }
    if (j.contains("model") && j["model"].is_string()) reply.model = j["model"].get<std::string>();
    takeUsage(j, reply);
    if (!j.contains("choices") || !j["choices"].is_array() || j["choices"].empty()) return;
    const Json& c = j["choices"][0];
    if (c.contains("delta") && c["delta"].is_object() && c["delta"].contains("content") &&
        c["delta"]["content"].is_string())
      token(c["delta"]["content"].get<std::string>());
  };
  req.response_handler = [&](const httplib::Response& res) {
    reply.status = res.status;
    sse = res.status / 100 == 2 &&
          res.get_header_value("Content-Type").find("text/event-stream") != std::string::npos;
    // The gateway names provider/model here; the body's "model" wins when there is one.
    const std::string header = res.get_header_value("X-Kong-LLM-Model");
    if (!header.empty()) header_model = header.substr(header.find('/') + 1);
    return !(cancel && cancel->load());
  };
  req.content_receiver = [&](const char* data, std::size_t n, std::uint64_t, std::uint64_t) {
    if (cancel && cancel->load()) return false;
    if (sse)
      parser.feed(std::string_view(data, n), on_event);
    else
      raw.append(data, n);
    return !error_event;
  };

  httplib::Response res;
  httplib::Error err = httplib::Error::Success;
  bool sent = false;
  {
    CancelWatch watch(cli, cancel);
    sent = cli.send(req, res, err);
  }
  reply.total_ms = msSince(t0);
  if (reply.model.empty()) reply.model = header_model;

  if (cancel && cancel->load()) {
    reply.outcome = Reply::Outcome::kCancelled;
    return reply;
  }
  reply.outcome = Reply::Outcome::kError;
  if (error_event) return reply;
  if (!sent && reply.status == 0) {
    reply.error = "cannot reach the gateway at " + endpoint.url() + " (" + httplib::to_string(err) +
                  "); is it running? Start one with `aigw quickstart`, or pass --url";
    return reply;
  }
  if (reply.status / 100 != 2) {
    reply.error = "HTTP " + std::to_string(reply.status) + ": " + errorMessage(raw);
    return reply;
  }
  if (sse) {
    if (!done) {
      reply.error = sent ? "the stream ended before the answer was complete (no [DONE])"
                         : "the stream broke off (" + httplib::to_string(err) + ")";
      return reply;
    }
    reply.outcome = Reply::Outcome::kOk;
    return reply;
  }
  // Not a stream: the whole answer at once (also when the route never streams).
  const Json j = Json::parse(raw, nullptr, false);
  if (!j.is_object() || !j.contains("choices") || !j["choices"].is_array() ||
      j["choices"].empty()) {
    reply.error = "the gateway's answer is not a chat completion: " + errorMessage(raw);
    return reply;
  }
  if (j.contains("model") && j["model"].is_string()) reply.model = j["model"].get<std::string>();
  takeUsage(j, reply);
  const Json& message = j["choices"][0].value("message", Json::object());
  if (message.is_object() && message.contains("content") && message["content"].is_string())
    token(message["content"].get<std::string>());
  reply.outcome = Reply::Outcome::kOk;
  return reply;
}

}  // namespace aigw::chat
