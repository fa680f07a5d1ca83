// fake_provider: one loopback HTTP server that speaks several AI provider wire formats, chosen
// by request path, for the gateway's integration and e2e tests.
//
//   fake_provider --port 0 [--host 127.0.0.1] [--port-file PATH]
//
// Failure modes are chosen per request, by the request's "model" or by a path prefix
// "/scenario/<name>/..." (for gateway routes that fix the model):
//   fake-error-<status>  that status, with the dialect's error body (Retry-After: 7 on 429/503)
//   fake-garbage         200 with a body that is not JSON
//   fake-html-500        500 with an HTML page, as a misbehaving proxy in front would send
//   fake-slow-<ms>       waits before the headers
//   fake-stall           stream: 2 events, then silence (60 s at most, or until shutdown);
//                        non-stream: no headers for that long
//   fake-truncate        2 events (or half the body), then the connection is dropped
//   fake-clean-close     stream: every event but the end marker ([DONE], message_stop,
//                        done:true ...), then a proper end of the response (last chunk);
//                        non-stream: half the body, with a Content-Length that matches it
//   fake-stream-error-throttling, fake-stream-error-model
//                        stream: 2 events, then the provider's own in-stream error (Bedrock's
//                        throttlingException / modelStreamErrorException frames, Anthropic's
//                        error event), then a proper end of the response
//   fake-corrupt-frame   stream: the third event with one byte flipped in its middle (for
//                        Bedrock's binary frames, a message CRC that no longer matches)
//   fake-pace-<ms>       stream: a pause between events
//   fake-echo-key        401 whose message quotes the credential it received (as OpenAI's
//                        "Incorrect API key provided: ..." does)
// Failover faults (failoverbench's list; the pace and truncate ones are above):
//   fake-reset-headers   the connection is reset before any response byte
//   fake-stall-headers   no response at all (60 s at most, or until shutdown), stream or not
//   fake-garbage-sse     200 text/event-stream whose events are not JSON, stream or not
//   fake-empty-200       200 with an empty body (JSON, or an empty event stream)
//   fake-context-length, fake-content-filter
//                        OpenAI's 400s for a request that is itself bad (code
//                        context_length_exceeded / content_filter)
//   fake-pace-<ms> also trickles a non-streamed body, in 8 pieces
//   fake-html-echo-key   502 HTML page naming an internal host and quoting the credential
// Credentials are checked first, the way each provider checks them: a missing key, or one
// containing "wrong", gets the provider's own 401 (see each dialect).
// /svc/... is an ordinary (non-AI) service that echoes what it got (fake_service.cpp).
// Every request except /__fake/* and /svc/* is recorded; GET /__fake/requests, GET /__fake/last and
// DELETE /__fake/requests let tests see what the gateway actually sent. A streamed answer's
// record gets "stream": {"events_total", "events_written", "outcome"} once it has ended, the
// outcome being "complete", "truncated", "stalled", "clean close", "stream error",
// "peer closed" (the gateway hung up) or "shutdown".
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <condition_variable>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include <httplib.h>

#include "fake_common.hpp"

namespace aigw::fake {

namespace {

using namespace std::chrono_literals;

constexpr std::size_t kEventsBeforeFault = 2;
constexpr auto kStallLimit = 60s;
constexpr int kMaxDelayMs = 60'000;
constexpr int kMaxPaceMs = 10'000;

// Lets every deliberate wait end early on shutdown, so SIGTERM is never held up by a stall.
class Shutdown {
 public:
  // True if the whole duration passed; false if shutdown began meanwhile.
  bool waitFor(std::chrono::milliseconds d) {
    std::unique_lock lock(mutex_);
    return !cv_.wait_for(lock, d, [this] { return stopping_; });
  }
  void begin() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    cv_.notify_all();
  }
  bool stopping() {
    std::lock_guard lock(mutex_);
    return stopping_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  bool stopping_ = false;
};

Shutdown g_shutdown;

struct Scenario {
  enum class Kind {
    kNone,
    kError,
    kGarbage,
    kHtml500,
    kSlow,
    kStall,
    kTruncate,
    kCleanClose,
    kStreamErrorThrottling,
    kStreamErrorModel,
    kCorruptFrame,
    kPace,
    kEchoKey,
    kHtmlEchoKey,
    kResetHeaders,
    kStallHeaders,
    kGarbageSse,
    kEmpty200,
    kContextLength,
    kContentFilter
  };
  Kind kind = Kind::kNone;
  int value = 0;  // status for kError, milliseconds for kSlow and kPace
};

struct ScenarioName {
  std::string_view name;  // a prefix when `numeric`, else the whole name
  Scenario::Kind kind;
  bool numeric;
  int max_value;
};

constexpr ScenarioName kScenarioNames[] = {
    {"fake-error-", Scenario::Kind::kError, true, 599},
    {"fake-slow-", Scenario::Kind::kSlow, true, kMaxDelayMs},
    {"fake-pace-", Scenario::Kind::kPace, true, kMaxPaceMs},
    {"fake-garbage", Scenario::Kind::kGarbage, false, 0},
    {"fake-html-500", Scenario::Kind::kHtml500, false, 0},
    {"fake-stall", Scenario::Kind::kStall, false, 0},
    {"fake-truncate", Scenario::Kind::kTruncate, false, 0},
    {"fake-clean-close", Scenario::Kind::kCleanClose, false, 0},
    {"fake-stream-error-throttling", Scenario::Kind::kStreamErrorThrottling, false, 0},
    {"fake-stream-error-model", Scenario::Kind::kStreamErrorModel, false, 0},
    {"fake-corrupt-frame", Scenario::Kind::kCorruptFrame, false, 0},
    {"fake-echo-key", Scenario::Kind::kEchoKey, false, 0},
    {"fake-html-echo-key", Scenario::Kind::kHtmlEchoKey, false, 0},
    {"fake-reset-headers", Scenario::Kind::kResetHeaders, false, 0},
    {"fake-stall-headers", Scenario::Kind::kStallHeaders, false, 0},
    {"fake-garbage-sse", Scenario::Kind::kGarbageSse, false, 0},
    {"fake-empty-200", Scenario::Kind::kEmpty200, false, 0},
    {"fake-context-length", Scenario::Kind::kContextLength, false, 0},
    {"fake-content-filter", Scenario::Kind::kContentFilter, false, 0},
};

// The port this fake listens on (for resetConnection).
int g_port = 0;

// OpenAI's shape of a 400 about the request itself.
std::string requestErrorBody(const std::string& message, const char* param, const char* code) {
  return Json{
      {"error",
       {{"message", message}, {"type", "invalid_request_error"}, {"param", param}, {"code", code}}}}
      .dump();
}

// The credentials a request carried, wherever the provider's dialect puts them.
std::string receivedCredential(const httplib::Request& req) {
  std::string out;
  for (const char* h : {"Authorization", "api-key", "x-api-key", "x-goog-api-key"})
    if (req.has_header(h)) out += std::string(out.empty() ? "" : "; ") + req.get_header_value(h);
  if (req.has_param("key"))
    out += std::string(out.empty() ? "" : "; ") + req.get_param_value("key");
  return out.empty() ? "(none)" : out;
}

std::optional<Scenario> parseScenario(std::string_view name) {
  for (const auto& s : kScenarioNames) {
    if (!s.numeric) {
      if (name == s.name) return Scenario{s.kind, 0};
      continue;
    }
    if (name.substr(0, s.name.size()) != s.name) continue;
    const std::string_view digits = name.substr(s.name.size());
    int value = 0;
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
    if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size()) continue;
    if (s.kind == Scenario::Kind::kError && value < 100) continue;
    return Scenario{s.kind, std::min(value, s.max_value)};
  }
  return std::nullopt;
}

// "/scenario/<name>/rest" -> {"<name>", "/rest"}; any other path -> {"", path}.
std::pair<std::string, std::string> splitScenarioPrefix(const std::string& path) {
  constexpr std::string_view kPrefix = "/scenario/";
  if (path.rfind(kPrefix, 0) != 0) return {"", path};
  const std::size_t slash = path.find('/', kPrefix.size());
  if (slash == std::string::npos) return {path.substr(kPrefix.size()), "/"};
  return {path.substr(kPrefix.size(), slash - kPrefix.size()), path.substr(slash)};
}

const std::vector<Dialect>& dialects() {
  static const std::vector<Dialect> table = [] {
    std::vector<Dialect> all;
    for (auto&& more : {ollamaDialects(), openaiDialects(), geminiDialects(), anthropicDialects(),
                        cohereDialects(), bedrockDialects(), huggingfaceDialects()})
      all.insert(all.end(), more.begin(), more.end());
    return all;
  }();
  return table;
}

const Dialect* findDialect(const std::string& method, const std::string& path) {
  for (const auto& d : dialects())
    if (d.method == method && pathMatches(d.path, path)) return &d;
  return nullptr;
}

// The model named in the body, else in the path: Azure's deployment, Bedrock's
// /model/{modelId}/converse, Gemini's /models/{model}:verb. So scenarios can be chosen by
// model name for every provider.
std::string modelOf(const Json& body, const std::string& path) {
  if (body.is_object() && body.contains("model") && body["model"].is_string()) {
    return body["model"].get<std::string>();
  }
  constexpr std::string_view kDeployments = "/deployments/";
  if (const auto at = path.find(kDeployments); at != std::string::npos) {
    const std::size_t start = at + kDeployments.size();
    const std::size_t end = path.find('/', start);
    if (end != std::string::npos && end > start) return path.substr(start, end - start);
  }
  constexpr std::string_view kBedrock = "/model/";
  if (path.rfind(kBedrock, 0) == 0) {
    const std::size_t end = path.rfind('/');
    if (end > kBedrock.size()) return path.substr(kBedrock.size(), end - kBedrock.size());
  }
  constexpr std::string_view kGemini = "/models/";
  if (const auto at = path.rfind(kGemini); at != std::string::npos) {
    const std::size_t start = at + kGemini.size();
    const std::size_t colon = path.find(':', start);
    if (colon != std::string::npos && colon > start) return path.substr(start, colon - start);
  }
  return "fake-model";
}

class Recorder {
 public:
  // Records the request; returns its sequence number (for streamEnded).
  std::uint64_t add(const httplib::Request& req) {
    Json headers = Json::object();
    for (const auto& [name, value] : req.headers) {
      // httplib adds the peer's address as pseudo headers; they were never on the wire.
      if (name == "REMOTE_ADDR" || name == "REMOTE_PORT" || name == "LOCAL_ADDR" ||
          name == "LOCAL_PORT") {
        continue;
      }
      std::string lower = name;
      std::transform(lower.begin(), lower.end(), lower.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      if (headers.contains(lower)) {
        headers[lower] = headers[lower].get<std::string>() + ", " + value;
      } else {
        headers[lower] = value;
      }
    }
    const std::size_t q = req.target.find('?');
    Json entry = {{"method", req.method},
                  {"path", req.path},
                  {"query", q == std::string::npos ? "" : req.target.substr(q + 1)},
                  {"headers", std::move(headers)},
                  {"body", req.body},
                  {"json", Json::parse(req.body, nullptr, false)}};
    if (entry["json"].is_discarded()) entry["json"] = nullptr;
    std::lock_guard lock(mutex_);
    entry["seq"] = ++seq_;
    requests_.push_back(std::move(entry));
    return seq_;
  }
  void streamEnded(std::uint64_t seq, std::size_t total, std::size_t written, const char* outcome) {
    std::lock_guard lock(mutex_);
    for (auto& entry : requests_)
      if (entry["seq"] == seq)
        entry["stream"] = {
            {"events_total", total}, {"events_written", written}, {"outcome", outcome}};
  }
  Json all() {
    std::lock_guard lock(mutex_);
    return requests_;
  }
  std::optional<Json> last() {
    std::lock_guard lock(mutex_);
    if (requests_.empty()) return std::nullopt;
    return requests_.back();
  }
  void clear() {
    std::lock_guard lock(mutex_);
    requests_ = Json::array();
  }

 private:
  std::mutex mutex_;
  Json requests_ = Json::array();
  std::uint64_t seq_ = 0;
};

Recorder g_recorder;

void sendError(httplib::Response& res, const Dialect* dialect, int status,
               const std::string& message,
               const std::vector<std::pair<std::string, std::string>>* headers_instead = nullptr) {
  res.status = status;
  if (headers_instead && !headers_instead->empty()) {
    for (const auto& [name, value] : *headers_instead) res.set_header(name.c_str(), value);
  } else if (dialect && dialect->error_headers) {
    std::vector<std::pair<std::string, std::string>> headers;
    dialect->error_headers(status, headers);
    for (const auto& [name, value] : headers) res.set_header(name.c_str(), value);
  }
  const auto body =
      dialect ? dialect->error_body(status, message) : openaiErrorBody(status, message);
  res.set_content(body, "application/json");
}

void sendNonStream(Reply reply, const Scenario& scenario, httplib::Response& res) {
  if (scenario.kind == Scenario::Kind::kStall) g_shutdown.waitFor(kStallLimit);
  res.status = reply.status;
  if (scenario.kind == Scenario::Kind::kCleanClose) {
    res.set_content(reply.body.substr(0, reply.body.size() / 2), reply.content_type);
    return;
  }
  if (scenario.kind == Scenario::Kind::kPace) {
    // A slow trickle: the body in 8 pieces with the pause between them.
    auto body = std::make_shared<std::string>(std::move(reply.body));
    const int pause = scenario.value;
    res.set_content_provider(
        body->size(), reply.content_type,
        [body, pause](std::size_t offset, std::size_t, httplib::DataSink& sink) {
          const std::size_t piece = std::max<std::size_t>(1, body->size() / 8);
          if (offset > 0 && !g_shutdown.waitFor(std::chrono::milliseconds(pause))) return false;
          const std::size_t n = std::min(piece, body->size() - offset);
          return sink.write(body->data() + offset, n);
        });
    return;
  }
  if (scenario.kind != Scenario::Kind::kTruncate) {
    res.set_content(reply.body, reply.content_type);
    return;
  }
  // Content-Length promises the whole body; returning false after half drops the connection.
  auto body = std::make_shared<std::string>(std::move(reply.body));
  res.set_content_provider(body->size(), reply.content_type,
                           [body](std::size_t, std::size_t, httplib::DataSink& sink) {
                             sink.write(body->data(), body->size() / 2);
                             return false;
                           });
}

void sendStream(Reply reply, const Scenario& scenario, const Dialect& dialect, std::uint64_t seq,
                httplib::Response& res) {
  using Kind = Scenario::Kind;
  res.status = reply.status;
  res.set_header("Cache-Control", "no-cache");
  auto events = std::make_shared<std::vector<std::string>>(std::move(reply.events));
  std::size_t send = events->size();
  if (scenario.kind == Kind::kCleanClose) send -= std::min(reply.end_events, send);
  std::string stream_error;
  if (scenario.kind == Kind::kStreamErrorThrottling || scenario.kind == Kind::kStreamErrorModel) {
    const bool throttling = scenario.kind == Kind::kStreamErrorThrottling;
    stream_error = dialect.stream_error(
        throttling ? "throttling" : "model",
        throttling ? "fake throttling mid-stream" : "fake model error mid-stream");
    send = std::min(send, kEventsBeforeFault);
  }
  const std::size_t total = events->size();
  // Returning false from the provider makes httplib close the socket without the final
  // chunk: exactly what a dropped upstream looks like to the gateway. sink.done() ends the
  // response properly, whatever was left out.
  res.set_chunked_content_provider(reply.content_type, [events, scenario, send, total, seq,
                                                        stream_error](std::size_t,
                                                                      httplib::DataSink& sink) {
    auto ended = [&](std::size_t written, const char* outcome) {
      g_recorder.streamEnded(seq, total, written, outcome);
    };
    for (std::size_t i = 0; i < send; ++i) {
      if (i == kEventsBeforeFault) {
        if (scenario.kind == Scenario::Kind::kTruncate) {
          ended(i, "truncated");
          return false;
        }
        if (scenario.kind == Scenario::Kind::kStall) {
          g_shutdown.waitFor(kStallLimit);
          ended(i, "stalled");
          return false;
        }
      }
      if (i > 0 && scenario.kind == Scenario::Kind::kPace &&
          !g_shutdown.waitFor(std::chrono::milliseconds(scenario.value))) {
        ended(i, "shutdown");
        return false;
      }
      std::string event = (*events)[i];
      if (i == kEventsBeforeFault && scenario.kind == Scenario::Kind::kCorruptFrame)
        event[event.size() / 2] ^= 0x01;
      if (!sink.write(event.data(), event.size())) {
        ended(i, "peer closed");
        return false;
      }
    }
    if (!stream_error.empty() && !sink.write(stream_error.data(), stream_error.size())) {
      ended(send, "peer closed");
      return false;
    }
    // Recorded before the last chunk goes out, so a client that has seen the end of the
    // response always finds the outcome recorded.
    ended(send, !stream_error.empty() ? "stream error" : send < total ? "clean close" : "complete");
    sink.done();
    return true;
  });
}

void serve(const httplib::Request& req, httplib::Response& res) {
  const std::uint64_t seq = g_recorder.add(req);
  res.set_header("x-request-id", newId("req_fake"));
  const auto [scenario_name, path] = splitScenarioPrefix(req.path);
  const Dialect* dialect = findDialect(req.method, path);
  if (!dialect) {
    sendError(res, nullptr, 404, "fake_provider has no endpoint " + req.method + " " + req.path);
    return;
  }

  Call call;
  call.path = path;
  if (const auto q = req.target.find('?'); q != std::string::npos)
    call.query = req.target.substr(q + 1);
  for (const auto& [name, value] : req.headers) {
    std::string lower = name;
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    call.headers.emplace_back(std::move(lower), value);
  }
  // The provider refuses a bad key before it looks at anything else.
  if (dialect->check_auth) {
    if (auto failure = dialect->check_auth(call)) {
      sendError(res, dialect, failure->status, failure->message, &failure->headers);
      return;
    }
  }
  call.body = Json::parse(req.body, nullptr, false);
  if (call.body.is_discarded()) call.body = nullptr;
  if (req.method == "POST" && !call.body.is_object()) {
    sendError(res, dialect, 400, "fake_provider: the request body is not a JSON object");
    return;
  }
  if (!call.body.is_object()) call.body = Json::object();
  call.model = modelOf(call.body, path);

  const Scenario scenario =
      parseScenario(scenario_name).value_or(parseScenario(call.model).value_or(Scenario{}));
  using Kind = Scenario::Kind;
  if (scenario.kind == Kind::kSlow &&
      !g_shutdown.waitFor(std::chrono::milliseconds(scenario.value))) {
    sendError(res, dialect, 503, "fake_provider is shutting down");
    return;
  }
  switch (scenario.kind) {
    case Kind::kError:
      if (scenario.value == 429 || scenario.value == 503) res.set_header("Retry-After", "7");
      sendError(res, dialect, scenario.value,
                "fake upstream error " + std::to_string(scenario.value));
      return;
    case Kind::kGarbage:
      res.set_content("this is not json", "application/json");
      return;
    case Kind::kHtml500:
      res.status = 500;
      res.set_content("<html><body><h1>500 Internal Server Error</h1></body></html>", "text/html");
      return;
    case Kind::kEchoKey:
      sendError(res, dialect, 401,
                "Incorrect API key provided: " + receivedCredential(req) +
                    ". You can find your API key at https://platform.example/account/api-keys.");
      return;
    case Kind::kResetHeaders:
      if (!resetConnection(g_port, req.remote_port))
        sendError(res, dialect, 500, "fake_provider: could not find the connection to reset");
      return;
    case Kind::kStallHeaders:
      g_shutdown.waitFor(kStallLimit);
      sendError(res, dialect, 503, "fake_provider stalled");
      return;
    case Kind::kGarbageSse:
      res.set_content(garbageSseBody(), "text/event-stream");
      return;
    case Kind::kEmpty200:
      res.set_content("", wantsStream(call.body, false) ? "text/event-stream" : "application/json");
      return;
    case Kind::kContextLength:
      res.status = 400;
      res.set_content(
          requestErrorBody(contextLengthMessage(), "messages", "context_length_exceeded"),
          "application/json");
      return;
    case Kind::kContentFilter:
      res.status = 400;
      res.set_content(requestErrorBody(contentFilterMessage(), "prompt", "content_filter"),
                      "application/json");
      return;
    case Kind::kHtmlEchoKey:
      res.status = 502;
      res.set_content(
          "<html><body><h1>502 Bad Gateway</h1><p>upstream lb-7.internal.corp:8443 "
          "refused request with credential " +
              receivedCredential(req) + "</p></body></html>",
          "text/html");
      return;
    default:
      break;
  }

  if ((scenario.kind == Kind::kStreamErrorThrottling || scenario.kind == Kind::kStreamErrorModel) &&
      !dialect->stream_error) {
    sendError(res, dialect, 400,
              "fake_provider: " + std::string(dialect->name) + " has no in-stream error event");
    return;
  }
  Reply reply = dialect->handle(call);
  if (reply.streaming) {
    sendStream(std::move(reply), scenario, *dialect, seq, res);
  } else {
    sendNonStream(std::move(reply), scenario, res);
  }
}

}  // namespace

void registerOrdinaryService(httplib::Server& svr);

namespace {

void registerRoutes(httplib::Server& svr) {
  // Control endpoints first: httplib dispatches to the first matching pattern.
  svr.Get("/__fake/requests", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(g_recorder.all().dump(), "application/json");
  });
  svr.Get("/__fake/last", [](const httplib::Request&, httplib::Response& res) {
    if (auto last = g_recorder.last()) {
      res.set_content(last->dump(), "application/json");
    } else {
      sendError(res, nullptr, 404, "no request recorded");
    }
  });
  svr.Delete("/__fake/requests", [](const httplib::Request&, httplib::Response& res) {
    g_recorder.clear();
    res.status = 204;
  });
  registerOrdinaryService(svr);  // /svc/..., see fake_service.cpp
  svr.Get(".*", serve);
  svr.Post(".*", serve);
  svr.Put(".*", serve);
  svr.Patch(".*", serve);
  svr.Delete(".*", serve);

  svr.set_exception_handler(
      [](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
        std::string what = "unknown exception";
        try {
          std::rethrow_exception(ep);
        } catch (const std::exception& e) {
          what = e.what();
        } catch (...) {
        }
        sendError(res, nullptr, 500, "fake_provider bug: " + what);
      });
  svr.set_logger([](const httplib::Request& req, const httplib::Response& res) {
    std::fprintf(stderr, "fake_provider: %s %s -> %d\n", req.method.c_str(), req.target.c_str(),
                 res.status);
  });
}

struct Options {
  std::string host = "127.0.0.1";
  int port = 0;
  std::string port_file;
};

int usage(const char* argv0) {
  std::fprintf(stderr, "usage: %s --port N [--host ADDR] [--port-file PATH]\n", argv0);
  return 2;
}

std::optional<Options> parseArgs(int argc, char** argv) {
  Options opts;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (i + 1 >= argc) return std::nullopt;
    const std::string value = argv[++i];
    if (arg == "--host") {
      opts.host = value;
    } else if (arg == "--port-file") {
      opts.port_file = value;
    } else if (arg == "--port") {
      const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), opts.port);
      if (ec != std::errc() || end != value.data() + value.size() || opts.port < 0 ||
          opts.port > 65535) {
        return std::nullopt;
      }
    } else {
      return std::nullopt;
    }
  }
  return opts;
}

// Readers poll for the file, so it must never be seen half written.
bool writePortFile(const std::string& path, int port) {
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << port << "\n";
    if (!out.flush()) return false;
  }
  return std::rename(tmp.c_str(), path.c_str()) == 0;
}

}  // namespace

int run(int argc, char** argv) {
  const auto opts = parseArgs(argc, argv);
  if (!opts) return usage(argv[0]);

  // Signals are taken by one thread with sigwait, so the handler may call svr.stop() (not
  // async-signal-safe). The mask must be set before any thread exists to be inherited.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  httplib::Server svr;
  svr.new_task_queue = [] { return new httplib::ThreadPool(64); };
  svr.set_tcp_nodelay(true);
  // httplib's default of 5 requests per connection would make the gateway's pool churn.
  svr.set_keep_alive_max_count(1000);
  registerRoutes(svr);

  int port = opts->port;
  if (port == 0) {
    port = svr.bind_to_any_port(opts->host);
  } else if (!svr.bind_to_port(opts->host, port)) {
    port = -1;
  }
  if (port <= 0) {
    std::fprintf(stderr, "fake_provider: cannot listen on %s:%d\n", opts->host.c_str(), opts->port);
    return 1;
  }
  g_port = port;
  if (!opts->port_file.empty() && !writePortFile(opts->port_file, port)) {
    std::fprintf(stderr, "fake_provider: cannot write %s\n", opts->port_file.c_str());
    return 1;
  }
  std::cout << "listening on " << opts->host << ":" << port << std::endl;

  std::mutex done_mutex;
  std::condition_variable done_cv;
  bool done = false;
  std::thread signal_thread([&] {
    int sig = 0;
    sigwait(&stop_signals, &sig);
    g_shutdown.begin();
    std::unique_lock lock(done_mutex);
    // stop() is a no-op until listening has begun, and must not be called twice.
    bool stopped = false;
    const auto deadline = std::chrono::steady_clock::now() + 3s;
    while (!done) {
      if (!stopped && svr.is_running()) {
        svr.stop();
        stopped = true;
      }
      // Idle keep-alive connections can hold httplib's workers for its keep-alive timeout;
      // nothing here needs flushing, so a bounded exit beats a slow one.
      if (std::chrono::steady_clock::now() > deadline) std::_Exit(0);
      done_cv.wait_for(lock, 20ms);
    }
  });

  const bool ok = svr.listen_after_bind();
  {
    std::lock_guard lock(done_mutex);
    done = true;
  }
  done_cv.notify_all();
  if (!g_shutdown.stopping()) {
    std::fprintf(stderr, "fake_provider: server stopped unexpectedly\n");
    signal_thread.detach();
    return 1;
  }
  signal_thread.join();
  return ok ? 0 : 1;
}

}  // namespace aigw::fake

int main(int argc, char** argv) {
  return aigw::fake::run(argc, argv);
}
