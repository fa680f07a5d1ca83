// Anthropic Messages API: https://docs.anthropic.com/en/api/messages
// OpenAI chat (the hub format) <-> Anthropic messages. The stream decoder lives in
// anthropic_stream.cpp. Embeddings: Anthropic has no embeddings endpoint.
//
// Where we differ from Kong's driver (notes §2.4/§2.11), on purpose: every system message is
// kept (Kong keeps the last), images, stop, top_p/top_k and user are translated, max_tokens
// always sent, finish reasons mapped to OpenAI's set, usage always numbers.
#include "providers/anthropic.hpp"

#include <algorithm>

#include "core/json.hpp"
#include "providers/builtin.hpp"
#include "providers/common.hpp"
#include "providers/json_fields.hpp"

namespace aigw::providers {

namespace anthropic {

namespace {

using Json = nlohmann::json;
using wire::field;
using wire::str;
template <typename T>
using ApiResult = Result<T, ApiError>;

constexpr const char* kName = "anthropic";
constexpr const char* kDefaultUrl = "https://api.anthropic.com/v1/messages";
// The API refuses requests without an anthropic-version header and Kong's driver fails without
// a configured one; we default to the version the docs use throughout
// (https://docs.anthropic.com/en/api/versioning) so a minimal config works.
constexpr const char* kDefaultVersion = "2023-06-01";
// max_tokens is required by the Messages API; this is used when neither the client nor
// model.options.max_tokens sets it (documented in README).
constexpr long long kDefaultMaxTokens = 4096;

std::string at(const std::string& path, std::size_t i) {
  return path + "[" + std::to_string(i) + "]";
}

template <typename T>
ApiResult<T> bad(std::string message, std::string param) {
  return ApiResult<T>::failure(ApiError::badRequest(std::move(message), std::move(param)));
}

// OpenAI image_url part -> Anthropic image block; the source is base64 for data: URLs and
// "url" for http(s) URLs. https://docs.anthropic.com/en/docs/build-with-claude/vision
ApiResult<Json> imageBlock(const Json& part, const std::string& path) {
  const Json& iu = field(part, "image_url");
  const std::string url = iu.is_string() ? iu.get<std::string>() : str(iu, "url");
  const std::string param = path + ".image_url.url";
  if (url.rfind("data:", 0) == 0) {
    const auto marker = url.find(";base64,");
    if (marker == std::string::npos || marker <= 5)
      return bad<Json>("anthropic accepts data: image URLs only as data:<media type>;base64,<data>",
                       param);
    return Json{{"type", "image"},
                {"source",
                 {{"type", "base64"},
                  {"media_type", url.substr(5, marker - 5)},
                  {"data", url.substr(marker + 8)}}}};
  }
  if (url.rfind("https://", 0) == 0 || url.rfind("http://", 0) == 0)
    return Json{{"type", "image"}, {"source", {{"type", "url"}, {"url", url}}}};
  return bad<Json>("image_url must be a data: URL or an http(s) URL", param);
}

// Prompt caching: the hub carries cache_control as an extension field on content parts,
// messages and tools (an Anthropic client's breakpoints translated for the hub, or an OpenAI
// client's, as LiteLLM accepts them); it goes back onto the Anthropic block it was on.
// https://docs.anthropic.com/en/docs/build-with-claude/prompt-caching
void keepCacheControl(const Json& from, Json& block) {
  if (const Json& cc = field(from, "cache_control"); cc.is_object()) block["cache_control"] = cc;
}

// OpenAI content (string, null or array of parts) -> Anthropic content blocks.
ApiResult<Json> contentBlocks(const Json& content, const std::string& path, bool allow_images) {
  Json blocks = Json::array();
  if (content.is_null()) return blocks;
  if (content.is_string()) {
    blocks.push_back({{"type", "text"}, {"text", content}});
    return blocks;
  }
  if (!content.is_array())
    return bad<Json>("message content must be a string or an array of parts", path);
  for (std::size_t i = 0; i < content.size(); ++i) {
    const Json& part = content[i];
    const std::string p = at(path, i);
    const std::string type = str(part, "type");
    if (type == "text" || type == "refusal") {
      const Json& text = field(part, type.c_str());
      if (!text.is_string())
        return bad<Json>("a " + type + " part needs a string '" + type + "'", p + "." + type);
      blocks.push_back({{"type", "text"}, {"text", text}});
      keepCacheControl(part, blocks.back());
    } else if (type == "image_url" && allow_images) {
      auto image = imageBlock(part, p);
      if (!image) return image;
      keepCacheControl(part, *image);
      blocks.push_back(std::move(*image));
    } else {
      return bad<Json>("content part type '" + type + "' is not supported by anthropic" +
                           (type == "image_url" ? " in this message role" : ""),
                       p + ".type");
    }
  }
  return blocks;
}

// Assistant tool_calls -> tool_use blocks; the arguments JSON string becomes the input object.
// https://docs.anthropic.com/en/docs/build-with-claude/tool-use
ApiResult<Json> toolUseBlocks(const Json& calls, const std::string& path) {
  auto parsed = parseToolCalls(calls, path, "anthropic");
  if (!parsed) return ApiResult<Json>::failure(parsed.error());
  Json blocks = Json::array();
  for (auto& tc : *parsed)
    blocks.push_back(
        {{"type", "tool_use"}, {"id", tc.id}, {"name", tc.name}, {"input", std::move(tc.input)}});
  return blocks;
}

// OpenAI messages -> Anthropic `system` + `messages`. Anthropic wants user/assistant turns
// alternating, system text outside the list and tool results as user content blocks, so
// consecutive messages of the same Anthropic role are merged into one.
// https://docs.anthropic.com/en/api/messages#body-messages
// `system` gets the system text; `system_blocks` the same as text blocks, which are sent
// instead when one of them carries cache_control.
ApiResult<Json> toMessages(const Json& messages, std::string& system, Json& system_blocks) {
  if (!messages.is_array() || messages.empty())
    return bad<Json>("request body doesn't contain valid prompts", "messages");
  Json out = Json::array();
  auto append = [&](const char* role, Json blocks) {
    if (blocks.empty()) return;
    if (!out.empty() && out.back()["role"] == role) {
      for (auto& b : blocks) out.back()["content"].push_back(std::move(b));
    } else {
      out.push_back({{"role", role}, {"content", std::move(blocks)}});
    }
  };
  for (std::size_t i = 0; i < messages.size(); ++i) {
    const Json& m = messages[i];
    const std::string path = at("messages", i);
    const std::string role = str(m, "role");
    const Json& content = field(m, "content");
    // A cache_control on the message itself marks its last block.
    auto mark = [&](Json& blocks) {
      if (!blocks.empty() && !blocks.back().contains("cache_control"))
        keepCacheControl(m, blocks.back());
    };
    if (role == "system" || role == "developer") {
      auto blocks = contentBlocks(content, path + ".content", false);
      if (!blocks) return blocks;
      std::string text;
      for (const auto& b : *blocks) text += b["text"].get<std::string>();
      if (text.empty()) continue;
      if (!system.empty()) system += "\n\n";
      system += text;
      mark(*blocks);
      for (auto& b : *blocks)
        if (!b["text"].get_ref<const std::string&>().empty()) system_blocks.push_back(std::move(b));
    } else if (role == "user") {
      auto blocks = contentBlocks(content, path + ".content", true);
      if (!blocks) return blocks;
      mark(*blocks);
      append("user", std::move(*blocks));
    } else if (role == "assistant") {
      auto blocks = contentBlocks(content, path + ".content", false);
      if (!blocks) return blocks;
      Json kept = Json::array();  // the API rejects empty text blocks
      for (auto& b : *blocks)
        if (!b["text"].get_ref<const std::string&>().empty()) kept.push_back(std::move(b));
      auto uses = toolUseBlocks(field(m, "tool_calls"), path + ".tool_calls");
      if (!uses) return uses;
      for (auto& u : *uses) kept.push_back(std::move(u));
      mark(kept);
      append("assistant", std::move(kept));
    } else if (role == "tool") {
      const std::string id = str(m, "tool_call_id");
      if (id.empty())
        return bad<Json>("a tool message needs a 'tool_call_id'", path + ".tool_call_id");
      Json result = {{"type", "tool_result"}, {"tool_use_id", id}};
      if (content.is_string()) {
        result["content"] = content;
      } else if (!content.is_null()) {
        auto blocks = contentBlocks(content, path + ".content", true);
        if (!blocks) return blocks;
        result["content"] = std::move(*blocks);
      }
      keepCacheControl(m, result);
      append("user", Json::array({std::move(result)}));
    } else {
      return bad<Json>("message role '" + role + "' is not supported by anthropic", path + ".role");
    }
  }
  // A lone text block is sent as a plain string, the shape of the docs' examples.
  for (auto& msg : out) {
    Json& c = msg["content"];
    if (c.size() == 1 && c[0]["type"] == "text" && !c[0].contains("cache_control"))
      c = c[0]["text"];
  }
  if (out.empty())
    return bad<Json>("anthropic needs at least one user or assistant message", "messages");
  return out;
}

// OpenAI function tools -> Anthropic tools ({name, description, input_schema}).
// https://docs.anthropic.com/en/docs/build-with-claude/tool-use#specifying-client-tools
ApiResult<Json> toolsFor(const Json& tools) {
  if (!tools.is_array()) return bad<Json>("tools must be an array", "tools");
  Json out = Json::array();
  for (std::size_t j = 0; j < tools.size(); ++j) {
    const std::string p = at("tools", j);
    const std::string type = str(tools[j], "type");
    if (type != "function")
      return bad<Json>(
          "tool type '" + type + "' is not supported by anthropic; only function tools are",
          p + ".type");
    const Json& fn = field(tools[j], "function");
    const std::string name = str(fn, "name");
    if (name.empty()) return bad<Json>("a tool needs a function name", p + ".function.name");
    const Json& params = field(fn, "parameters");
    Json tool = {
        {"name", name},
        {"input_schema",
         params.is_object() ? params : Json{{"type", "object"}, {"properties", Json::object()}}}};
    if (const std::string d = str(fn, "description"); !d.empty()) tool["description"] = d;
    keepCacheControl(fn, tool);
    keepCacheControl(tools[j], tool);
    out.push_back(std::move(tool));
  }
  return out;
}

// OpenAI tool_choice -> Anthropic tool_choice.
// https://docs.anthropic.com/en/docs/build-with-claude/tool-use#forcing-tool-use
//   "auto" -> {"type":"auto"}   "required" -> {"type":"any"}   "none" -> {"type":"none"}
//   {"type":"function","function":{"name":N}} -> {"type":"tool","name":N}
ApiResult<Json> toolChoiceFor(const Json& choice) {
  if (choice.is_string()) {
    const std::string& s = choice.get_ref<const std::string&>();
    if (s == "auto") return Json{{"type", "auto"}};
    if (s == "required") return Json{{"type", "any"}};
    if (s == "none") return Json{{"type", "none"}};
  } else if (str(choice, "type") == "function") {
    const std::string name = str(field(choice, "function"), "name");
    if (!name.empty()) return Json{{"type", "tool"}, {"name", name}};
    return bad<Json>("tool_choice needs function.name", "tool_choice.function.name");
  }
  return bad<Json>(
      R"(tool_choice must be "auto", "required", "none" or {"type":"function","function":{"name":...}})",
      "tool_choice");
}

// OpenAI parameters with no Messages API equivalent: a client that sets them gets a 400 naming
// the field rather than an answer that silently ignored it (BRIEF §4).
std::optional<ApiError> checkUnsupported(const Json& in) {
  if (auto e = rejectUnsupported(in, "anthropic",
                                 {"logprobs", "top_logprobs", "logit_bias", "presence_penalty",
                                  "frequency_penalty", "seed", "audio", "prediction"}))
    return e;
  if (const Json& rf = field(in, "response_format"); !rf.is_null()) {
    const std::string type = str(rf, "type");
    if (type != "text")
      return ApiError::badRequest(
          "response_format '" + type +
              "' is not supported by provider anthropic: the Messages API has no "
              "JSON mode; describe the format in the prompt or use a tool",
          "response_format");
  }
  return std::nullopt;
}

// Legacy completions: Kong calls the deprecated /v1/complete ("\n\nHuman: ...\n\nAssistant:")
// which current models no longer serve; we send the prompt as one user message to the
// Messages API and answer with an OpenAI text_completion instead.
ApiResult<Json> promptMessages(const Json& prompt) {
  const Json* text = &prompt;
  if (prompt.is_array() && prompt.size() == 1) text = &prompt[0];
  if (!text->is_string())
    return bad<Json>("anthropic takes one string prompt per request", "prompt");
  return Json::array({{{"role", "user"}, {"content", *text}}});
}

// An Anthropic client (llm_format anthropic, Claude Code): its body goes upstream as written
// apart from model, options and credentials, so cache_control, thinking, citations and beta
// features all survive; /v1/messages/count_tokens goes to Anthropic's own counting endpoint.
// The client's query (Claude Code's ?beta=true) is kept.
ApiResult<http::UpstreamRequest> nativeRequest(const ProxyCall& call, const Target& target,
                                               http::UpstreamRequest req) {
  const bool count = call.native_op == "count_tokens";
  if (count) {
    const auto q = req.url.find('?');
    req.url.insert(q == std::string::npos ? req.url.size() : q, "/count_tokens");
  }
  if (!call.client_query.empty())
    req.url +=
        (req.url.find('?') == std::string::npos ? "?" : "&") + std::string(call.client_query);
  // count_tokens takes no generation options (the API refuses max_tokens there).
  static constexpr OptionKeys kKeys{"max_tokens", "temperature", "top_p", "top_k"};
  req.body = nativeBody(call, target, count ? nullptr : &kKeys);
  return req;
}

class AnthropicProvider : public Provider {
 public:
  std::string_view name() const override { return kName; }
  bool supports(RouteType type) const override { return type != RouteType::Embeddings; }
  bool speaks(NativeApi api) const override { return api == NativeApi::Anthropic; }

  ApiResult<http::UpstreamRequest> buildRequest(const ProxyCall& call,
                                                const Target& target) const override {
    using R = ApiResult<http::UpstreamRequest>;
    const Json& in = *call.body;
    http::UpstreamRequest req;
    req.url = resolveUrl(target, kDefaultUrl, call);
    req.headers = jsonRequestHeaders(call.stream);
    req.headers.push_back({"anthropic-version", target.options.anthropic_version.empty()
                                                    ? kDefaultVersion
                                                    : target.options.anthropic_version});
    if (call.route_type == RouteType::Preserve) {
      http::Headers version = {req.headers.back()};
      preserveRequest(req, call);
      req.headers.push_back(std::move(version[0]));
      return req;
    }
    if (call.native == NativeApi::Anthropic) return nativeRequest(call, target, std::move(req));
    if (auto e = checkUnsupported(in)) return R::failure(std::move(*e));
    Json body = {{"model", call.model}, {"stream", call.stream}};
    if (call.route_type == RouteType::Completions) {
      auto messages = promptMessages(field(in, "prompt"));
      if (!messages) return R::failure(messages.error());
      body["messages"] = std::move(*messages);
    } else {
      std::string system;
      Json system_blocks = Json::array();
      auto messages = toMessages(field(in, "messages"), system, system_blocks);
      if (!messages) return R::failure(messages.error());
      body["messages"] = std::move(*messages);
      const bool cache = std::any_of(system_blocks.begin(), system_blocks.end(),
                                     [](const Json& b) { return b.contains("cache_control"); });
      if (cache)
        body["system"] = std::move(system_blocks);
      else if (!system.empty())
        body["system"] = std::move(system);
    }
    // Options fill what the client left out; the client's own values win (BRIEF §4).
    applyOptions(body, in, target.options,
                 OptionKeys{"max_tokens", "temperature", "top_p", "top_k"});
    for (const char* key : {"max_tokens", "temperature", "top_p", "top_k"})
      if (!field(in, key).is_null()) body[key] = in[key];
    if (!field(in, "max_completion_tokens").is_null())
      body["max_tokens"] = in["max_completion_tokens"];
    if (!body.contains("max_tokens")) body["max_tokens"] = kDefaultMaxTokens;

    if (const Json& stop = field(in, "stop"); !stop.is_null()) {
      if (stop.is_string()) {
        body["stop_sequences"] = Json::array({stop});
      } else if (stop.is_array() && std::all_of(stop.begin(), stop.end(),
                                                [](const Json& s) { return s.is_string(); })) {
        body["stop_sequences"] = stop;
      } else {
        return R::failure(
            ApiError::badRequest("stop must be a string or an array of strings", "stop"));
      }
    }
    if (const std::string user = str(in, "user"); !user.empty())
      body["metadata"] = {{"user_id", user}};
    if (const Json& tools = field(in, "tools"); !tools.is_null()) {
      auto converted = toolsFor(tools);
      if (!converted) return R::failure(converted.error());
      if (!converted->empty()) body["tools"] = std::move(*converted);
    }
    if (const Json& choice = field(in, "tool_choice"); !choice.is_null()) {
      auto converted = toolChoiceFor(choice);
      if (!converted) return R::failure(converted.error());
      body["tool_choice"] = std::move(*converted);
    }
    // parallel_tool_calls: false is Anthropic's tool_choice.disable_parallel_tool_use.
    if (const Json& ptc = field(in, "parallel_tool_calls");
        ptc.is_boolean() && !ptc.get<bool>() && body.contains("tools")) {
      if (!body.contains("tool_choice")) body["tool_choice"] = {{"type", "auto"}};
      if (body["tool_choice"]["type"] != "none")
        body["tool_choice"]["disable_parallel_tool_use"] = true;
    }
    req.body = serializeBody(body, call);
    return req;
  }

  ApiResult<ProviderReply> parseResponse(const ProxyCall& call, std::string& raw,
                                         const Target&) const override {
    using R = ApiResult<ProviderReply>;
    ProviderReply reply;
    if (call.route_type == RouteType::Preserve) {
      reply.body = std::move(raw);
      return reply;
    }
    auto parsed = parseUpstreamJson(raw, kName);
    if (!parsed) return R::failure(parsed.error());
    const Json& body = *parsed;
    const Json& content = field(body, "content");
    if (!content.is_array())
      return R::failure(
          ApiError::badGateway("upstream anthropic returned a response without a 'content' array"));
    // Text blocks are consecutive pieces of one answer: joined without a separator.
    Completion answer;
    for (const auto& block : content) {
      const std::string type = str(block, "type");
      if (type == "text") {
        answer.text += str(block, "text");
      } else if (type == "tool_use") {
        answer.tool_calls.push_back(
            toolCallJson(str(block, "id"), str(block, "name"), field(block, "input")));
      }  // thinking / redacted_thinking blocks have no OpenAI counterpart in a chat answer
    }
    reply.usage = usageFrom(field(body, "usage"));
    answer.id = str(body, "id");
    answer.model = str(body, "model");
    answer.finish_reason = finishReason(str(body, "stop_reason"));
    answer.usage = reply.usage;
    reply.body = renderCompletion(call, std::move(answer));
    return reply;
  }

  std::unique_ptr<StreamDecoder> newStreamDecoder(const ProxyCall& call,
                                                  const Target&) const override {
    return anthropic::newStreamDecoder(call.route_type, call.model);
  }
  // Errors: {"type":"error","error":{"type":"overloaded_error","message":...}}
  // (https://docs.anthropic.com/en/api/errors): the default parseError reads error.message and
  // error.type and keeps the status (529 stays 529).
};

}  // namespace

// https://docs.anthropic.com/en/api/messages#response-stop-reason
std::string finishReason(std::string_view stop_reason) {
  struct Entry {
    std::string_view anthropic;
    const char* openai;
  };
  static constexpr Entry kTable[] = {
      {"end_turn", "stop"},       {"stop_sequence", "stop"},
      {"max_tokens", "length"},   {"model_context_window_exceeded", "length"},
      {"tool_use", "tool_calls"}, {"refusal", "content_filter"},
      {"pause_turn", "stop"},  // a long server-tool turn paused; the client may continue it
  };
  for (const auto& e : kTable)
    if (e.anthropic == stop_reason) return e.openai;
  return "stop";
}

// https://docs.anthropic.com/en/api/messages#response-usage
Usage usageFrom(const nlohmann::json& usage) {
  Usage u;
  if (!usage.is_object()) return u;
  auto num = [&](const char* key) -> long long {
    auto it = usage.find(key);
    return it != usage.end() && it->is_number() ? it->get<long long>() : -1;
  };
  const long long input = num("input_tokens");
  u.cached_tokens = num("cache_read_input_tokens");
  u.cache_write_tokens = num("cache_creation_input_tokens");
  if (input >= 0)
    u.prompt_tokens = input + std::max(0LL, u.cached_tokens) + std::max(0LL, u.cache_write_tokens);
  u.completion_tokens = num("output_tokens");
  return u;
}

}  // namespace anthropic

const Provider& builtin::anthropic() {
  static const anthropic::AnthropicProvider provider;
  return provider;
}

}  // namespace aigw::providers
