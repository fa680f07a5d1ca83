// The AWS event stream framer: Kong's real Bedrock frames split at every byte offset, CRC and
// bound checks, every header type, exception messages, and a replay of the fuzz seed corpus
// (tests/fuzz/aws_eventstream_corpus) through the framer and the Bedrock decoder.
#include <doctest/doctest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "providers/provider.hpp"
#include "proxy/aws_eventstream.hpp"

using aigw::Status;
using aigw::providers::Framing;
using aigw::proxy::crc32;
using aigw::proxy::newFramer;
using Json = nlohmann::json;

namespace {

std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE(in);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string base64Decode(const std::string& in) {
  static const std::string kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  unsigned buffer = 0;
  int bits = 0;
  for (char c : in) {
    const auto v = kAlphabet.find(c);
    if (v == std::string::npos) continue;  // '=', newlines
    buffer = (buffer << 6) | static_cast<unsigned>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((buffer >> bits) & 0xff);
    }
  }
  return out;
}

std::string kongToolCallFrames() {
  std::string all;
  for (int i = 1; i <= 3; ++i)
    all += base64Decode(readFile(std::string(AIGW_FIXTURES_DIR) + "/kong/bedrock/chunks/chunk-" +
                                 std::to_string(i) + ".txt"));
  return all;
}

void putU32(std::string& out, std::uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out += static_cast<char>((v >> shift) & 0xff);
}

std::string stringHeader(const std::string& name, const std::string& value) {
  std::string h(1, static_cast<char>(name.size()));
  h += name;
  h += '\x07';
  h += static_cast<char>(value.size() >> 8);
  h += static_cast<char>(value.size() & 0xff);
  return h + value;
}

// One message with correct CRCs.
std::string message(const std::string& headers, const std::string& payload) {
  std::string out;
  putU32(out, static_cast<std::uint32_t>(16 + headers.size() + payload.size()));
  putU32(out, static_cast<std::uint32_t>(headers.size()));
  putU32(out, crc32(out));
  out += headers + payload;
  putU32(out, crc32(out));
  return out;
}

std::string event(const std::string& type, const std::string& payload) {
  return message(stringHeader(":event-type", type) + stringHeader(":message-type", "event"),
                 payload);
}

struct Event {
  std::string event, data;
  bool operator==(const Event&) const = default;
};

struct Run {
  std::vector<Event> events;
  Status status;
};

// Feeds `bytes` cut at the given offsets (ascending) and finishes.
Run frame(const std::string& bytes, const std::vector<std::size_t>& cuts) {
  auto framer = newFramer(Framing::AwsEventStream);
  Run run;
  auto cb = [&](std::string_view e, std::string_view d) -> Status {
    run.events.push_back({std::string(e), std::string(d)});
    return {};
  };
  std::size_t from = 0;
  for (std::size_t cut : cuts) {
    run.status = framer->feed(std::string_view(bytes).substr(from, cut - from), cb);
    if (!run.status) return run;
    from = cut;
  }
  run.status = framer->feed(std::string_view(bytes).substr(from), cb);
  if (run.status) run.status = framer->finish(cb);
  return run;
}

Run frame(const std::string& bytes) {
  return frame(bytes, {});
}

}  // namespace

TEST_CASE("crc32 is the IEEE CRC-32 zlib computes") {
  CHECK(crc32("") == 0u);
  CHECK(crc32("123456789") == 0xCBF43926u);
  CHECK(crc32("6789", crc32("12345")) == 0xCBF43926u);
}

TEST_CASE("AWS event stream: Kong's text fixture gives its expected events at every split") {
  const std::string bytes =
      readFile(std::string(AIGW_FIXTURES_DIR) + "/kong/unit/streaming-chunk-formats/aws/input.bin");
  const Json expected =
      Json::parse(readFile(std::string(AIGW_FIXTURES_DIR) +
                           "/kong/unit/streaming-chunk-formats/aws/expected-output.json"));
  const Run whole = frame(bytes);
  REQUIRE(whole.status);
  REQUIRE(whole.events.size() == expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    const Json e = Json::parse(expected[i]["data"].get<std::string>());
    CHECK(whole.events[i].event == e["headers"][":event-type"]);
    CHECK(whole.events[i].data == e["body"]);
  }
  for (std::size_t cut = 1; cut < bytes.size(); ++cut) {
    CAPTURE(cut);
    const Run split = frame(bytes, {cut});
    REQUIRE(split.status);
    CHECK(split.events == whole.events);
  }
  for (std::size_t step : {1, 3, 7, 64}) {
    std::vector<std::size_t> cuts;
    for (std::size_t at = step; at < bytes.size(); at += step) cuts.push_back(at);
    CHECK(frame(bytes, cuts).events == whole.events);
  }
}

TEST_CASE("AWS event stream: Kong's Bedrock tool-call chunks at every split") {
  const std::string bytes = kongToolCallFrames();
  const Run whole = frame(bytes);
  REQUIRE(whole.status);
  std::vector<std::string> names;
  for (const auto& e : whole.events) names.push_back(e.event);
  CHECK(names == std::vector<std::string>{"messageStart", "contentBlockStart", "contentBlockDelta",
                                          "contentBlockDelta", "contentBlockDelta",
                                          "contentBlockDelta", "contentBlockDelta",
                                          "contentBlockStop", "messageStop", "metadata"});
  CHECK(Json::parse(whole.events[8].data)["stopReason"] == "tool_use");
  for (std::size_t cut = 1; cut < bytes.size(); ++cut) {
    CAPTURE(cut);
    CHECK(frame(bytes, {cut}).events == whole.events);
  }
}

TEST_CASE("AWS event stream: corrupt, oversized and truncated input is refused") {
  const std::string good = event("messageStart", R"({"role":"assistant"})");
  SUBCASE("prelude CRC") {
    std::string bad = good;
    bad[9] = static_cast<char>(bad[9] ^ 0x5a);
    const Run r = frame(bad);
    CHECK(r.status.message() == "upstream event stream prelude CRC mismatch");
    CHECK(r.events.empty());
  }
  SUBCASE("message CRC") {
    std::string bad = good;
    bad[bad.size() - 6] = 'x';  // inside the payload
    CHECK(frame(bad).status.message() == "upstream event stream message CRC mismatch");
  }
  SUBCASE("a length beyond 16 MiB is refused from the prelude alone, without buffering") {
    std::string prelude;
    putU32(prelude, 1u << 30);
    putU32(prelude, 0);
    putU32(prelude, crc32(prelude));
    auto framer = newFramer(Framing::AwsEventStream);
    const Status s =
        framer->feed(prelude, [](std::string_view, std::string_view) { return Status(); });
    CHECK(s.message() == "upstream event stream message length 1073741824 is out of bounds");
  }
  SUBCASE("headers longer than the message") {
    std::string prelude;
    putU32(prelude, 32);
    putU32(prelude, 17);
    putU32(prelude, crc32(prelude));
    CHECK(frame(prelude + std::string(20, '\0')).status.message() ==
          "upstream event stream headers length exceeds the message");
  }
  SUBCASE("a header of unknown type") {
    CHECK(frame(message(std::string("\x01x\x2a", 3), "{}")).status.message() ==
          "upstream event stream message has a header of unknown type 42");
  }
  SUBCASE("a header running past the headers") {
    CHECK(frame(message(std::string("\x01x\x07\x00\x09"
                                    "abc",
                                    8),
                        "{}"))
              .status.message() == "upstream event stream message has a malformed header");
  }
  SUBCASE("an event without :event-type") {
    CHECK(frame(message(stringHeader(":message-type", "event"), "{}")).status.message() ==
          "upstream event stream event has no :event-type header");
  }
  SUBCASE("the body ends inside a message, at any point") {
    for (std::size_t len = 1; len < good.size(); ++len) {
      CAPTURE(len);
      const Run r = frame(good + good.substr(0, len));
      CHECK(r.events.size() == 1);
      CHECK(r.status.message() == "upstream event stream ended in the middle of a message");
    }
  }
}

TEST_CASE("AWS event stream: exception and error messages end the stream with their text") {
  const std::string exception =
      message(stringHeader(":exception-type", "throttlingException") +
                  stringHeader(":content-type", "application/json") +
                  stringHeader(":message-type", "exception"),
              R"({"message":"Too many requests, please wait before trying again."})");
  const Run r = frame(event("messageStart", "{}") + exception + event("messageStop", "{}"));
  CHECK(r.events.size() == 1);
  CHECK(r.status.message() ==
        "upstream error mid-stream: throttlingException: Too many requests, please wait before "
        "trying again.");

  const std::string error = message(stringHeader(":message-type", "error") +
                                        stringHeader(":error-code", "InternalFailure") +
                                        stringHeader(":error-message", "it broke"),
                                    "");
  CHECK(frame(error).status.message() == "upstream error mid-stream: InternalFailure: it broke");
}

TEST_CASE("AWS event stream: every header value type is skipped correctly") {
  std::string headers;
  auto add = [&](const char* name, char type, const std::string& value) {
    headers += static_cast<char>(std::strlen(name));
    headers += name;
    headers += type;
    headers += value;
  };
  add("t", 0, "");
  add("f", 1, "");
  add("b", 2, "\x7f");
  add("s", 3, std::string("\x00\x01", 2));
  add("i", 4, std::string(4, '\0'));
  add("l", 5, std::string(8, '\0'));
  add("y", 6,
      std::string("\x00\x02"
                  "ab",
                  4));
  add("ts", 8, std::string(8, '\0'));
  add("u", 9, std::string(16, '\x11'));
  headers += stringHeader(":event-type", "metadata");
  headers += stringHeader(":message-type", "event");
  const Run r = frame(message(headers, R"({"usage":{}})"));
  REQUIRE(r.status);
  REQUIRE(r.events.size() == 1);
  CHECK(r.events[0] == Event{"metadata", R"({"usage":{}})"});
}

// Files named ok-* decode to a complete answer; err-* fail, cleanly, wherever they are cut.
TEST_CASE("AWS event stream: the fuzz seed corpus replays through framer and Bedrock decoder") {
  const auto* bedrock = aigw::providers::findProvider("bedrock");
  REQUIRE(bedrock);
  const std::filesystem::path dir =
      std::filesystem::path(AIGW_SOURCE_DIR) / "tests/fuzz/aws_eventstream_corpus";
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    CAPTURE(name);
    const std::string bytes = readFile(entry.path().string());
    const bool ok = name.rfind("ok-", 0) == 0;
    REQUIRE((ok || name.rfind("err-", 0) == 0));
    ++files;
    for (std::size_t step : {bytes.size() + 1, std::size_t{1}, std::size_t{5}, std::size_t{13}}) {
      const Json body = Json::object();
      aigw::providers::ProxyCall call;
      call.stream = true;
      call.model = "m";
      call.body = &body;
      auto decoder = bedrock->newStreamDecoder(call, aigw::providers::Target{});
      struct Sink : aigw::providers::ChunkSink {
        int chunks = 0;
        bool emit(std::string_view c) override {
          CHECK(Json::accept(c));
          ++chunks;
          return true;
        }
      } sink;
      auto framer = newFramer(Framing::AwsEventStream);
      auto cb = [&](std::string_view e, std::string_view d) {
        return decoder->onEvent(e, d, sink);
      };
      Status s;
      for (std::size_t at = 0; s && at < bytes.size(); at += step)
        s = framer->feed(std::string_view(bytes).substr(at, step), cb);
      if (s) s = framer->finish(cb);
      if (s) s = decoder->onEnd(sink);
      CHECK(s.ok() == ok);
      if (ok) CHECK(sink.chunks >= 2);
    }
  }
  CHECK(files >= 10);
}
