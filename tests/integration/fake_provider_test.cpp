// Tests of the test harness and of fake_provider itself, so that a failing gateway test can
// be trusted to be about the gateway.
#include <signal.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <doctest/doctest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "support/process.hpp"

using aigw::test::FakeProvider;
using aigw::test::Process;
using Json = nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

Json chatBody(const std::string& model, const std::string& text, bool stream = false) {
  Json body = {{"model", model}, {"messages", {{{"role", "user"}, {"content", text}}}}};
  if (stream) body["stream"] = true;
  return body;
}

// The fake checks credentials as each provider does; these tests are about other things, so
// every request carries a key the OpenAI-style dialects accept (Ollama ignores it).
const httplib::Headers kAuth = {{"Authorization", "Bearer k"}};

httplib::Result postJson(const FakeProvider& fake, const std::string& path, const Json& body,
                         const httplib::Headers& headers = kAuth) {
  httplib::Client client(fake.baseUrl());
  client.set_read_timeout(10);
  return client.Post(path.c_str(), headers, body.dump(), "application/json");
}

long long millisSince(Clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
}

// A streamed answer split into its events (SSE "...\n\n" or NDJSON "...\n") as they arrived.
struct Streamed {
  httplib::Error error = httplib::Error::Success;
  int status = 0;
  std::string content_type;
  std::vector<std::string> events;
  std::vector<Clock::time_point> arrivals;
};

Streamed postStream(const FakeProvider& fake, const std::string& path, const Json& body,
                    const std::string& delimiter,
                    const std::function<void(const Streamed&)>& on_event = {},
                    int read_timeout_s = 10) {
  Streamed out;
  std::string pending;
  httplib::Request req;
  req.method = "POST";
  req.path = path;
  req.headers = {{"Content-Type", "application/json"}, {"Authorization", "Bearer k"}};
  req.body = body.dump();
  req.content_receiver = [&](const char* data, size_t len, uint64_t, uint64_t) {
    pending.append(data, len);
    for (auto end = pending.find(delimiter); end != std::string::npos;
         end = pending.find(delimiter)) {
      out.events.push_back(pending.substr(0, end + delimiter.size()));
      out.arrivals.push_back(Clock::now());
      pending.erase(0, end + delimiter.size());
      if (on_event) on_event(out);
    }
    return true;
  };
  httplib::Client client(fake.baseUrl());
  client.set_read_timeout(read_timeout_s);
  auto res = client.send(req);
  out.error = res.error();
  if (res) {
    out.status = res->status;
    out.content_type = res->get_header_value("Content-Type");
  }
  if (!pending.empty()) out.events.push_back(pending);  // an unterminated tail
  return out;
}

Json sseData(const std::string& event) {
  REQUIRE(event.rfind("data: ", 0) == 0);
  return Json::parse(event.substr(6));
}

std::string joinedDeltas(const std::vector<std::string>& events) {
  std::string text;
  for (const auto& e : events) {
    if (e == "data: [DONE]\n\n") continue;
    const Json chunk = sseData(e);
    for (const auto& choice : chunk["choices"]) {
      if (choice["delta"].contains("content")) text += choice["delta"]["content"];
    }
  }
  return text;
}

std::vector<float> decodeBase64Float32(const std::string& text) {
  static const std::string kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string bytes;
  std::uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    const auto at = kAlphabet.find(c);
    if (at == std::string::npos) break;  // '=' padding
    acc = (acc << 6) | static_cast<std::uint32_t>(at);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      bytes.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  std::vector<float> out(bytes.size() / 4);
  std::memcpy(out.data(), bytes.data(), out.size() * 4);  // little-endian, as on x86 and arm
  return out;
}

}  // namespace

TEST_SUITE("harness") {
  TEST_CASE("Process captures stdout and stderr in its log and reports the exit code") {
    Process p({"/bin/sh", "-c", "echo to-stdout; echo to-stderr >&2; exit 3"});
    REQUIRE(p.pid() > 0);
    CHECK(p.wait(5000) == 3);
    CHECK_FALSE(p.running());
    CHECK(p.log().find("to-stdout") != std::string::npos);
    CHECK(p.log().find("to-stderr") != std::string::npos);
  }

  TEST_CASE("Process removes its log directory when destroyed") {
    std::string dir;
    {
      Process p({"true"});
      CHECK(p.wait(5000) == 0);
      dir = p.log_path().substr(0, p.log_path().rfind('/'));
      CHECK(std::filesystem::exists(p.log_path()));
    }
    if (!std::getenv("AIGW_TEST_KEEP_LOGS")) CHECK_FALSE(std::filesystem::exists(dir));
  }

  TEST_CASE("Process passes extra environment variables") {
    Process p({"sh", "-c", "echo \"value=$AIGW_HARNESS_VAR\""}, {{"AIGW_HARNESS_VAR", "42"}});
    CHECK(p.wait(5000) == 0);
    CHECK(p.log().find("value=42") != std::string::npos);
  }

  TEST_CASE("Process::terminate stops a child with SIGTERM") {
    Process p({"sleep", "30"});
    CHECK(p.running());
    CHECK(p.terminate(5000) == 128 + SIGTERM);
    CHECK_FALSE(p.running());
  }

  TEST_CASE("Process::terminate falls back to SIGKILL for a child ignoring SIGTERM") {
    Process p({"sh", "-c", "trap '' TERM; echo ready; exec sleep 30"});
    // The trap must be in place before SIGTERM is sent, or the shell simply dies of it.
    REQUIRE(
        aigw::test::waitUntil([&] { return p.log().find("ready") != std::string::npos; }, 5000));
    CHECK(p.terminate(200) == 128 + SIGKILL);
  }

  TEST_CASE("Process destructor kills a running child") {
    pid_t pid = -1;
    {
      Process p({"sleep", "30"});
      pid = p.pid();
    }
    CHECK(::kill(pid, 0) == -1);  // gone and reaped, not a zombie
  }

  TEST_CASE("Process reports a program that cannot start") {
    CHECK_THROWS_AS(Process({"/nonexistent/aigw-no-such-binary"}), std::runtime_error);
  }

  TEST_CASE("ports and port files") {
    const aigw::test::ReservedPort reserved;
    const int port = reserved.port();
    CHECK(port > 0);
    CHECK_FALSE(aigw::test::waitForPort(port, 50));
    {
      // A server that died never listens: the wait ends with it, not at the deadline.
      Process dead({"true"});
      const auto start = Clock::now();
      CHECK_FALSE(aigw::test::waitForPort(port, 20000, &dead));
      CHECK(millisSince(start) < 10000);
    }
    const std::string dir = aigw::test::tempDir();
    CHECK_FALSE(aigw::test::waitForPortFile(dir + "/missing", 50).has_value());
    aigw::test::writeFile(dir + "/port", "12345\n");
    CHECK(aigw::test::waitForPortFile(dir + "/port", 1000) == 12345);
    aigw::test::removeTempDir(dir);
  }
}

TEST_SUITE("fake_provider") {
  TEST_CASE("starts on an ephemeral port and stops on SIGTERM") {
    FakeProvider fake(FAKE_PROVIDER_BINARY);
    CHECK(fake.port() > 0);
    CHECK(fake.baseUrl() == "http://127.0.0.1:" + std::to_string(fake.port()));
    CHECK(fake.process().terminate(5000) == 0);
    CHECK(fake.log().find("listening on 127.0.0.1:" + std::to_string(fake.port())) !=
          std::string::npos);
  }

  TEST_CASE("OpenAI chat completion, non-stream") {
    FakeProvider fake(FAKE_PROVIDER_BINARY);
    auto res = postJson(fake, "/v1/chat/completions", chatBody("gpt-test", "hi there"),
                        {{"Authorization", "Bearer k"}, {"X-Mixed-Case", "v"}});
    REQUIRE(res);
    CHECK(res->status == 200);
    const Json out = Json::parse(res->body);
    CHECK(out["id"].get<std::string>().rfind("chatcmpl-fake", 0) == 0);
    CHECK(out["object"] == "chat.completion");
    CHECK(out["created"].is_number_integer());
    CHECK(out["model"] == "gpt-test");
    CHECK(out["choices"][0]["message"]["role"] == "assistant");
    CHECK(out["choices"][0]["message"]["content"] == "Hello from fake openai: hi there");
    CHECK(out["choices"][0]["finish_reason"] == "stop");
    CHECK(out["usage"]["prompt_tokens"] == 2);
    CHECK(out["usage"]["completion_tokens"] == 6);
    CHECK(out["usage"]["total_tokens"] == 8);

    const Json last = fake.lastRequest();
    CHECK(last["method"] == "POST");
    CHECK(last["path"] == "/v1/chat/completions");
    CHECK(last["headers"]["authorization"] == "Bearer k");
    CHECK(last["headers"]["x-mixed-case"] == "v");
    CHECK(last["json"]["model"] == "gpt-test");
    CHECK(Json::parse(last["body"].get<std::string>()) == last["json"]);
  }

  TEST_CASE("OpenAI chat text parts of an array content") {
    FakeProvider fake(FAKE_PROVIDER_BINARY);
    Json body = chatBody("m", "");
    body["messages"][0]["content"] = Json::array(
        {{{"type", "text"}, {"text", "look"}},
         {{"type", "image_url"}, {"image_url", {{"url", "data:image/png;base64,AA=="}}}}});
    auto res = postJson(fake, "/v1/chat/completions", body);
    REQUIRE(res);
    CHECK(Json::parse(res->body)["choices"][0]["message"]["content"] ==
          "Hello from fake openai: look");
  }

  TEST_CASE("OpenAI chat stream: ordered chunks, usage on request, [DONE] last") {
    FakeProvider fake(FAKE_PROVIDER_BINARY);
    Json body = chatBody("gpt-test", "hi there", true);
    body["stream_options"] = {{"include_usage", true}};
    const Streamed s = postStream(fake, "/v1/chat/completions", body, "\n\n");
    REQUIRE(s.error == httplib::Error::Success);
    CHECK(s.status == 200);
    CHECK(s.content_type == "text/event-stream");
    REQUIRE(s.events.size() >= 4);

    const Json first = sseData(s.events.front());
    CHECK(first["object"] == "chat.completion.chunk");
    CHECK(first["model"] == "gpt-test");
    CHECK(first["choices"][0]["delta"]["role"] == "assistant");
    CHECK(s.events.back() == "data: [DONE]\n\n");

    const Json usage_chunk = sseData(s.events[s.events.size() - 2]);
    CHECK(usage_chunk["choices"].empty());
    CHECK(usage_chunk["usage"]["completion_tokens"] == 6);
    const Json finish_chunk = sseData(s.events[s.events.size() - 3]);
    CHECK(finish_chunk["choices"][0]["finish_reason"] == "stop");
    for (std::size_t i = 0; i + 1 < s.events.size(); ++i) {
      const Json chunk = sseData(s.events[i]);
      CHECK(chunk["id"] == first["id"]);  // one id for the whole stream
    }
    CHECK(joinedDeltas(s.events) == "Hello from fake openai: hi there");
  }

  TEST_CASE("OpenAI chat stream without include_usage has no usage chunk") {
    FakeProvider fake(FAKE_PROVIDER_BINARY);
    const Streamed s = postStream(fake, "/v1/chat/completions", chatBody("m", "x", true), "\n\n");
    REQUIRE(s.events.size() >= 3);
    CHECK(s.events.back() == "data: [DONE]\n\n");
    for (std::size_t i = 0; i + 1 < s.events.size(); ++i) {
      CHECK_FALSE(sseData(s.events[i]).contains("usage"));
    }
  }

  TEST_CASE("stream events are written one by one, not buffered (fake-pace)") {
    FakeProvider fake(FAKE_PROVIDER_BINARY);
    const Streamed s = postStream(fake, "/v1/chat/completions",
                                  chatBody("fake-pace-100", "one two", true), "\n\n");
    REQUIRE(s.error == httplib::Error::Success);
    REQUIRE(s.events.size() >= 8);
    CHECK(s.events.back() == "data: [DONE]\n\n");
    // Seven pauses of 100 ms lie between the first and the last event.
    const auto spread =
        std::chrono::duration_cast<std::chrono::milliseconds>(s.arrivals.back() - s.arrivals[0]);
    CHECK(spread.count() >= 600);
  }

  TEST_CASE("Azure and other OpenAI-compatible paths, query recorded") {
    FakeProvider fake(FAKE_PROVIDER_BINARY);
    Json body = chatBody("", "hi");
    body.erase("model");
    auto res =
        postJson(fake, "/openai/deployments/my-dep/chat/completions?api-version=2024-06-01", body);
    REQUIRE(res);
    CHECK(res->status == 200);
    CHECK(Json::parse(res->body)["model"] == "my-dep");
    const Json last = fake.lastRequest();
    CHECK(last["path"] == "/openai/deployments/my-dep/chat/completions");
    CHECK(last["query"] == "api-version=2024-06-01");

    res = postJson(fake, "/v1/completions", {{"model", "m"}, {"prompt", "say"}});
    REQUIRE(res);
    const Json completion = Json::parse(res->body);
    CHECK(completion["object"] == "text_completion");
    CHECK(completion["choices"][0]["text"] == "Hello from fake openai: say");
  }

  TEST_CASE("OpenAI embeddings for a string and for an array") {
    FakeProvider fake(FAKE_PROVIDER_BINARY);
    auto res = postJson(fake, "/v1/embeddings", {{"model", "emb"}, {"input", "hello"}});
    REQUIRE(res);
    Json out = Json::parse(res->body);
    CHECK(out["object"] == "list");
    REQUIRE(out["data"].size() == 1);
    CHECK(out["data"][0]["object"] == "embedding");
    CHECK(out["data"][0]["index"] == 0);
    CHECK(out["data"][0]["embedding"].size() == 8);
    CHECK(out["data"][0]["embedding"][0].is_number_float());
    CHECK(out["usage"]["prompt_tokens"] == 1);

    res = postJson(fake, "/v1/embeddings", {{"model", "emb"}, {"input", {"a", "b c"}}});
    REQUIRE(res);
    out = Json::parse(res->body);
    REQUIRE(out["data"].size() == 2);
    CHECK(out["data"][1]["index"] == 1);
    CHECK(out["data"][0]["embedding"] != out["data"][1]["embedding"]);
    CHECK(out["usage"]["total_tokens"] == 3);
  }

  TEST_CASE("OpenAI embeddings with encoding_format base64 (the openai SDKs' default)") {
    FakeProvider fake(FAKE_PROVIDER_BINARY);
    auto floats = postJson(fake, "/v1/embeddings", {{"model", "e"}, {"input", "hello"}});
    auto packed = postJson(fake, "/v1/embeddings",
                           {{"model", "e"}, {"input", "hello"}, {"encoding_format", "base64"}});
    REQUIRE(floats);
    REQUIRE(packed);
    const Json expected = Json::parse(floats->body)["data"][0]["embedding"];
    const Json encoded = Json::parse(packed->body)["data"][0]["embedding"];
    REQUIRE(encoded.is_string());
    const auto decoded = decodeBase64Float32(encoded.get<std::string>());
    REQUIRE(decoded.size() == expected.size());
    for (std::size_t i = 0; i < decoded.size(); ++i) {
      CHECK(decoded[i] == doctest::Approx(expected[i].get<double>()).epsilon(1e-6));
    }
  }

  TEST_CASE("Ollama /api/chat streams NDJSON by default, ending with done and counts") {
    FakeProvider fake(FAKE_PROVIDER_BINARY);
    Json body = chatBody("llama3", "hi");
    const Streamed s = postStream(fake, "/api/chat", body, "\n");
    REQUIRE(s.error == httplib::Error::Success);
    CHECK(s.content_type == "application/x-ndjson");
    REQUIRE(s.events.size() >= 2);
    std::string text;
    for (std::size_t i = 0; i < s.events.size(); ++i) {
      const Json line = Json::parse(s.events[i]);
      CHECK(line["model"] == "llama3");
      CHECK(line["done"] == (i + 1 == s.events.size()));
      text += line["message"]["content"].get<std::string>();
    }
    CHECK(text == "Hello from fake ollama: hi");
    const Json last = Json::parse(s.events.back());
    CHECK(last["done_reason"] == "stop");
    CHECK(last["prompt_eval_count"] == 1);
    CHECK(last["eval_count"] == 5);
  }

  TEST_CASE("Ollama non-stream chat and generate") {
    FakeProvider fake(FAKE_PROVIDER_BINARY);
    Json body = chatBody("llama3", "hi");
    body["stream"] = false;
    auto res = postJson(fake, "/api/chat", body);
    REQUIRE(res);
    Json out = Json::parse(res->body);
    CHECK(out["message"]["content"] == "Hello from fake ollama: hi");
    CHECK(out["done"] == true);
    CHECK(out["eval_count"] == 5);

    res =
        postJson(fake, "/api/generate", {{"model", "llama3"}, {"prompt", "p"}, {"stream", false}});
    REQUIRE(res);
    out = Json::parse(res->body);
    CHECK(out["response"] == "Hello from fake ollama: p");
    CHECK(out["done_reason"] == "stop");
  }

  TEST_CASE("error scenarios by model and by path prefix") {
    FakeProvider fake(FAKE_PROVIDER_BINARY);
    auto res = postJson(fake, "/v1/chat/completions", chatBody("fake-error-503", "x"));
    REQUIRE(res);
    CHECK(res->status == 503);
    CHECK(res->get_header_value("Retry-After") == "7");
    Json err = Json::parse(res->body)["error"];
    CHECK(err["message"] == "fake upstream error 503");
    CHECK(err["type"] == "fake_error");
    CHECK(err["code"] == "fake_503");

    res = postJson(fake, "/scenario/fake-error-429/v1/chat/completions", chatBody("gpt", "x"));
    REQUIRE(res);
    CHECK(res->status == 429);
    CHECK(res->get_header_value("Retry-After") == "7");
    CHECK(fake.lastRequest()["path"] == "/scenario/fake-error-429/v1/chat/completions");

    res = postJson(fake, "/v1/chat/completions", chatBody("fake-error-400", "x", true));
    REQUIRE(res);
    CHECK(res->status == 400);
    CHECK_FALSE(res->has_header("Retry-After"));

    res = postJson(fake, "/api/chat", chatBody("fake-error-500", "x"));
    REQUIRE(res);
    CHECK(res->status == 500);
    CHECK(Json::parse(res->body)["error"] == "fake upstream error 500");  // Ollama's shape
  }

  TEST_CASE("garbage, HTML and unknown paths") {
    FakeProvider fake(FAKE_PROVIDER_BINARY);
    auto res = postJson(fake, "/v1/chat/completions", chatBody("fake-garbage", "x"));
    REQUIRE(res);
    CHECK(res->status == 200);
    CHECK(res->body == "this is not json");

    res = postJson(fake, "/v1/chat/completions", chatBody("fake-html-500", "x"));
    REQUIRE(res);
    CHECK(res->status == 500);
    CHECK(res->get_header_value("Content-Type") == "text/html");

    res = postJson(fake, "/no/such/endpoint", Json::object());
    REQUIRE(res);
    CHECK(res->status == 404);
    CHECK(Json::parse(res->body)["error"]["message"].is_string());
  }

  TEST_CASE("fake-slow delays the answer") {
    FakeProvider fake(FAKE_PROVIDER_BINARY);
    const auto start = Clock::now();
    auto res = postJson(fake, "/v1/chat/completions", chatBody("fake-slow-300", "x"));
    REQUIRE(res);
    CHECK(res->status == 200);
    CHECK(millisSince(start) >= 300);
  }

  TEST_CASE("fake-truncate drops the connection mid-stream and mid-body") {
    FakeProvider fake(FAKE_PROVIDER_BINARY);
    const Streamed s =
        postStream(fake, "/v1/chat/completions", chatBody("fake-truncate", "x", true), "\n\n");
    CHECK(s.error != httplib::Error::Success);
    CHECK(s.events.size() == 2);

    auto res = postJson(fake, "/v1/chat/completions", chatBody("fake-truncate", "x"));
    CHECK_FALSE(res);
  }

  TEST_CASE("fake-stall holds a stream open after two events") {
    FakeProvider fake(FAKE_PROVIDER_BINARY);
    const Streamed s = postStream(fake, "/scenario/fake-stall/v1/chat/completions",
                                  chatBody("m", "x", true), "\n\n", {}, /*read_timeout_s=*/1);
    CHECK(s.error == httplib::Error::Read);
    CHECK(s.events.size() == 2);
  }

  TEST_CASE("a stalled stream neither blocks other requests nor delays shutdown") {
    FakeProvider fake(FAKE_PROVIDER_BINARY);
    std::mutex mutex;
    std::condition_variable cv;
    bool stalled = false;
    Streamed stalled_stream;
    std::thread client([&] {
      stalled_stream = postStream(
          fake, "/v1/chat/completions", chatBody("fake-stall", "x", true), "\n\n",
          [&](const Streamed& s) {
            if (s.events.size() != 2) return;
            std::lock_guard lock(mutex);
            stalled = true;
            cv.notify_all();
          },
          30);
    });
    {
      std::unique_lock lock(mutex);
      REQUIRE(cv.wait_for(lock, std::chrono::seconds(10), [&] { return stalled; }));
    }

    auto res = postJson(fake, "/v1/chat/completions", chatBody("m", "meanwhile"));
    REQUIRE(res);
    CHECK(res->status == 200);

    const auto start = Clock::now();
    CHECK(fake.process().terminate(10000) == 0);
    // The stall would last 60 s: ending well before that shows shutdown cut it short. (The
    // bound is loose on purpose; the fake's own last resort exits at 3 s, but a loaded CI
    // machine can add seconds to any of this.)
    CHECK(millisSince(start) < 30000);
    client.join();
    CHECK(stalled_stream.error != httplib::Error::Success);
    CHECK(stalled_stream.events.size() == 2);
  }

  TEST_CASE("recording endpoints") {
    FakeProvider fake(FAKE_PROVIDER_BINARY);
    CHECK(fake.requests() == Json::array());
    CHECK(fake.lastRequest().is_null());

    REQUIRE(postJson(fake, "/v1/chat/completions", chatBody("a", "first")));
    REQUIRE(postJson(fake, "/api/chat", chatBody("b", "second")));
    httplib::Client client(fake.baseUrl());
    auto raw = client.Post("/v1/embeddings?x=1", kAuth, "not json", "text/plain");
    REQUIRE(raw);
    CHECK(raw->status == 400);

    const Json all = fake.requests();
    REQUIRE(all.size() == 3);  // the /__fake/* calls themselves are not recorded
    CHECK(all[0]["json"]["model"] == "a");
    CHECK(all[1]["path"] == "/api/chat");
    CHECK(all[2]["json"].is_null());
    CHECK(all[2]["body"] == "not json");
    CHECK(all[2]["query"] == "x=1");
    CHECK(all[2]["headers"]["content-type"] == "text/plain");
    CHECK(fake.lastRequest() == all[2]);

    fake.clear();
    CHECK(fake.requests().empty());
    CHECK(fake.lastRequest().is_null());
  }
}
