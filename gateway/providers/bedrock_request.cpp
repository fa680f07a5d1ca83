// OpenAI chat / completions request -> Bedrock Converse request body.
//   https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_Converse.html
//   https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_Message.html
//   https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_ContentBlock.html
//
// Where we differ from Kong's driver (notes §2.9), on purpose: every tool call of an assistant
// message becomes a toolUse block (Kong keeps only the last one), tool results that are not JSON
// are sent as text instead of failing, consecutive tool results share one user message (Converse
// wants user/assistant turns alternating), images, stop and top_k are translated, and what
// Converse cannot express is a 400 naming the field.
#include <algorithm>
#include <optional>

#include "core/json.hpp"
#include "providers/bedrock.hpp"
#include "providers/common.hpp"
#include "providers/json_fields.hpp"

namespace aigw::providers::bedrock {

namespace {

using Json = nlohmann::json;
using wire::field;
using wire::str;
template <typename T>
using ApiResult = Result<T, ApiError>;

std::string at(const std::string& path, std::size_t i) {
  return path + "[" + std::to_string(i) + "]";
}

template <typename T>
ApiResult<T> bad(std::string message, std::string param) {
  return ApiResult<T>::failure(ApiError::badRequest(std::move(message), std::move(param)));
}

// https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_ImageBlock.html
// format png | jpeg | gif | webp; source.bytes is base64 in the JSON protocol. Converse cannot
// fetch a URL, so only data: URLs can be translated.
ApiResult<Json> imageBlock(const Json& part, const std::string& path) {
  const Json& iu = field(part, "image_url");
  const std::string url = iu.is_string() ? iu.get<std::string>() : str(iu, "url");
  const std::string param = path + ".image_url.url";
  if (url.rfind("data:", 0) != 0)
    return bad<Json>(
        "bedrock accepts images only as data: URLs (data:image/png;base64,...); the Converse "
        "API cannot fetch an image from a URL",
        param);
  const auto marker = url.find(";base64,");
  if (marker == std::string::npos)
    return bad<Json>("bedrock accepts data: image URLs only as data:<media type>;base64,<data>",
                     param);
  const std::string media = url.substr(5, marker - 5);
  static constexpr std::pair<std::string_view, const char*> kFormats[] = {{"image/png", "png"},
                                                                          {"image/jpeg", "jpeg"},
                                                                          {"image/jpg", "jpeg"},
                                                                          {"image/gif", "gif"},
                                                                          {"image/webp", "webp"}};
  for (const auto& [type, format] : kFormats) {
    if (media == type)
      return Json{{"image", {{"format", format}, {"source", {{"bytes", url.substr(marker + 8)}}}}}};
  }
  return bad<Json>(
      "image type '" + media + "' is not supported by bedrock; use png, jpeg, gif or webp", param);
}

// Prompt caching: the hub carries Anthropic's cache_control as an extension field on content
// parts, messages and tools (an Anthropic client's breakpoints, or an OpenAI client's that set
// it, as LiteLLM accepts); Converse marks the same spot with a cachePoint block right after the
// cached content. https://docs.aws.amazon.com/bedrock/latest/userguide/prompt-caching.html
bool cached(const Json& o) {
  return field(o, "cache_control").is_object();
}
const Json& cachePoint() {
  static const Json kPoint = {{"cachePoint", {{"type", "default"}}}};
  return kPoint;
}

// OpenAI content (string, null or array of parts) -> Converse content blocks. Empty text is
// left out: Converse rejects blank text blocks.
ApiResult<Json> contentBlocks(const Json& content, const std::string& path, bool allow_images) {
  Json blocks = Json::array();
  if (content.is_null()) return blocks;
  if (content.is_string()) {
    if (!content.get_ref<const std::string&>().empty()) blocks.push_back({{"text", content}});
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
      if (text.get_ref<const std::string&>().empty()) continue;
      blocks.push_back({{"text", text}});
      if (cached(part)) blocks.push_back(cachePoint());
    } else if (type == "image_url" && allow_images) {
      auto image = imageBlock(part, p);
      if (!image) return image;
      blocks.push_back(std::move(*image));
      if (cached(part)) blocks.push_back(cachePoint());
    } else {
      return bad<Json>("content part type '" + type + "' is not supported by bedrock" +
                           (type == "image_url" ? " in this message role" : ""),
                       p + ".type");
    }
  }
  return blocks;
}

// Every assistant tool call -> a toolUse block; the arguments JSON string becomes the input.
// https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_ToolUseBlock.html
ApiResult<Json> toolUseBlocks(const Json& calls, const std::string& path) {
  auto parsed = parseToolCalls(calls, path, "bedrock");
  if (!parsed) return ApiResult<Json>::failure(parsed.error());
  Json blocks = Json::array();
  for (auto& tc : *parsed)
    blocks.push_back(
        {{"toolUse", {{"toolUseId", tc.id}, {"name", tc.name}, {"input", std::move(tc.input)}}}});
  return blocks;
}

// A role "tool" message -> a toolResult block. A JSON object result is sent as {json}, anything
// else as {text} (Kong refuses results that are not JSON).
// https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_ToolResultBlock.html
ApiResult<Json> toolResultBlock(const Json& m, const std::string& path) {
  const std::string id = str(m, "tool_call_id");
  if (id.empty()) return bad<Json>("a tool message needs a 'tool_call_id'", path + ".tool_call_id");
  const Json& content = field(m, "content");
  std::string text;
  if (content.is_string()) {
    text = content.get<std::string>();
  } else if (content.is_array()) {
    for (std::size_t i = 0; i < content.size(); ++i) {
      const std::string type = str(content[i], "type");
      if (type != "text")
        return bad<Json>("content part type '" + type +
                             "' is not supported by bedrock in a tool "
                             "result",
                         at(path + ".content", i) + ".type");
      text += str(content[i], "text");
    }
  } else if (!content.is_null()) {
    return bad<Json>("message content must be a string or an array of parts", path + ".content");
  }
  Json value;
  Json block = json::parse(text, value) && value.is_object() ? Json{{"json", std::move(value)}}
                                                             : Json{{"text", text}};
  return Json{{"toolResult", {{"toolUseId", id}, {"content", Json::array({std::move(block)})}}}};
}

// OpenAI messages -> Converse `system` + `messages`. Consecutive messages of one Converse role
// are merged, since Converse wants user and assistant turns alternating (tool results are user
// content).
ApiResult<Json> toMessages(const Json& messages, Json& system) {
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
    // A cache_control on the message itself marks the end of all its content.
    auto mark = [&](Json& blocks) {
      if (cached(m) && !blocks.empty() && !blocks.back().contains("cachePoint"))
        blocks.push_back(cachePoint());
    };
    if (role == "system" || role == "developer") {
      auto blocks = contentBlocks(content, path + ".content", false);
      if (!blocks) return blocks;
      mark(*blocks);
      for (auto& b : *blocks) system.push_back(std::move(b));  // every one, in order
    } else if (role == "user") {
      auto blocks = contentBlocks(content, path + ".content", true);
      if (!blocks) return blocks;
      mark(*blocks);
      append("user", std::move(*blocks));
    } else if (role == "assistant") {
      auto blocks = contentBlocks(content, path + ".content", false);
      if (!blocks) return blocks;
      auto uses = toolUseBlocks(field(m, "tool_calls"), path + ".tool_calls");
      if (!uses) return uses;
      for (auto& u : *uses) blocks->push_back(std::move(u));
      mark(*blocks);
      append("assistant", std::move(*blocks));
    } else if (role == "tool") {
      auto result = toolResultBlock(m, path);
      if (!result) return result;
      Json blocks = Json::array({std::move(*result)});
      mark(blocks);
      append("user", std::move(blocks));
    } else {
      return bad<Json>("message role '" + role + "' is not supported by bedrock", path + ".role");
    }
  }
  if (out.empty())
    return bad<Json>("bedrock needs at least one user or assistant message", "messages");
  return out;
}

bool hasToolBlocks(const Json& messages) {
  for (const auto& m : messages)
    for (const auto& b : m["content"])
      if (b.contains("toolUse") || b.contains("toolResult")) return true;
  return false;
}

// OpenAI function tools -> Converse toolSpec entries.
// https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_ToolSpecification.html
ApiResult<Json> toolsFor(const Json& tools) {
  if (!tools.is_array()) return bad<Json>("tools must be an array", "tools");
  Json out = Json::array();
  for (std::size_t j = 0; j < tools.size(); ++j) {
    const std::string p = at("tools", j);
    const std::string type = str(tools[j], "type");
    if (type != "function")
      return bad<Json>(
          "tool type '" + type + "' is not supported by bedrock; only function tools are",
          p + ".type");
    const Json& fn = field(tools[j], "function");
    const std::string name = str(fn, "name");
    if (name.empty()) return bad<Json>("a tool needs a function name", p + ".function.name");
    const Json& params = field(fn, "parameters");
    Json spec = {{"name", name},
                 {"inputSchema",
                  {{"json", params.is_object()
                                ? params
                                : Json{{"type", "object"}, {"properties", Json::object()}}}}}};
    if (const std::string d = str(fn, "description"); !d.empty()) spec["description"] = d;
    out.push_back({{"toolSpec", std::move(spec)}});
    if (cached(tools[j]) || cached(fn)) out.push_back(cachePoint());
  }
  return out;
}

// OpenAI tool_choice -> Converse toolChoice; null for "none", which Converse has no value for.
// https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_ToolChoice.html
//   "auto" -> {"auto":{}}   "required" -> {"any":{}}   {"function":{"name":N}} ->
//   {"tool":{"name":N}}
ApiResult<Json> toolChoiceFor(const Json& choice) {
  if (choice.is_string()) {
    const std::string& s = choice.get_ref<const std::string&>();
    if (s == "auto") return Json{{"auto", Json::object()}};
    if (s == "required") return Json{{"any", Json::object()}};
    if (s == "none") return Json();
  } else if (str(choice, "type") == "function") {
    const std::string name = str(field(choice, "function"), "name");
    if (!name.empty()) return Json{{"tool", {{"name", name}}}};
    return bad<Json>("tool_choice needs function.name", "tool_choice.function.name");
  }
  return bad<Json>(
      R"(tool_choice must be "auto", "required", "none" or {"type":"function","function":{"name":...}})",
      "tool_choice");
}

// OpenAI parameters Converse has no field for: a 400 naming the field, never a silent drop.
std::optional<ApiError> checkUnsupported(const Json& in) {
  if (auto e = rejectUnsupported(in, "bedrock",
                                 {"logprobs", "top_logprobs", "logit_bias", "presence_penalty",
                                  "frequency_penalty", "seed", "audio", "prediction"}))
    return e;
  if (const Json& rf = field(in, "response_format"); !rf.is_null()) {
    const std::string type = str(rf, "type");
    if (type != "text")
      return ApiError::badRequest("response_format '" + type +
                                      "' is not supported by provider bedrock: the Converse API "
                                      "has no JSON mode; describe the format in the prompt or "
                                      "use a tool",
                                  "response_format");
  }
  if (const Json& ptc = field(in, "parallel_tool_calls");
      ptc.is_boolean() && !ptc.get<bool>() && !field(in, "tools").is_null())
    return ApiError::badRequest("parallel_tool_calls: false is not supported by provider bedrock",
                                "parallel_tool_calls");
  return std::nullopt;
}

// The client's numeric field, else the configured option, else nothing.
template <typename T>
ApiResult<Json> numberOr(const Json& in, const char* key, const std::optional<T>& option,
                         bool integer) {
  const Json& v = field(in, key);
  if (!v.is_null()) {
    if (integer ? !v.is_number_integer() : !v.is_number())
      return bad<Json>(std::string(key) + " must be " + (integer ? "an integer" : "a number"), key);
    return v;
  }
  return option ? Json(*option) : Json();
}

}  // namespace

ApiResult<Json> converseBody(const Json& in, RouteType type, const ModelOptions& options) {
  if (auto e = checkUnsupported(in)) return ApiResult<Json>::failure(std::move(*e));
  Json body = Json::object();
  if (type == RouteType::Completions) {
    const Json& prompt = field(in, "prompt");
    const Json* text = prompt.is_array() && prompt.size() == 1 ? &prompt[0] : &prompt;
    if (!text->is_string() || text->get_ref<const std::string&>().empty())
      return bad<Json>("bedrock takes one non-empty string prompt per request", "prompt");
    body["messages"] = Json::array({{{"role", "user"}, {"content", {{{"text", *text}}}}}});
  } else {
    Json system = Json::array();
    auto messages = toMessages(field(in, "messages"), system);
    if (!messages) return messages;
    body["messages"] = std::move(*messages);
    if (!system.empty()) body["system"] = std::move(system);
  }

  // https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_InferenceConfiguration.html
  Json config = Json::object();
  const char* max_key =
      field(in, "max_completion_tokens").is_null() ? "max_tokens" : "max_completion_tokens";
  auto max_tokens = numberOr(in, max_key, options.max_tokens, true);
  auto temperature = numberOr(in, "temperature", options.temperature, false);
  auto top_p = numberOr(in, "top_p", options.top_p, false);
  auto top_k = numberOr(in, "top_k", options.top_k, true);
  for (auto* r : {&max_tokens, &temperature, &top_p, &top_k})
    if (!*r) return *r;
  if (!max_tokens->is_null()) config["maxTokens"] = *max_tokens;
  if (!temperature->is_null()) config["temperature"] = *temperature;
  if (!top_p->is_null()) config["topP"] = *top_p;
  if (const Json& stop = field(in, "stop"); !stop.is_null()) {
    if (stop.is_string()) {
      config["stopSequences"] = Json::array({stop});
    } else if (stop.is_array() &&
               std::all_of(stop.begin(), stop.end(), [](const Json& s) { return s.is_string(); })) {
      if (!stop.empty()) config["stopSequences"] = stop;
    } else {
      return bad<Json>("stop must be a string or an array of strings", "stop");
    }
  }
  if (!config.empty()) body["inferenceConfig"] = std::move(config);
  // Converse has no top_k; the model-specific field takes it (Anthropic models read top_k).
  if (!top_k->is_null()) body["additionalModelRequestFields"] = {{"top_k", *top_k}};

  if (type != RouteType::Chat) return body;
  Json tool_config = Json::object();
  if (const Json& tools = field(in, "tools"); !tools.is_null()) {
    auto converted = toolsFor(tools);
    if (!converted) return converted;
    if (!converted->empty()) tool_config["tools"] = std::move(*converted);
  }
  if (const Json& choice = field(in, "tool_choice"); !choice.is_null()) {
    auto converted = toolChoiceFor(choice);
    if (!converted) return converted;
    if (converted->is_null()) {
      // "none": Converse has no such choice, so the tools are left out and the model cannot
      // call one. A conversation already holding toolUse/toolResult blocks needs toolConfig,
      // which would let the model call tools again: refused rather than ignored.
      if (hasToolBlocks(body["messages"]))
        return bad<Json>(
            "tool_choice \"none\" is not supported by provider bedrock once the conversation "
            "holds tool calls; leave tool_choice out",
            "tool_choice");
      return body;
    }
    if (tool_config.contains("tools")) tool_config["toolChoice"] = std::move(*converted);
  }
  if (!tool_config.empty()) body["toolConfig"] = std::move(tool_config);
  return body;
}

}  // namespace aigw::providers::bedrock
