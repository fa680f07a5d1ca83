// What the OpenAI path's JSON work costs per request, measured on the gateway's own code: the
// access phase of an ai-proxy route (parse + shape checks + call setup), the upstream request
// (the client's text with model/options spliced in), the answer (validated and scanned for
// usage, passed through) and a 12-event stream (each event validated, usage read).
//
//   build/bench/json_path [ITERATIONS] [REQUEST_BODY_FILE]
//
// Prints microseconds per request for each step (median of 5 runs). A measurement tool, never
// a test: nothing here is asserted.
#include <algorithm>
#include <utility>  // before Asio: awaitable.hpp needs std::exchange (GCC 12)
// clang-format off
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
// clang-format on
#include <chrono>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "config/load.hpp"
#include "proxy/ai_request.hpp"
#include "proxy/llm_call.hpp"
#include "proxy/pipeline.hpp"
#include "proxy/request_context.hpp"

using namespace aigw;
using Clock = std::chrono::steady_clock;

namespace {

constexpr const char* kConfig = R"(_format_version: "3.0"
routes:
- name: chat
  paths: ["/openai/chat"]
  plugins:
  - name: ai-proxy
    config:
      route_type: llm/v1/chat
      auth: {header_name: Authorization, header_value: "Bearer bench"}
      model:
        provider: openai
        name: gpt-4o-mini
        options: {upstream_url: 'http://127.0.0.1:1/v1/chat/completions'}
)";

constexpr const char* kRequest =
    R"({"model":"gpt-4o-mini","messages":[{"role":"system","content":"You are a helpful assistant."},{"role":"user","content":"Say hello in one short sentence."}],"max_tokens":64})";

// The benchmark upstream's answers (bench/fast_upstream.cpp).
constexpr const char* kAnswer =
    R"({"id":"chatcmpl-bench0000000000000000000001","object":"chat.completion","created":1732000000,"model":"gpt-4o-mini","system_fingerprint":"fp_bench","choices":[{"index":0,"message":{"role":"assistant","content":"Hello! This is a canned answer from the benchmark upstream. It is short and always the same.","refusal":null},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":19,"completion_tokens":21,"total_tokens":40}})";

std::vector<std::string> streamEvents() {
  std::vector<std::string> events;
  const char* words[] = {"Hello",     "!",       " This", " is",  " a",
                         " streamed", " answer", " from", " the", " bench"};
  for (int i = 0; i < 10; ++i) {
    std::string role = i == 0 ? R"("role":"assistant",)" : "";
    events.push_back(
        R"({"id":"chatcmpl-bench0000000000000000000002","object":"chat.completion.chunk","created":1732000000,"model":"gpt-4o-mini","system_fingerprint":"fp_bench","choices":[{"index":0,"delta":{)" +
        role + R"("content":")" + words[i] + R"("},"logprobs":null,"finish_reason":)" +
        (i == 9 ? "\"stop\"" : "null") + "}]}");
  }
  events.push_back(
      R"({"id":"chatcmpl-bench0000000000000000000002","object":"chat.completion.chunk","created":1732000000,"model":"gpt-4o-mini","system_fingerprint":"fp_bench","choices":[],"usage":{"prompt_tokens":19,"completion_tokens":10,"total_tokens":29}})");
  events.push_back("[DONE]");
  return events;
}

class NoLlm : public proxy::LlmCaller {
 public:
  net::Task<proxy::LlmResult> chat(const proxy::LlmRequest&) const override {
    co_return proxy::LlmResult::failure(ApiError::internal("no LLM in this benchmark"));
  }
};

struct Discard : providers::ChunkSink {
  std::size_t bytes = 0;
  bool emit(std::string_view c) override {
    bytes += c.size();
    return true;
  }
};

struct Totals {
  double access = 0, request = 0, answer = 0, stream = 0;
};

double us(Clock::duration d) {
  return std::chrono::duration<double, std::micro>(d).count();
}

net::Task<void> run(const config::ConfigPtr& cfg, const std::string& body, int iterations,
                    Totals& t, bool& ok) {
  const NoLlm llm;
  const auto events = streamEvents();
  const auto& chain = cfg->route_plugins[0];
  for (int i = 0; i < iterations; ++i) {
    http::Request req;
    req.method = "POST";
    req.path = "/openai/chat";
    req.target = req.path;
    req.headers.push_back({"Content-Type", "application/json"});
    req.body = body;
    proxy::RequestContext ctx(req, cfg);
    ctx.route = 0;
    const auto t0 = Clock::now();
    co_await proxy::runAccess(ctx, chain, llm);
    const auto t1 = Clock::now();
    if (!ctx.ai || ctx.error) {
      ok = false;
      co_return;
    }
    auto up = proxy::buildAiRequest(*ctx.ai, req);
    const auto t2 = Clock::now();
    std::string answer = kAnswer;
    auto reply = ctx.ai->provider->parseResponse(ctx.ai->call, answer, *ctx.ai->target);
    const auto t3 = Clock::now();
    auto decoder = ctx.ai->provider->newStreamDecoder(ctx.ai->call, *ctx.ai->target);
    Discard sink;
    for (const auto& e : events) (void)decoder->onEvent({}, e, sink);
    (void)decoder->onEnd(sink);
    const auto t4 = Clock::now();
    if (!up || !reply || reply->usage.prompt_tokens != 19 || sink.bytes == 0) {
      ok = false;
      co_return;
    }
    t.access += us(t1 - t0);
    t.request += us(t2 - t1);
    t.answer += us(t3 - t2);
    t.stream += us(t4 - t3);
  }
}

}  // namespace

int main(int argc, char** argv) {
  const int iterations = argc > 1 ? std::max(1, std::atoi(argv[1])) : 20000;
  std::string body = kRequest;
  if (argc > 2) {
    std::ifstream in(argv[2]);
    std::stringstream ss;
    ss << in.rdbuf();
    body = ss.str();
  }
  auto cfg = config::loadText(kConfig, "json_path.yaml");
  if (!cfg) {
    std::fprintf(stderr, "json_path: %s\n", cfg.error().c_str());
    return 1;
  }
  std::vector<Totals> runs;
  for (int r = 0; r < 6; ++r) {
    boost::asio::io_context ioc(1);
    Totals t;
    bool ok = true;
    boost::asio::co_spawn(ioc, run(*cfg, body, iterations, t, ok), boost::asio::detached);
    ioc.run();
    if (!ok) {
      std::fprintf(stderr, "json_path: the request did not go through the OpenAI path\n");
      return 1;
    }
    if (r > 0) runs.push_back(t);  // the first run warms caches and allocators
  }
  auto median = [&](double Totals::*field) {
    std::vector<double> v;
    for (const auto& t : runs) v.push_back(t.*field / iterations);
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  const double a = median(&Totals::access), q = median(&Totals::request),
               n = median(&Totals::answer), s = median(&Totals::stream);
  std::printf("request body: %zu bytes, %d iterations x 5 runs (median)\n", body.size(),
              iterations);
  std::printf("access phase (parse, shape checks, call setup): %6.2f us\n", a);
  std::printf("upstream request (splices):                     %6.2f us\n", q);
  std::printf("answer (validate, usage):                       %6.2f us\n", n);
  std::printf("stream of 12 events (validate, usage):          %6.2f us\n", s);
  std::printf("non-streaming request total:                    %6.2f us\n", a + q + n);
  std::printf("streaming request total:                        %6.2f us\n", a + q + s);
  return 0;
}
