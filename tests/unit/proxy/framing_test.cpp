#include <doctest/doctest.h>

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "proxy/framing.hpp"

using aigw::Status;
using aigw::providers::Framing;
using aigw::proxy::newFramer;

namespace {

std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct Event {
  std::string event, data;
  bool operator==(const Event&) const = default;
};

// Feeds `text` in pieces of `step` bytes and returns the events seen.
std::vector<Event> frame(Framing framing, const std::string& text, std::size_t step) {
  auto framer = newFramer(framing);
  std::vector<Event> events;
  auto cb = [&](std::string_view e, std::string_view d) -> Status {
    events.push_back({std::string(e), std::string(d)});
    return {};
  };
  // Each piece lives only during its feed() (scribbled over afterwards), as a read buffer
  // does: a framer that kept a view into it instead of a copy would hand on garbage.
  for (std::size_t i = 0; i < text.size(); i += step) {
    std::string piece = text.substr(i, step);
    REQUIRE(framer->feed(piece, cb));
    std::fill(piece.begin(), piece.end(), '#');
  }
  REQUIRE(framer->finish(cb));
  return events;
}

}  // namespace

TEST_CASE("SSE: the same events whatever the split points (Kong's OpenAI stream fixture)") {
  const std::string text =
      readFile(AIGW_FIXTURES_DIR "/kong/_extracted/streaming-spec-mocks/openai-chat-good.sse.txt");
  REQUIRE(!text.empty());
  const auto whole = frame(Framing::Sse, text, text.size());
  REQUIRE(whole.size() >= 3);
  CHECK(whole.back().data == "[DONE]");
  for (std::size_t step = 1; step <= 64; ++step) {
    CAPTURE(step);
    CHECK(frame(Framing::Sse, text, step) == whole);
  }
}

TEST_CASE("SSE: Kong's chunk boundaries, event names, CRLF, comments, multi-line data") {
  auto chunks = nlohmann::json::parse(
      readFile(AIGW_FIXTURES_DIR
               "/kong/_extracted/streaming-spec-mocks/openai-chat-partial-split.chunks.json"));
  auto framer = newFramer(Framing::Sse);
  int events = 0;
  auto cb = [&](std::string_view, std::string_view d) -> Status {
    if (d != "[DONE]") CHECK(nlohmann::json::accept(d));
    ++events;
    return {};
  };
  for (const auto& c : chunks) REQUIRE(framer->feed(c.get<std::string>(), cb));
  REQUIRE(framer->finish(cb));
  CHECK(events > 1);

  const auto ev = frame(
      Framing::Sse,
      ": keep-alive\r\nevent: message_start\r\ndata: {\"a\":1}\r\n\r\ndata: x\ndata: y\n\n", 3);
  REQUIRE(ev.size() == 2);
  CHECK(ev[0] == Event{"message_start", "{\"a\":1}"});
  CHECK(ev[1] == Event{"", "x\ny"});
}

TEST_CASE("SSE: an unterminated last event is still delivered at the end") {
  const auto ev = frame(Framing::Sse, "data: a\n\ndata: [DONE]", 1);
  REQUIRE(ev.size() == 2);
  CHECK(ev[1].data == "[DONE]");
}

TEST_CASE("NDJSON: lines split anywhere, blank lines skipped (Ollama)") {
  const std::string text = "{\"a\":1}\n\n{\"b\":2}\r\n{\"c\":3}";
  for (std::size_t step = 1; step <= text.size(); ++step) {
    const auto ev = frame(Framing::NdJson, text, step);
    REQUIRE(ev.size() == 3);
    CHECK(ev[1].data == "{\"b\":2}");
    CHECK(ev[2].data == "{\"c\":3}");
  }
}

TEST_CASE("a callback error stops the framer") {
  auto framer = newFramer(Framing::Sse);
  int n = 0;
  auto cb = [&](std::string_view, std::string_view) -> Status {
    ++n;
    return Status::error("stop");
  };
  CHECK_FALSE(framer->feed("data: 1\n\ndata: 2\n\n", cb));
  CHECK(n == 1);
}
