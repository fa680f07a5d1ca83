// The built-in mock provider: deterministic OpenAI-shaped answers produced in-process, for
// demos, offline quickstart, client tests and load tests of the gateway itself. It goes
// through the same OpenAI decoder as a real upstream, so it streams like one.
// Options (model.options.mock): reply (fixed text), latency_ms (before the first byte),
// tokens_per_second (0 = as fast as possible).
// Tools: when the request offers function tools (tool_choice not "none") and the conversation
// does not end in a tool result, the answer calls the first tool (or the one tool_choice
// names) with arguments made from its JSON schema (strings get the last user text, numbers 1,
// booleans true); after a tool result it answers in text quoting the result. So agent loops
// (Claude Code, the Responses API, the AI SDK) run offline.
#include <algorithm>
#include <chrono>

#include "core/json.hpp"
#include "providers/builtin.hpp"
#include "providers/common.hpp"
#include "providers/openai_compat.hpp"

namespace aigw::providers::builtin {

namespace {

using Json = nlohmann::json;

std::vector<std::string> splitWords(const std::string& text) {
  std::vector<std::string> words;
  std::string cur;
  for (char c : text) {
    cur += c;
    if (c == ' ') words.push_back(std::move(cur)), cur.clear();
  }
  if (!cur.empty()) words.push_back(std::move(cur));
  return words;
}

long long countWords(const std::string& s) {
  long long n = 0;
  bool in_word = false;
  for (char c : s) {
    bool space = c == ' ' || c == '\n' || c == '\t';
    if (!space && !in_word) ++n;
    in_word = !space;
  }
  return n;
}

// A precomputed answer, paced by the proxy's event loop like a real upstream's stream.
LocalReply reply(std::vector<std::string> pieces, bool stream, int latency_ms,
                 double tokens_per_second) {
  LocalReply r;
  r.headers.push_back({"content-type", stream ? "text/event-stream" : "application/json"});
  r.pieces = std::move(pieces);
  r.first_delay_ms = latency_ms;
  if (tokens_per_second > 0)
    r.interval = std::chrono::microseconds(static_cast<long long>(1e6 / tokens_per_second));
  return r;
}

// Arguments for a tool from its JSON schema: every required property (all of them when none
// is marked required) gets a plain value of its type.
Json argumentsFor(const Json& parameters, const std::string& text) {
  Json args = Json::object();
  if (!parameters.is_object()) return args;
  const Json props = parameters.value("properties", Json::object());
  if (!props.is_object()) return args;
  const Json required = parameters.value("required", Json::array());
  for (const auto& [name, schema] : props.items()) {
    if (required.is_array() && !required.empty() &&
        std::find(required.begin(), required.end(), name) == required.end())
      continue;
    const std::string type = schema.is_object() ? schema.value("type", "string") : "string";
    args[name] = type == "integer" || type == "number" ? Json(1)
                 : type == "boolean"                   ? Json(true)
                 : type == "array"                     ? Json::array()
                 : type == "object"                    ? Json::object()
                                                       : Json(text);
  }
  return args;
}

// The tool to call, or null: see the top of the file.
const Json* toolToCall(const Json& body) {
  const auto tools_it = body.find("tools");
  if (tools_it == body.end() || !tools_it->is_array() || tools_it->empty()) return nullptr;
  const Json& tools = *tools_it;
  const Json choice = body.value("tool_choice", Json());
  if (choice == "none") return nullptr;
  const auto messages = body.find("messages");
  if (messages != body.end() && messages->is_array() && !messages->empty() &&
      messages->back().is_object() && messages->back().value("role", "") == "tool")
    return nullptr;
  std::string wanted;
  if (choice.is_object()) wanted = choice.value("function", Json::object()).value("name", "");
  for (const auto& t : tools) {
    const Json fn = t.value("function", Json::object());
    if (t.value("type", "") == "function" && (wanted.empty() || fn.value("name", "") == wanted))
      return &t;
  }
  return nullptr;
}

class MockProvider : public OpenAICompatProvider {
 public:
  MockProvider()
      : OpenAICompatProvider(OpenAICompatSpec{"mock",
                                              "mock://local/v1/chat/completions",
                                              "mock://local/v1/completions",
                                              "mock://local/v1/embeddings",
                                              true,
                                              {}}) {}

  void checkTarget(const Target&, RouteType,
                   std::vector<std::pair<std::string, std::string>>&) const override {}

  Result<http::UpstreamRequest, ApiError> buildRequest(const ProxyCall& call,
                                                       const Target& target) const override {
    auto req = OpenAICompatProvider::buildRequest(call, target);
    if (!req) return req;
    // The mock reads its behaviour from the request itself, so pass its options along.
    req->headers.push_back(
        {"X-Mock-Options", json::dump(target.options.blocks.value("mock", Json::object()))});
    return req;
  }

  std::optional<LocalReply> localExchange(const http::UpstreamRequest& req) const override {
    // A body the mock cannot read (possible with route_type preserve, which skips the checks)
    // is answered like a real upstream would: a 400, never an exception.
    try {
      return answer(req);
    } catch (const std::exception&) {
      LocalReply bad = reply(
          {R"({"error":{"message":"the mock provider cannot read this request body","type":"invalid_request_error"}})"},
          false, 0, 0);
      bad.status = 400;
      return bad;
    }
  }

 private:
  LocalReply answer(const http::UpstreamRequest& req) const {
    Json body, opts = Json::object();
    json::parse(req.body, body);
    for (const auto& h : req.headers)
      if (h.name == "X-Mock-Options") json::parse(h.value, opts);
    const bool stream = body.value("stream", false);
    const std::string model = body.value("model", "mock");
    const int latency = opts.value("latency_ms", 0);
    const double tps = opts.value("tokens_per_second", 0.0);

    if (req.url.find("/embeddings") != std::string::npos) {
      Json data = Json::array();
      const Json input = body.value("input", Json(""));
      const std::size_t n = input.is_array() ? input.size() : 1;
      for (std::size_t i = 0; i < n; ++i) {
        Json vec = Json::array();
        const std::string text = input.is_array() ? json::dump(input[i]) : json::dump(input);
        std::size_t h = std::hash<std::string>{}(text);
        for (int d = 0; d < 8; ++d)
          vec.push_back(static_cast<double>((h >> (d * 8)) & 0xff) / 255.0);
        data.push_back({{"object", "embedding"}, {"index", i}, {"embedding", std::move(vec)}});
      }
      const long long tokens = countWords(json::dump(input));
      Json out = {{"object", "list"},
                  {"data", std::move(data)},
                  {"model", model},
                  {"usage", {{"prompt_tokens", tokens}, {"total_tokens", tokens}}}};
      return reply({json::dump(out)}, false, latency, 0);
    }

    const bool completions = req.url.find("/v1/completions") != std::string::npos;
    std::string prompt_text, last_user, tool_result;
    if (completions) {
      prompt_text = last_user =
          body.value("prompt", Json("")).is_string() ? body.value("prompt", "") : "";
    } else {
      for (const auto& m : body.value("messages", Json::array())) {
        std::string t = contentText(m.value("content", Json("")));
        prompt_text += t + " ";
        if (m.value("role", "") == "user") last_user = t;
        tool_result = m.value("role", "") == "tool" ? t : "";
      }
    }
    if (last_user.size() > 200) last_user = last_user.substr(0, 200) + "...";
    if (const Json* tool = completions ? nullptr : toolToCall(body))
      return toolCall(body, *tool, last_user, countWords(prompt_text), latency);
    std::string text = opts.value("reply", "");
    if (text.empty() && !tool_result.empty()) {
      if (tool_result.size() > 200) tool_result = tool_result.substr(0, 200) + "...";
      text = "This is a mock answer from aigw (no real model was called). The tool returned: " +
             tool_result;
    } else if (text.empty()) {
      text = "This is a mock answer from aigw (no real model was called). You said: " + last_user;
    }
    auto words = splitWords(text);
    long long max_tokens = body.value("max_tokens", 0LL);
    std::string finish = "stop";
    if (max_tokens > 0 && static_cast<long long>(words.size()) > max_tokens) {
      words.resize(max_tokens);
      finish = "length";
      text.clear();
      for (auto& w : words) text += w;
    }
    const long long prompt_tokens = countWords(prompt_text);
    const long long completion_tokens = static_cast<long long>(words.size());
    const Json usage = {{"prompt_tokens", prompt_tokens},
                        {"completion_tokens", completion_tokens},
                        {"total_tokens", prompt_tokens + completion_tokens}};
    const std::string id = newCompletionId(completions ? "cmpl-mock-" : "chatcmpl-mock-");
    const long long created = unixNow();

    if (!stream) {
      Json choice = {{"index", 0}, {"finish_reason", finish}, {"logprobs", nullptr}};
      if (completions)
        choice["text"] = text;
      else
        choice["message"] = {{"role", "assistant"}, {"content", text}};
      Json out = {{"id", id},
                  {"object", completions ? "text_completion" : "chat.completion"},
                  {"created", created},
                  {"model", model},
                  {"choices", Json::array({std::move(choice)})},
                  {"usage", usage}};
      return reply({json::dump(out)}, false, latency, 0);
    }
    std::vector<std::string> events;
    auto event = [&](Json choice, bool with_usage) {
      Json chunk = makeChunk(id, created, model);
      if (completions) chunk["object"] = "text_completion";
      if (!choice.is_null()) chunk["choices"].push_back(std::move(choice));
      if (with_usage) chunk["usage"] = usage;
      events.push_back("data: " + json::dump(chunk) + "\n\n");
    };
    if (!completions)
      event({{"index", 0},
             {"delta", {{"role", "assistant"}, {"content", ""}}},
             {"finish_reason", nullptr}},
            false);
    for (const auto& w : words) {
      if (completions)
        event({{"index", 0}, {"text", w}, {"finish_reason", nullptr}}, false);
      else
        event({{"index", 0}, {"delta", {{"content", w}}}, {"finish_reason", nullptr}}, false);
    }
    if (completions)
      event({{"index", 0}, {"text", ""}, {"finish_reason", finish}}, false);
    else
      event({{"index", 0}, {"delta", Json::object()}, {"finish_reason", finish}}, false);
    const auto& so = body.value("stream_options", Json::object());
    if (so.is_object() && so.value("include_usage", false)) event(Json(), true);
    events.push_back("data: [DONE]\n\n");
    return reply(std::move(events), true, latency, tps);
  }

  static LocalReply toolCall(const Json& body, const Json& tool, const std::string& text,
                             long long prompt_tokens, int latency) {
    const Json fn = tool.value("function", Json::object());
    const std::string name = fn.value("name", "tool");
    const std::string args = json::dump(argumentsFor(fn.value("parameters", Json()), text));
    const std::string model = body.value("model", "mock");
    const std::string id = newCompletionId("chatcmpl-mock-");
    const std::string call_id = newCompletionId("call_mock_");
    const long long created = unixNow();
    const Json usage = {{"prompt_tokens", prompt_tokens},
                        {"completion_tokens", 10},
                        {"total_tokens", prompt_tokens + 10}};
    const Json call = {
        {"id", call_id}, {"type", "function"}, {"function", {{"name", name}, {"arguments", args}}}};
    if (!body.value("stream", false)) {
      Json out = {{"id", id},
                  {"object", "chat.completion"},
                  {"created", created},
                  {"model", model},
                  {"choices", Json::array({{{"index", 0},
                                            {"message",
                                             {{"role", "assistant"},
                                              {"content", nullptr},
                                              {"tool_calls", Json::array({call})}}},
                                            {"finish_reason", "tool_calls"},
                                            {"logprobs", nullptr}}})},
                  {"usage", usage}};
      return reply({json::dump(out)}, false, latency, 0);
    }
    std::vector<std::string> events;
    auto event = [&](Json delta, Json finish) {
      Json chunk = makeChunk(id, created, model);
      chunk["choices"].push_back(
          {{"index", 0}, {"delta", std::move(delta)}, {"finish_reason", std::move(finish)}});
      events.push_back("data: " + json::dump(chunk) + "\n\n");
    };
    Json first = call;
    first["index"] = 0;
    first["function"]["arguments"] = "";
    event({{"role", "assistant"}, {"content", nullptr}, {"tool_calls", Json::array({first})}},
          nullptr);
    // The arguments in two pieces, as models stream them.
    for (const std::string& piece : {args.substr(0, args.size() / 2), args.substr(args.size() / 2)})
      event({{"tool_calls", Json::array({{{"index", 0}, {"function", {{"arguments", piece}}}}})}},
            nullptr);
    event(Json::object(), "tool_calls");
    const auto& so = body.value("stream_options", Json::object());
    if (so.is_object() && so.value("include_usage", false)) {
      Json chunk = makeChunk(id, created, model);
      chunk["usage"] = usage;
      events.push_back("data: " + json::dump(chunk) + "\n\n");
    }
    events.push_back("data: [DONE]\n\n");
    return reply(std::move(events), true, latency, 0);
  }
};

}  // namespace

const Provider& mock() {
  static const MockProvider provider;
  return provider;
}

}  // namespace aigw::providers::builtin
