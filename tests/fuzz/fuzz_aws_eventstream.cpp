// libFuzzer target: arbitrary bytes as a Bedrock ConverseStream body, through the AWS event
// stream framer and the Bedrock stream decoder. Besides "no crash, no sanitizer report", it
// checks that the framer's result does not depend on how the bytes are split: fed whole, byte
// by byte and in chunks of another size, it must give the same events and the same verdict.
//
// Build (clang only, see tests/CMakeLists.txt) and run with the seed corpus:
//   cmake -S . -B build-fuzz -DCMAKE_CXX_COMPILER=clang++ && \
//   cmake --build build-fuzz --target fuzz_aws_eventstream
//   build-fuzz/tests/fuzz_aws_eventstream -max_total_time=60 \
//     tests/fuzz/aws_eventstream_corpus   (copy it first to keep the seeds unchanged)
#include <cstdint>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "providers/bedrock.hpp"
#include "proxy/aws_eventstream.hpp"

namespace {

using aigw::Status;

struct Outcome {
  std::vector<std::pair<std::string, std::string>> events;
  bool ok = true;
};

struct NullSink : aigw::providers::ChunkSink {
  bool emit(std::string_view chunk) override {
    // Every chunk the decoder writes must be JSON the client can parse.
    if (!nlohmann::json::accept(chunk)) std::abort();
    return true;
  }
};

Outcome frame(std::string_view bytes, std::size_t step) {
  Outcome out;
  auto framer = aigw::proxy::newAwsEventStreamFramer();
  auto cb = [&](std::string_view e, std::string_view d) -> Status {
    out.events.emplace_back(std::string(e), std::string(d));
    return {};
  };
  Status s;
  for (std::size_t at = 0; s && at < bytes.size(); at += step)
    s = framer->feed(bytes.substr(at, step), cb);
  if (s) s = framer->finish(cb);
  out.ok = s.ok();
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  const Outcome whole = frame(bytes, size + 1);
  for (std::size_t step : {std::size_t{1}, size % 13 + 2}) {
    const Outcome split = frame(bytes, step);
    if (split.ok != whole.ok || split.events != whole.events) std::abort();
  }
  for (auto type : {aigw::providers::RouteType::Chat, aigw::providers::RouteType::Completions}) {
    const nlohmann::json body = nlohmann::json::object();
    aigw::providers::ProxyCall call;
    call.route_type = type;
    call.stream = true;
    call.model = "fuzz";
    call.body = &body;
    auto decoder = aigw::providers::bedrock::newStreamDecoder(call);
    NullSink sink;
    Status s;
    for (const auto& [event, payload] : whole.events) {
      s = decoder->onEvent(event, payload, sink);
      if (!s) break;
    }
    if (s && whole.ok) (void)decoder->onEnd(sink);
  }
  return 0;
}
