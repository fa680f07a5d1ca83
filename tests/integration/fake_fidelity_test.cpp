// The harness's own strictness and the fakes' fidelity: the strict SSE reader, the ports aigw
// reports, reserved ports, and fake_provider speaking each provider's wire the way the real
// API does (credentials checked, exact endpoint paths, Gemini's alt=sse, Bedrock's padded
// frames and exception frames, a clean close before the end marker). A gateway test is only
// as good as these.
#include <doctest/doctest.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "integration/gateway_harness.hpp"

using namespace aigw::test;
using Json = nlohmann::json;

namespace {

FakeProvider& fake() {
  static FakeProvider instance(FAKE_PROVIDER_BINARY);
  return instance;
}

struct Answer {
  int status = 0;
  std::string body;
  std::string content_type;
  httplib::Headers headers;
  bool complete = false;  // the response ended properly (no dropped connection)
};

Answer post(const std::string& path, const Json& body, const httplib::Headers& headers) {
  httplib::Client client(fake().baseUrl());
  client.set_read_timeout(10);
  Answer out;
  httplib::Request req;
  req.method = "POST";
  req.path = path;
  req.headers = headers;
  req.headers.emplace("Content-Type", "application/json");
  req.body = body.dump();
  req.response_handler = [&](const httplib::Response& r) {
    out.status = r.status;
    out.content_type = r.get_header_value("Content-Type");
    out.headers = r.headers;
    return true;
  };
  req.content_receiver = [&](const char* data, size_t len, uint64_t, uint64_t) {
    out.body.append(data, len);
    return true;
  };
  httplib::Response res;
  httplib::Error err = httplib::Error::Success;
  out.complete = client.send(req, res, err) && err == httplib::Error::Success;
  return out;
}

Json chat(bool stream = false, const std::string& model = "m") {
  return {{"model", model},
          {"max_tokens", 50},
          {"stream", stream},
          {"messages", {{{"role", "user"}, {"content", "one two three"}}}}};
}

const httplib::Headers kBearer = {{"Authorization", "Bearer good-key"}};
const httplib::Headers kAnthropic = {{"x-api-key", "good-key"},
                                     {"anthropic-version", "2023-06-01"}};
const httplib::Headers kSigV4 = {
    {"Authorization",
     "AWS4-HMAC-SHA256 Credential=AKIDGOOD/20250101/us-east-1/bedrock/aws4_request, "
     "SignedHeaders=host;x-amz-date, Signature=00"},
    {"X-Amz-Date", "20250101T000000Z"}};

const Json kBedrockChat = {{"messages", {{{"role", "user"}, {"content", {{{"text", "a b"}}}}}}}};
const Json kGeminiChat = {{"contents", {{{"role", "user"}, {"parts", {{{"text", "a b"}}}}}}}};

// A decoded AWS event stream message: its string headers and payload.
struct Frame {
  std::map<std::string, std::string> headers;
  std::string payload;
};

std::uint32_t u32(const std::string& s, std::size_t at) {
  return (std::uint32_t(std::uint8_t(s[at])) << 24) |
         (std::uint32_t(std::uint8_t(s[at + 1])) << 16) |
         (std::uint32_t(std::uint8_t(s[at + 2])) << 8) | std::uint32_t(std::uint8_t(s[at + 3]));
}

std::vector<Frame> frames(const std::string& bytes) {
  std::vector<Frame> out;
  for (std::size_t at = 0; at + 16 <= bytes.size();) {
    const std::uint32_t total = u32(bytes, at), headers_len = u32(bytes, at + 4);
    REQUIRE(at + total <= bytes.size());
    Frame f;
    for (std::size_t h = at + 12; h < at + 12 + headers_len;) {
      const std::size_t name_len = std::uint8_t(bytes[h]);
      const std::string name = bytes.substr(h + 1, name_len);
      REQUIRE(bytes[h + 1 + name_len] == 7);  // string
      const std::size_t value_len =
          (std::uint8_t(bytes[h + 2 + name_len]) << 8) | std::uint8_t(bytes[h + 3 + name_len]);
      f.headers[name] = bytes.substr(h + 4 + name_len, value_len);
      h += 4 + name_len + value_len;
    }
    f.payload = bytes.substr(at + 12 + headers_len, total - 16 - headers_len);
    out.push_back(std::move(f));
    at += total;
  }
  return out;
}

}  // namespace

TEST_SUITE("harness") {
  TEST_CASE("the SSE reader dispatches an event only at a blank line") {
    CHECK(parseSse("data: a\n\ndata: b\n\n").data == std::vector<std::string>{"a", "b"});
    CHECK(parseSse("data: a\r\n\r\ndata:b\r\rdata: c\n\n").data ==
          std::vector<std::string>{"a", "b", "c"});
    const SseParse multi = parseSse(": comment\nevent: delta\ndata: x\ndata: y\nid: 1\n\n\n");
    CHECK(multi.data == std::vector<std::string>{"x\ny"});
    CHECK(multi.event_type == std::vector<std::string>{"delta"});
    CHECK(multi.partial.empty());
    // An event without data dispatches nothing.
    CHECK(parseSse("event: ping\n\n").data.empty());
    // Unterminated: the last event is not dispatched, and is kept as the partial rest.
    const SseParse cut = parseSse("data: a\n\ndata: [DONE]");
    CHECK(cut.data == std::vector<std::string>{"a"});
    CHECK(cut.partial == "data: [DONE]");
    CHECK(parseSse("data: a\n\ndata: [DONE]\n").partial == "data: [DONE]\n");
    // A CR split from its LF across reads is still one line end.
    SseReader reader;
    CHECK(reader.feed("data: a\r") == 0);
    CHECK(reader.feed("\n\r\n") == 1);
    CHECK(reader.finish().partial.empty());
  }

  TEST_CASE("aigw serve's start line gives its ports") {
    const auto ports = parseServePorts(
        "aigw: notice: x\naigw 0.1.0: proxy on 127.0.0.1:41234, admin on 127.0.0.1:41235 (3 "
        "routes)\n");
    REQUIRE(ports);
    CHECK(ports->proxy == 41234);
    CHECK(ports->admin == 41235);
    CHECK_FALSE(parseServePorts("aigw: cannot listen on 127.0.0.1:80").has_value());
  }

  TEST_CASE("a gateway that cannot start is reported at once, with its log") {
    const std::string dir = tempDir();
    writeFile(dir + "/bad.yaml",
              "_format_version: \"3.0\"\nroutes: [{name: x, plugins: [{name: nope}]}]\n");
    const auto start = std::chrono::steady_clock::now();
    // A bad config exits at once; the wait ends with the process, not at its deadline.
    CHECK_THROWS_WITH_AS(
        startServe({"-c", dir + "/bad.yaml", "--data-dir", dir + "/data"}, {}, 60000),
        doctest::Contains("exited before listening"), std::runtime_error);
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(30));
    removeTempDir(dir);
  }

  TEST_CASE("a reserved port refuses connections, yet a server told to use it can bind it") {
    const ReservedPort reserved;
    CHECK_FALSE(waitForPort(reserved.port(), 50));
    Process server({FAKE_PROVIDER_BINARY, "--port", std::to_string(reserved.port())});
    CHECK(waitForPort(reserved.port(), 20000, &server));
    CHECK(server.log().find("listening on 127.0.0.1:" + std::to_string(reserved.port())) !=
          std::string::npos);
  }
}

TEST_SUITE("fake_provider fidelity") {
  TEST_CASE("credentials are checked the way each provider checks them") {
    // OpenAI (and Azure's api-key): 401 with OpenAI's error object.
    Answer a = post("/v1/chat/completions", chat(), {});
    CHECK(a.status == 401);
    CHECK(Json::parse(a.body)["error"]["code"] == "invalid_api_key");
    CHECK(Json::parse(a.body)["error"]["message"].get<std::string>().find("didn't provide") !=
          std::string::npos);
    a = post("/v1/chat/completions", chat(), {{"Authorization", "Bearer sk-wrong"}});
    CHECK(a.status == 401);
    CHECK(Json::parse(a.body)["error"]["message"].get<std::string>().find("Incorrect API key") !=
          std::string::npos);
    CHECK(post("/v1/chat/completions", chat(), {{"Authorization", "sk-no-bearer"}}).status == 401);
    CHECK(post("/openai/deployments/d/chat/completions", chat(), {{"api-key", "k"}}).status == 200);
    CHECK(post("/v1/chat/completions", chat(), kBearer).status == 200);

    // Anthropic: x-api-key (a Bearer header is not it), and anthropic-version.
    a = post("/v1/messages", chat(), kBearer);
    CHECK(a.status == 401);
    CHECK(Json::parse(a.body) ==
          Json::parse(R"({"type":"error","error":{"type":"authentication_error",
                          "message":"x-api-key header is required"}})"));
    a = post("/v1/messages", chat(), {{"x-api-key", "k"}});
    CHECK(a.status == 400);
    CHECK(Json::parse(a.body)["error"]["type"] == "invalid_request_error");
    CHECK(post("/v1/messages", chat(), kAnthropic).status == 200);

    // Gemini: a key in x-goog-api-key or ?key=, or an OAuth bearer token.
    const std::string gemini = "/v1beta/models/gemini-2.0-flash:generateContent";
    a = post(gemini, kGeminiChat, {});
    CHECK(a.status == 403);
    CHECK(Json::parse(a.body)["error"]["status"] == "PERMISSION_DENIED");
    a = post(gemini + "?key=wrong-key", kGeminiChat, {});
    CHECK(a.status == 400);
    CHECK(Json::parse(a.body)["error"]["message"] ==
          "API key not valid. Please pass a valid API key.");
    CHECK(post(gemini + "?key=k", kGeminiChat, {}).status == 200);
    CHECK(post(gemini, kGeminiChat, {{"x-goog-api-key", "k"}}).status == 200);
    CHECK(post(gemini, kGeminiChat, {{"Authorization", "Bearer wrong-token"}}).status == 401);

    // Cohere: Bearer.
    a = post("/v2/chat", chat(), {});
    CHECK(a.status == 401);
    CHECK(Json::parse(a.body)["message"] == "no api key supplied");
    CHECK(post("/v2/chat", chat(), kBearer).status == 200);

    // Bedrock: a SigV4 Authorization with X-Amz-Date; AWS answers 403 and names the exception.
    a = post("/model/m/converse", kBedrockChat, {});
    CHECK(a.status == 403);
    CHECK(Json::parse(a.body)["message"] == "Missing Authentication Token");
    CHECK(a.headers.find("x-amzn-ErrorType")
              ->second.rfind("MissingAuthenticationTokenException:", 0) == 0);
    httplib::Headers wrong = kSigV4;
    wrong.find("Authorization")->second.replace(28, 8, "AKIDwrong");
    a = post("/model/m/converse", kBedrockChat, wrong);
    CHECK(a.status == 403);
    CHECK(a.headers.find("x-amzn-ErrorType")->second.rfind("UnrecognizedClientException:", 0) == 0);
    CHECK(post("/model/m/converse", kBedrockChat, kSigV4).status == 200);

    // Hugging Face: Bearer. Ollama: no credentials at all.
    CHECK(post("/hf-inference/models/gpt2", {{"inputs", "x"}}, {}).status == 401);
    CHECK(post("/hf-inference/models/gpt2", {{"inputs", "x"}}, kBearer).status == 200);
    CHECK(post("/api/chat", chat(), {}).status == 200);
  }

  TEST_CASE("endpoints are matched by their exact path, not a suffix") {
    CHECK(post("/v1/chat/completions", chat(), kBearer).status == 200);
    CHECK(post("/chat/completions", chat(), kBearer).status == 404);
    CHECK(post("/extra/v1/chat/completions", chat(), kBearer).status == 404);
    CHECK(post("/v1/messages/x", chat(), kAnthropic).status == 404);
    CHECK(post("/v1/messagesx", chat(), kAnthropic).status == 404);
    CHECK(post("/model/converse", kBedrockChat, kSigV4).status == 404);
    CHECK(post("/v1beta/models/:generateContent?key=k", kGeminiChat, {}).status == 404);
    CHECK(post("/v1/projects/p/locations/l/publishers/google/models/g:generateContent", kGeminiChat,
               kBearer)
              .status == 200);
    // The scenario prefix is not part of the endpoint.
    CHECK(post("/scenario/none/v1/chat/completions", chat(), kBearer).status == 200);
  }

  TEST_CASE("Gemini streams SSE only with alt=sse; otherwise one JSON array") {
    const std::string path = "/v1beta/models/gemini-2.0-flash:streamGenerateContent";
    const Answer sse = post(path + "?alt=sse&key=k", kGeminiChat, {});
    CHECK(sse.status == 200);
    CHECK(sse.content_type == "text/event-stream");
    const SseParse events = parseSse(sse.body);
    CHECK(events.partial.empty());
    REQUIRE(events.data.size() >= 2);
    CHECK(Json::parse(events.data.back())["candidates"][0]["finishReason"] == "STOP");

    const Answer array = post(path + "?key=k", kGeminiChat, {});
    CHECK(array.status == 200);
    CHECK(array.content_type.rfind("application/json", 0) == 0);
    const Json all = Json::parse(array.body);
    REQUIRE(all.is_array());
    CHECK(all.size() == events.data.size());
    CHECK(parseSse(array.body).data.empty());  // an SSE reader finds nothing in it
  }

  TEST_CASE("Bedrock frames carry the p padding field; exceptions are exception frames") {
    Answer a = post("/model/m/converse-stream", kBedrockChat, kSigV4);
    CHECK(a.status == 200);
    CHECK(a.content_type == "application/vnd.amazon.eventstream");
    auto fs = frames(a.body);
    REQUIRE(fs.size() >= 4);
    std::set<std::size_t> pad_lengths;
    for (const auto& f : fs) {
      CHECK(f.headers.at(":message-type") == "event");
      const Json payload = Json::parse(f.payload);
      REQUIRE(payload.contains("p"));
      pad_lengths.insert(payload["p"].get<std::string>().size());
    }
    CHECK(pad_lengths.size() > 1);  // it varies, as real padding does
    CHECK(fs[fs.size() - 2].headers.at(":event-type") == "messageStop");
    CHECK(fs.back().headers.at(":event-type") == "metadata");

    for (const auto& [model, exception] :
         {std::pair<std::string, std::string>{"fake-stream-error-throttling",
                                              "throttlingException"},
          {"fake-stream-error-model", "modelStreamErrorException"}}) {
      a = post("/model/" + model + "/converse-stream", kBedrockChat, kSigV4);
      CHECK(a.complete);
      fs = frames(a.body);
      REQUIRE(fs.size() == 3);  // two events, then the exception
      CHECK(fs.back().headers.at(":message-type") == "exception");
      CHECK(fs.back().headers.at(":exception-type") == exception);
      CHECK(Json::parse(fs.back().payload)["message"].is_string());
    }
  }

  TEST_CASE("fake-clean-close ends the response properly, without the end marker") {
    fake().clear();
    Answer a = post("/v1/chat/completions", chat(true, "fake-clean-close"), kBearer);
    CHECK(a.complete);
    SseParse s = parseSse(a.body);
    CHECK(s.partial.empty());
    REQUIRE_FALSE(s.data.empty());
    CHECK(s.data.back() != "[DONE]");
    CHECK(Json::parse(s.data.back())["choices"][0]["finish_reason"] == "stop");
    // The fake records the outcome after its last write: wait for it, bounded.
    CHECK(waitUntil(
        [] {
          const Json last = fake().lastRequest();
          return last.contains("stream") && last["stream"].is_object() &&
                 last["stream"].value("outcome", "") == "clean close";
        },
        5000));

    a = post("/v1/messages", chat(true, "fake-clean-close"), kAnthropic);
    CHECK(a.complete);
    s = parseSse(a.body);
    REQUIRE_FALSE(s.event_type.empty());
    CHECK(s.event_type.back() == "message_delta");

    a = post("/model/fake-clean-close/converse-stream", kBedrockChat, kSigV4);
    CHECK(a.complete);
    CHECK(frames(a.body).back().headers.at(":event-type") == "contentBlockStop");

    a = post("/api/chat", chat(true, "fake-clean-close"), {});
    CHECK(a.complete);
    CHECK(a.body.find("\"done\":true") == std::string::npos);

    a = post("/v1/chat/completions", chat(false, "fake-clean-close"), kBearer);
    CHECK(a.complete);
    CHECK(a.status == 200);
    CHECK(Json::parse(a.body, nullptr, false).is_discarded());  // half a body, whole response

    a = post("/v1/chat/completions", chat(true), kBearer);
    CHECK(parseSse(a.body).data.back() == "[DONE]");
    CHECK(fake().lastRequest()["stream"] ==
          Json{{"events_total", fake().lastRequest()["stream"]["events_written"]},
               {"events_written", fake().lastRequest()["stream"]["events_written"]},
               {"outcome", "complete"}});
  }
}
