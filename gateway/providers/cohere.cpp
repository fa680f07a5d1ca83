// Cohere v2 API: chat https://docs.cohere.com/reference/chat (streaming:
// https://docs.cohere.com/reference/chat-stream, decoded in cohere_stream.cpp) and embed
// https://docs.cohere.com/reference/embed. The completions route sends the prompt as one user
// message to v2 chat and answers text_completion.
//
// v2 messages are close to OpenAI's (system/user/assistant/tool roles, OpenAI-shaped tools and
// tool_calls), so the translation is mostly renaming: top_p -> p, top_k -> k, stop ->
// stop_sequences, tool_choice -> REQUIRED/NONE. Kong's driver speaks v1 (chat_history,
// system mapped to USER, raw COMPLETE finish reasons); v1 lives in cohere_v1.cpp and is chosen
// at load time when upstream_url points at it (builtin::cohereFor).
#include "providers/cohere.hpp"

#include <algorithm>
#include <cstring>

#include "core/json.hpp"
#include "providers/builtin.hpp"
#include "providers/common.hpp"
#include "providers/json_fields.hpp"

namespace aigw::providers {

namespace cohere {

namespace {

using Json = nlohmann::json;
using wire::field;
using wire::str;
template <typename T>
using ApiResult = Result<T, ApiError>;

constexpr const char* kName = "cohere";
constexpr const char* kChatUrl = "https://api.cohere.com/v2/chat";
constexpr const char* kEmbedUrl = "https://api.cohere.com/v2/embed";
// v2 embed requires input_type for current models; OpenAI's API has none, and documents are
// the common case for an embeddings route. A client may send Cohere's own "input_type".
constexpr const char* kDefaultInputType = "search_document";

std::string at(const std::string& path, std::size_t i) {
  return path + "[" + std::to_string(i) + "]";
}

template <typename T>
ApiResult<T> bad(std::string message, std::string param) {
  return ApiResult<T>::failure(ApiError::badRequest(std::move(message), std::move(param)));
}

// OpenAI content -> v2 content: a string stays a string; parts are text and (user only)
// image_url, which v2 takes in OpenAI's own shape. https://docs.cohere.com/docs/image-inputs
ApiResult<Json> contentFor(const Json& content, const std::string& path, bool allow_images) {
  if (content.is_string()) return content;
  if (content.is_null()) return Json("");
  if (!content.is_array())
    return bad<Json>("message content must be a string or an array of parts", path);
  Json parts = Json::array();
  for (std::size_t i = 0; i < content.size(); ++i) {
    const Json& part = content[i];
    const std::string p = at(path, i);
    const std::string type = str(part, "type");
    if (type == "text" || type == "refusal") {
      const Json& text = field(part, type.c_str());
      if (!text.is_string())
        return bad<Json>("a " + type + " part needs a string '" + type + "'", p + "." + type);
      parts.push_back({{"type", "text"}, {"text", text}});
    } else if (type == "image_url" && allow_images) {
      const Json& iu = field(part, "image_url");
      const std::string url = iu.is_string() ? iu.get<std::string>() : str(iu, "url");
      if (url.empty()) return bad<Json>("image_url needs a url", p + ".image_url.url");
      Json image = {{"url", url}};
      if (const std::string detail = str(iu, "detail"); !detail.empty()) image["detail"] = detail;
      parts.push_back({{"type", "image_url"}, {"image_url", std::move(image)}});
    } else {
      return bad<Json>("content part type '" + type + "' is not supported by cohere" +
                           (type == "image_url" ? " in this message role" : ""),
                       p + ".type");
    }
  }
  return parts;
}

std::string textOf(const Json& content) {
  return content.is_string() ? content.get<std::string>() : contentText(content);
}

// OpenAI tool_calls -> v2 tool_calls (same shape; arguments stay a JSON string).
ApiResult<Json> toolCallsFor(const Json& calls, const std::string& path) {
  if (!calls.is_array()) return bad<Json>("tool_calls must be an array", path);
  Json out = Json::array();
  for (std::size_t j = 0; j < calls.size(); ++j) {
    const std::string p = at(path, j);
    const Json& fn = field(calls[j], "function");
    const std::string name = str(fn, "name");
    if (name.empty()) return bad<Json>("a tool call needs a function name", p + ".function.name");
    const Json& args = field(fn, "arguments");
    if (!args.is_null() && !args.is_string() && !args.is_object())
      return bad<Json>("tool call arguments must be a JSON string", p + ".function.arguments");
    out.push_back({{"id", str(calls[j], "id")},
                   {"type", "function"},
                   {"function",
                    {{"name", name},
                     {"arguments", args.is_object() ? json::dump(args) : str(fn, "arguments")}}}});
  }
  return out;
}

// OpenAI messages -> v2 messages. https://docs.cohere.com/reference/chat#request.body.messages
ApiResult<Json> toMessages(const Json& messages) {
  if (!messages.is_array() || messages.empty())
    return bad<Json>("request body doesn't contain valid prompts", "messages");
  Json out = Json::array();
  for (std::size_t i = 0; i < messages.size(); ++i) {
    const Json& m = messages[i];
    const std::string path = at("messages", i);
    const std::string role = str(m, "role");
    const Json& content = field(m, "content");
    if (role == "system" || role == "developer" || role == "user") {
      auto converted = contentFor(content, path + ".content", role == "user");
      if (!converted) return converted;
      out.push_back(
          {{"role", role == "user" ? "user" : "system"}, {"content", std::move(*converted)}});
    } else if (role == "assistant") {
      auto converted = contentFor(content, path + ".content", false);
      if (!converted) return converted;
      Json msg = {{"role", "assistant"}};
      const std::string text = textOf(*converted);
      if (const Json& calls = field(m, "tool_calls"); !calls.is_null() && !calls.empty()) {
        auto tool_calls = toolCallsFor(calls, path + ".tool_calls");
        if (!tool_calls) return tool_calls;
        msg["tool_calls"] = std::move(*tool_calls);
        // v2 carries the text that goes with tool calls as tool_plan; our answers put the
        // tool plan in content, so this round-trips.
        if (!text.empty()) msg["tool_plan"] = text;
      } else if (!text.empty()) {
        msg["content"] = std::move(*converted);
      } else {
        continue;  // v2 rejects an assistant turn with neither content nor tool calls
      }
      out.push_back(std::move(msg));
    } else if (role == "tool") {
      const std::string id = str(m, "tool_call_id");
      if (id.empty())
        return bad<Json>("a tool message needs a 'tool_call_id'", path + ".tool_call_id");
      auto converted = contentFor(content, path + ".content", false);
      if (!converted) return converted;
      out.push_back({{"role", "tool"}, {"tool_call_id", id}, {"content", std::move(*converted)}});
    } else {
      return bad<Json>("message role '" + role + "' is not supported by cohere", path + ".role");
    }
  }
  return out;
}

// Tools, tool_choice and response_format. v2 tools are OpenAI's shape; tool_choice is only
// REQUIRED or NONE, so naming one function is expressed as "only that tool, and REQUIRED".
// https://docs.cohere.com/reference/chat#request.body.tool_choice
std::optional<ApiError> addToolsAndFormat(const Json& in, Json& body) {
  const Json& tools = field(in, "tools");
  if (!tools.is_null() && !tools.is_array())
    return ApiError::badRequest("tools must be an array", "tools");
  if (tools.is_array()) {
    for (std::size_t j = 0; j < tools.size(); ++j) {
      if (str(tools[j], "type") != "function")
        return ApiError::badRequest("tool type '" + str(tools[j], "type") +
                                        "' is not supported by cohere; only function tools are",
                                    at("tools", j) + ".type");
    }
    if (!tools.empty()) body["tools"] = tools;
  }
  if (const Json& choice = field(in, "tool_choice"); !choice.is_null()) {
    const std::string s = choice.is_string() ? choice.get<std::string>() : std::string();
    if (s == "required") {
      body["tool_choice"] = "REQUIRED";
    } else if (s == "none") {
      body["tool_choice"] = "NONE";
    } else if (str(choice, "type") == "function") {
      const std::string name = str(field(choice, "function"), "name");
      Json only = Json::array();
      for (const auto& t : body.value("tools", Json::array()))
        if (str(field(t, "function"), "name") == name) only.push_back(t);
      if (name.empty() || only.empty())
        return ApiError::badRequest("tool_choice names a function that is not in tools",
                                    "tool_choice.function.name");
      body["tools"] = std::move(only);
      body["tool_choice"] = "REQUIRED";
    } else if (s != "auto") {
      return ApiError::badRequest(
          R"(tool_choice must be "auto", "required", "none" or {"type":"function","function":{"name":...}})",
          "tool_choice");
    }
  }
  // https://docs.cohere.com/docs/structured-outputs: {"type":"json_object","json_schema":{...}}
  if (const Json& rf = field(in, "response_format"); !rf.is_null()) {
    const std::string type = str(rf, "type");
    if (type == "json_object") {
      body["response_format"] = {{"type", "json_object"}};
    } else if (type == "json_schema") {
      const Json& schema = field(field(rf, "json_schema"), "schema");
      if (!schema.is_object())
        return ApiError::badRequest("response_format json_schema needs a schema object",
                                    "response_format.json_schema.schema");
      body["response_format"] = {{"type", "json_object"}, {"json_schema", schema}};
    } else if (type != "text") {
      return ApiError::badRequest("response_format type '" + type + "' is not supported by cohere",
                                  "response_format.type");
    }
  }
  return std::nullopt;
}

// Embeddings as OpenAI sends them for encoding_format "base64": little-endian float32s. The
// openai SDKs ask for base64 by default, and v2 embed has no such type.
std::string base64Float32(const Json& values) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string bytes;
  for (const auto& v : values) {
    const float f = v.is_number() ? v.get<float>() : 0.0f;
    unsigned char raw[4];
    std::memcpy(raw, &f, 4);  // x86-64 and aarch64 are little-endian
    bytes.append(reinterpret_cast<const char*>(raw), 4);
  }
  std::string out;
  for (std::size_t i = 0; i < bytes.size(); i += 3) {
    unsigned n = static_cast<unsigned char>(bytes[i]) << 16;
    if (i + 1 < bytes.size()) n |= static_cast<unsigned char>(bytes[i + 1]) << 8;
    if (i + 2 < bytes.size()) n |= static_cast<unsigned char>(bytes[i + 2]);
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += i + 1 < bytes.size() ? kAlphabet[(n >> 6) & 63] : '=';
    out += i + 2 < bytes.size() ? kAlphabet[n & 63] : '=';
  }
  return out;
}

}  // namespace

// ---- shared with the v1 provider (cohere_v1.cpp); declared in cohere.hpp ----

// OpenAI parameters with no v2 equivalent: a 400 naming the field, never a silent drop.
std::optional<ApiError> checkUnsupported(const Json& in) {
  if (auto e = rejectUnsupported(in, "cohere",
                                 {"logprobs", "top_logprobs", "logit_bias", "audio", "prediction"}))
    return e;
  if (const Json& p = field(in, "parallel_tool_calls"); p.is_boolean() && !p.get<bool>())
    return ApiError::badRequest("parallel_tool_calls: false is not supported by provider cohere",
                                "parallel_tool_calls");
  return std::nullopt;
}

// Sampling parameters under Cohere's names (the same in v1 and v2).
// https://docs.cohere.com/reference/chat#request.body.p
std::optional<ApiError> addSamplingParams(const Json& in, const ModelOptions& options, Json& body) {
  // Options fill what the client left out; the client's own values win (BRIEF §4).
  applyOptions(body, in, options, OptionKeys{"max_tokens", "temperature", "p", "k"});
  struct Rename {
    const char* openai;
    const char* cohere;
  };
  static constexpr Rename kParams[] = {{"max_tokens", "max_tokens"},
                                       {"max_completion_tokens", "max_tokens"},
                                       {"temperature", "temperature"},
                                       {"top_p", "p"},
                                       {"top_k", "k"},
                                       {"seed", "seed"},
                                       {"frequency_penalty", "frequency_penalty"},
                                       {"presence_penalty", "presence_penalty"}};
  for (const auto& r : kParams)
    if (!field(in, r.openai).is_null()) body[r.cohere] = in[r.openai];
  if (const Json& stop = field(in, "stop"); !stop.is_null()) {
    if (stop.is_string()) {
      body["stop_sequences"] = Json::array({stop});
    } else if (stop.is_array() &&
               std::all_of(stop.begin(), stop.end(), [](const Json& s) { return s.is_string(); })) {
      body["stop_sequences"] = stop;
    } else {
      return ApiError::badRequest("stop must be a string or an array of strings", "stop");
    }
  }
  return std::nullopt;
}

// The completions route sends one prompt; an array holding one string is accepted too.
ApiResult<std::string> singlePrompt(const Json& in) {
  const Json& prompt = field(in, "prompt");
  const Json* text = prompt.is_array() && prompt.size() == 1 ? &prompt[0] : &prompt;
  if (!text->is_string())
    return bad<std::string>("cohere takes one string prompt per request", "prompt");
  return text->get<std::string>();
}

ApiResult<Json> embedBody(const Json& in, const std::string& model) {
  const Json& input = field(in, "input");
  Json texts = Json::array();
  if (input.is_string()) {
    texts.push_back(input);
  } else if (input.is_array() && !input.empty() &&
             std::all_of(input.begin(), input.end(), [](const Json& t) { return t.is_string(); })) {
    texts = input;
  } else {
    return bad<Json>("cohere embeds text: input must be a string or an array of strings", "input");
  }
  const std::string format = str(in, "encoding_format");
  if (!format.empty() && format != "float" && format != "base64")
    return bad<Json>("encoding_format '" + format + "' is not supported by cohere",
                     "encoding_format");
  const std::string input_type = str(in, "input_type");
  Json body = {{"model", model},
               {"texts", std::move(texts)},
               {"input_type", input_type.empty() ? kDefaultInputType : input_type},
               {"embedding_types", {"float"}}};
  if (const Json& dims = field(in, "dimensions"); dims.is_number_integer())
    body["output_dimension"] = dims;
  return body;
}

ApiResult<Json> embeddingsReply(const Json& body, const ProxyCall& call, Usage& usage) {
  const Json& vectors = field(field(body, "embeddings"), "float");
  if (!vectors.is_array())
    return ApiResult<Json>::failure(
        ApiError::badGateway("upstream cohere returned a response without 'embeddings.float'"));
  const bool base64 = str(*call.body, "encoding_format") == "base64";
  Json data = Json::array();
  for (std::size_t i = 0; i < vectors.size(); ++i) {
    data.push_back({{"object", "embedding"},
                    {"index", i},
                    {"embedding", base64 ? Json(base64Float32(vectors[i])) : vectors[i]}});
  }
  const Json& billed = field(field(body, "meta"), "billed_units");
  usage.prompt_tokens = wire::integer(billed, "input_tokens", 0);
  usage.completion_tokens = 0;
  return Json{
      {"object", "list"},
      {"data", std::move(data)},
      {"model", call.model},
      {"usage", {{"prompt_tokens", usage.prompt_tokens}, {"total_tokens", usage.prompt_tokens}}}};
}

namespace {

class CohereProvider : public Provider {
 public:
  std::string_view name() const override { return kName; }
  bool supports(RouteType) const override { return true; }

  bool speaks(NativeApi api) const override { return api == NativeApi::Cohere; }

  ApiResult<http::UpstreamRequest> buildRequest(const ProxyCall& call,
                                                const Target& target) const override {
    using R = ApiResult<http::UpstreamRequest>;
    const Json& in = *call.body;
    http::UpstreamRequest req;
    req.url =
        resolveUrl(target, call.route_type == RouteType::Embeddings ? kEmbedUrl : kChatUrl, call);
    req.headers = jsonRequestHeaders(call.stream);
    if (call.route_type == RouteType::Preserve) {
      preserveRequest(req, call);
      return req;
    }
    if (call.native == NativeApi::Cohere) {
      // A v2 Chat client (llm_format cohere): its body as sent apart from the model, options it
      // left out (under v2's names) and the credential.
      static constexpr OptionKeys kKeys{"max_tokens", "temperature", "p", "k"};
      req.body = nativeBody(call, target, &kKeys);
      return req;
    }
    if (call.route_type == RouteType::Embeddings) {
      auto body = embedBody(in, call.model);
      if (!body) return R::failure(body.error());
      req.body = serializeBody(*body, call);
      return req;
    }
    if (auto e = checkUnsupported(in)) return R::failure(std::move(*e));
    Json body = {{"model", call.model}, {"stream", call.stream}};
    if (call.route_type == RouteType::Completions) {
      auto prompt = singlePrompt(in);
      if (!prompt) return R::failure(prompt.error());
      body["messages"] = Json::array({{{"role", "user"}, {"content", std::move(*prompt)}}});
    } else {
      auto messages = toMessages(field(in, "messages"));
      if (!messages) return R::failure(messages.error());
      body["messages"] = std::move(*messages);
    }
    if (auto e = addSamplingParams(in, target.options, body)) return R::failure(std::move(*e));
    if (auto e = addToolsAndFormat(in, body)) return R::failure(std::move(*e));
    // "user" (an end-user id for abuse monitoring) has no v2 field and changes no output.
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
    if (call.route_type == RouteType::Embeddings) {
      auto out = embeddingsReply(body, call, reply.usage);
      if (!out) return R::failure(out.error());
      reply.body = json::dump(*out);
      return reply;
    }
    const Json& message = field(body, "message");
    if (!message.is_object())
      return R::failure(
          ApiError::badGateway("upstream cohere returned a response without a 'message'"));
    Completion answer;
    answer.text = contentText(field(message, "content"));
    // The tool plan is the model's text before its tool calls; OpenAI has only content for it.
    if (answer.text.empty()) answer.text = str(message, "tool_plan");
    if (const Json& tcs = field(message, "tool_calls"); tcs.is_array()) {
      for (const auto& tc : tcs) {
        const Json& fn = field(tc, "function");
        const Json& args = field(fn, "arguments");
        Json call_json =
            toolCallJson(str(tc, "id"), str(fn, "name"), args.is_string() ? Json() : args);
        if (args.is_string()) call_json["function"]["arguments"] = args;  // already JSON text
        answer.tool_calls.push_back(std::move(call_json));
      }
    }
    reply.usage = usageFrom(field(body, "usage"));
    answer.usage = reply.usage;
    answer.id = str(body, "id");
    answer.model = call.model;
    answer.finish_reason = finishReason(str(body, "finish_reason"));
    reply.body = renderCompletion(call, std::move(answer));
    return reply;
  }

  std::unique_ptr<StreamDecoder> newStreamDecoder(const ProxyCall& call,
                                                  const Target&) const override {
    return cohere::newStreamDecoder(call.route_type, call.model);
  }
  // Errors are {"id": ..., "message": ...} (https://docs.cohere.com/reference/errors): the
  // default parseError reads "message" and keeps the status.
};

}  // namespace

// https://docs.cohere.com/reference/chat#response.body.finish_reason
std::string finishReason(std::string_view cohere_reason) {
  struct Entry {
    std::string_view cohere;
    const char* openai;
  };
  static constexpr Entry kTable[] = {
      {"COMPLETE", "stop"},        {"STOP_SEQUENCE", "stop"},         {"MAX_TOKENS", "length"},
      {"ERROR_LIMIT", "length"},  // v1: the context window was exceeded
      {"TOOL_CALL", "tool_calls"}, {"ERROR_TOXIC", "content_filter"}, {"ERROR", "stop"},
      {"TIMEOUT", "stop"},         {"USER_CANCEL", "stop"},
  };
  for (const auto& e : kTable)
    if (e.cohere == cohere_reason) return e.openai;
  return "stop";
}

// https://docs.cohere.com/reference/chat#response.body.usage
// billed_units is what Cohere charges and what Kong reports (usage.tokens also counts the
// prompt template Cohere wraps around the messages); tokens only when billed_units is absent.
Usage usageFrom(const nlohmann::json& usage) {
  Usage u;
  const Json& tokens = field(usage, "tokens");
  const Json& billed = field(usage, "billed_units");
  u.prompt_tokens = wire::integer(billed, "input_tokens", wire::integer(tokens, "input_tokens"));
  u.completion_tokens =
      wire::integer(billed, "output_tokens", wire::integer(tokens, "output_tokens"));
  return u;
}

}  // namespace cohere

const Provider& builtin::cohere() {
  static const cohere::CohereProvider provider;
  return provider;
}

const Provider& builtin::cohereFor(const ModelOptions& options) {
  return cohere::isV1Url(options.upstream_url) ? cohere::v1Provider() : builtin::cohere();
}

}  // namespace aigw::providers
