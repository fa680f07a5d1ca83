// OpenAI request bodies -> Gemini request bodies (pure translation; URLs are in gemini.cpp).
//   https://ai.google.dev/api/generate-content#request-body
//   https://ai.google.dev/api/embeddings#method:-models.batchembedcontents
// Every system message is kept (Kong joins them into one), tool results carry the name of the
// function they answer (Kong hard-codes one), assistant calls keep their arguments, and what
// Gemini cannot do is a 400 that names the field instead of a silent drop.
#include <algorithm>
#include <cctype>
#include <map>

#include "core/json.hpp"
#include "providers/common.hpp"
#include "providers/gemini.hpp"
#include "providers/json_fields.hpp"

namespace aigw::providers::gemini {

namespace {

using Json = nlohmann::json;
using JsonResult = Result<Json, ApiError>;

ApiError unsupported(const std::string& what, const std::string& param) {
  return ApiError::badRequest(what + " is not supported by provider gemini", param);
}

bool present(const Json& in, const char* key) {
  return in.contains(key) && !in[key].is_null();
}

// OpenAI request fields per route type. "handled" ones are translated below; "ignored" ones
// do not change the answer (end-user ids, storage flags). Anything else is a 400 naming the
// field: a client relying on, say, logprobs must learn that Gemini will not honour it.
constexpr std::string_view kChatFields[] = {"messages",
                                            "model",
                                            "stream",
                                            "stream_options",
                                            "max_tokens",
                                            "max_completion_tokens",
                                            "temperature",
                                            "top_p",
                                            "top_k",
                                            "n",
                                            "stop",
                                            "seed",
                                            "presence_penalty",
                                            "frequency_penalty",
                                            "response_format",
                                            "tools",
                                            "tool_choice",
                                            "parallel_tool_calls",
                                            "user",
                                            "store",
                                            "metadata",
                                            "service_tier"};
constexpr std::string_view kCompletionFields[] = {
    "prompt", "model", "stream", "stream_options", "max_tokens",       "temperature",       "top_p",
    "top_k",  "n",     "stop",   "seed",           "presence_penalty", "frequency_penalty", "user"};
constexpr std::string_view kEmbeddingFields[] = {"input", "model", "dimensions", "encoding_format",
                                                 "user"};

template <std::size_t N>
std::optional<ApiError> checkFields(const Json& in, const std::string_view (&known)[N]) {
  for (const auto& [key, value] : in.items()) {
    if (value.is_null()) continue;
    if (std::find(std::begin(known), std::end(known), key) == std::end(known))
      return unsupported("field '" + key + "'", key);
  }
  // Gemini may answer with several calls at once and has no switch to stop it.
  if (in.contains("parallel_tool_calls") && in["parallel_tool_calls"].is_boolean() &&
      !in["parallel_tool_calls"].get<bool>())
    return unsupported("parallel_tool_calls: false", "parallel_tool_calls");
  if (in.contains("encoding_format") && in["encoding_format"] != "float" &&
      !in["encoding_format"].is_null())
    return unsupported("encoding_format other than float", "encoding_format");
  return std::nullopt;
}

// fileData needs a MIME type and an http(s) URL rarely says; the extension is the best hint.
std::string guessMimeType(std::string_view url) {
  url = url.substr(0, url.find_first_of("?#"));
  const auto dot = url.rfind('.');
  std::string ext = dot == std::string_view::npos ? "" : std::string(url.substr(dot + 1));
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  static constexpr std::pair<std::string_view, std::string_view> kTypes[] = {
      {"png", "image/png"},   {"jpg", "image/jpeg"},     {"jpeg", "image/jpeg"},
      {"gif", "image/gif"},   {"webp", "image/webp"},    {"heic", "image/heic"},
      {"heif", "image/heif"}, {"pdf", "application/pdf"}};
  for (const auto& [e, type] : kTypes)
    if (ext == e) return std::string(type);
  return "image/jpeg";
}

// https://ai.google.dev/api/caching#Part : inlineData for data: URLs, fileData for links.
JsonResult imagePart(const Json& part, const std::string& path) {
  const Json iu = part.value("image_url", Json());
  const std::string url = iu.is_string() ? iu.get<std::string>()
                          : iu.is_object() && iu.contains("url") && iu["url"].is_string()
                              ? iu["url"].get<std::string>()
                              : "";
  const std::string param = path + ".image_url.url";
  if (url.rfind("data:", 0) == 0) {
    const auto marker = url.find(";base64,");
    if (marker == std::string::npos)
      return JsonResult::failure(ApiError::badRequest("image data: URLs must be base64", param));
    return Json{{"inlineData",
                 {{"mimeType", url.substr(5, marker - 5)}, {"data", url.substr(marker + 8)}}}};
  }
  if (url.rfind("http://", 0) == 0 || url.rfind("https://", 0) == 0 || url.rfind("gs://", 0) == 0)
    return Json{{"fileData", {{"mimeType", guessMimeType(url)}, {"fileUri", url}}}};
  return JsonResult::failure(
      ApiError::badRequest("image_url must be a data:, http(s):// or gs:// URL", param));
}

// Message content (string, null or OpenAI parts) -> Gemini parts.
JsonResult contentParts(const Json& content, const std::string& path, bool text_only) {
  Json parts = Json::array();
  if (content.is_string()) {
    if (!content.get_ref<const std::string&>().empty()) parts.push_back({{"text", content}});
    return parts;
  }
  if (!content.is_array()) return parts;
  for (std::size_t j = 0; j < content.size(); ++j) {
    const Json& part = content[j];
    const std::string part_path = path + ".content[" + std::to_string(j) + "]";
    const std::string type = wire::str(part, "type");
    if (type == "text" && part.contains("text") && part["text"].is_string()) {
      parts.push_back({{"text", part["text"]}});
    } else if (type == "image_url" && !text_only) {
      auto image = imagePart(part, part_path);
      if (!image) return image;
      parts.push_back(std::move(*image));
    } else {
      return JsonResult::failure(
          unsupported("content part type '" + type + "' here", part_path + ".type"));
    }
  }
  return parts;
}

// A tool result: Gemini wants a JSON object, so JSON text is passed parsed and anything
// else wrapped. https://ai.google.dev/api/caching#FunctionResponse
Json functionResponse(const std::string& name, const Json& content) {
  std::string text;
  if (content.is_string()) text = content.get<std::string>();
  for (const auto& part : content.is_array() ? content : Json::array()) {
    const Json& t = wire::field(part, "text");
    if (t.is_string()) text += t.get_ref<const std::string&>();
  }
  Json parsed;
  Json value = json::parse(text, parsed) ? std::move(parsed) : Json{{"result", text}};
  return {{"functionResponse", {{"name", name}, {"response", {{"content", std::move(value)}}}}}};
}

struct Conversation {
  Json contents = Json::array();
  Json system_parts = Json::array();

  // Gemini wants user and model turns; consecutive messages of one role become one turn.
  void append(const char* role, Json parts) {
    if (parts.empty()) return;
    if (!contents.empty() && contents.back()["role"] == role) {
      for (auto& p : parts) contents.back()["parts"].push_back(std::move(p));
    } else {
      contents.push_back({{"role", role}, {"parts", std::move(parts)}});
    }
  }
};

// https://ai.google.dev/api/generate-content#request-body : contents[] + systemInstruction.
Result<Conversation, ApiError> convertMessages(const Json& messages) {
  using R = Result<Conversation, ApiError>;
  Conversation out;
  std::map<std::string, std::string> call_names;  // tool_call id -> function name
  for (std::size_t i = 0; i < messages.size(); ++i) {
    const Json& m = messages[i];
    const std::string path = "messages[" + std::to_string(i) + "]";
    const std::string role = wire::str(m, "role");
    const Json content = m.value("content", Json());
    if (role == "system" || role == "developer") {
      auto parts = contentParts(content, path, true);
      if (!parts) return R::failure(parts.error());
      for (auto& p : *parts) out.system_parts.push_back(std::move(p));
    } else if (role == "user") {
      auto parts = contentParts(content, path, false);
      if (!parts) return R::failure(parts.error());
      out.append("user", std::move(*parts));
    } else if (role == "assistant") {
      auto parts = contentParts(content, path, false);
      if (!parts) return R::failure(parts.error());
      const Json& calls = wire::field(m, "tool_calls");
      if (!calls.is_array() && !calls.is_null())
        return R::failure(
            ApiError::badRequest("tool_calls must be an array", path + ".tool_calls"));
      for (std::size_t k = 0; k < calls.size(); ++k) {
        const std::string call_path = path + ".tool_calls[" + std::to_string(k) + "].function";
        const Json fn = calls[k].is_object() ? calls[k].value("function", Json()) : Json();
        if (!fn.is_object() || !fn.contains("name") || !fn["name"].is_string())
          return R::failure(
              ApiError::badRequest("tool call needs a function name", call_path + ".name"));
        Json args = Json::object();
        const Json raw = fn.value("arguments", Json());
        if (raw.is_string() && !raw.get_ref<const std::string&>().empty() &&
            (!json::parse(raw.get<std::string>(), args) || !args.is_object()))
          return R::failure(ApiError::badRequest("tool call arguments must be a JSON object",
                                                 call_path + ".arguments"));
        if (raw.is_object()) args = raw;
        if (calls[k].contains("id") && calls[k]["id"].is_string())
          call_names[calls[k]["id"]] = fn["name"];
        parts->push_back({{"functionCall", {{"name", fn["name"]}, {"args", std::move(args)}}}});
      }
      out.append("model", std::move(*parts));
    } else if (role == "tool" || role == "function") {
      // Gemini matches a result to its call by function name: look it up from the assistant
      // message that made the call (Kong hard-codes one name here).
      std::string name;
      if (auto id = m.find("tool_call_id"); id != m.end() && id->is_string()) {
        if (auto it = call_names.find(*id); it != call_names.end()) name = it->second;
      }
      if (name.empty() && m.contains("name") && m["name"].is_string()) name = m["name"];
      if (name.empty())
        return R::failure(ApiError::badRequest(
            "tool message answers no earlier assistant tool_call (unknown tool_call_id)",
            path + ".tool_call_id"));
      out.append("user", Json::array({functionResponse(name, content)}));
    } else {
      return R::failure(unsupported("role '" + role + "'", path + ".role"));
    }
  }
  if (out.contents.empty())
    return R::failure(
        ApiError::badRequest("provider gemini needs at least one user message", "messages"));
  return out;
}

// https://ai.google.dev/api/generate-content#generationconfig
JsonResult generationConfig(const Json& in, const ModelOptions& options) {
  Json gc = Json::object();
  applyOptions(gc, in, options, OptionKeys{"maxOutputTokens", "temperature", "topP", "topK"});
  static constexpr std::pair<const char*, const char*> kCopied[] = {
      {"max_tokens", "maxOutputTokens"},
      {"max_completion_tokens", "maxOutputTokens"},
      {"temperature", "temperature"},
      {"top_p", "topP"},
      {"top_k", "topK"},
      {"n", "candidateCount"},
      {"seed", "seed"},
      {"presence_penalty", "presencePenalty"},
      {"frequency_penalty", "frequencyPenalty"}};
  for (const auto& [from, to] : kCopied) {
    if (!present(in, from)) continue;
    if (!in[from].is_number())
      return JsonResult::failure(
          ApiError::badRequest(std::string(from) + " must be a number", from));
    gc[to] = in[from];
  }
  if (present(in, "stop")) {
    const Json& stop = in["stop"];
    const bool strings =
        stop.is_array() &&
        std::all_of(stop.begin(), stop.end(), [](const Json& s) { return s.is_string(); });
    if (!stop.is_string() && !strings)
      return JsonResult::failure(
          ApiError::badRequest("stop must be a string or an array of strings", "stop"));
    gc["stopSequences"] = stop.is_string() ? Json::array({stop}) : stop;
  }
  if (present(in, "response_format")) {
    const Json& rf = in["response_format"];
    const std::string type = wire::str(rf, "type");
    if (type == "json_object") {
      gc["responseMimeType"] = "application/json";
    } else if (type == "json_schema") {
      // Gemini's schema is an OpenAPI subset; it is passed as given and Gemini judges it.
      const Json js = rf.value("json_schema", Json());
      if (!js.is_object() || !js.contains("schema") || !js["schema"].is_object())
        return JsonResult::failure(ApiError::badRequest("json_schema needs a schema object",
                                                        "response_format.json_schema.schema"));
      gc["responseMimeType"] = "application/json";
      gc["responseSchema"] = js["schema"];
    } else if (type != "text") {
      return JsonResult::failure(
          unsupported("response_format type '" + type + "'", "response_format.type"));
    }
  }
  return gc;
}

// https://ai.google.dev/api/caching#Tool and #ToolConfig
Result<bool, ApiError> addTools(const Json& in, Json& body) {
  using R = Result<bool, ApiError>;
  if (present(in, "tools")) {
    if (!in["tools"].is_array())
      return R::failure(ApiError::badRequest("tools must be an array", "tools"));
    Json decls = Json::array();
    for (std::size_t k = 0; k < in["tools"].size(); ++k) {
      const Json& tool = in["tools"][k];
      const std::string path = "tools[" + std::to_string(k) + "]";
      const std::string type =
          tool.is_object() && !tool.contains("type") ? "function" : wire::str(tool, "type");
      if (type != "function")
        return R::failure(unsupported("tool type '" + type + "'", path + ".type"));
      const Json fn = tool.value("function", Json());
      if (!fn.is_object() || !fn.contains("name") || !fn["name"].is_string())
        return R::failure(
            ApiError::badRequest("tool needs a function name", path + ".function.name"));
      Json decl = {{"name", fn["name"]}};
      if (fn.contains("description") && fn["description"].is_string())
        decl["description"] = fn["description"];
      if (fn.contains("parameters") && fn["parameters"].is_object())
        decl["parameters"] = fn["parameters"];
      decls.push_back(std::move(decl));
    }
    if (!decls.empty()) body["tools"] = Json::array({{{"functionDeclarations", std::move(decls)}}});
  }
  if (present(in, "tool_choice")) {
    const Json& tc = in["tool_choice"];
    Json config;
    if (tc == "auto")
      config = {{"mode", "AUTO"}};
    else if (tc == "none")
      config = {{"mode", "NONE"}};
    else if (tc == "required")
      config = {{"mode", "ANY"}};
    else if (wire::str(tc, "type") == "function" && tc.contains("function") &&
             tc["function"].is_object() && tc["function"].contains("name") &&
             tc["function"]["name"].is_string())
      config = {{"mode", "ANY"}, {"allowedFunctionNames", Json::array({tc["function"]["name"]})}};
    else
      return R::failure(unsupported("this tool_choice", "tool_choice"));
    body["toolConfig"] = {{"functionCallingConfig", std::move(config)}};
  }
  return true;
}

}  // namespace

JsonResult chatBody(const Json& in, const ModelOptions& options) {
  if (auto e = checkFields(in, kChatFields)) return JsonResult::failure(std::move(*e));
  const Json& messages = wire::field(in, "messages");
  if (!messages.is_array())
    return JsonResult::failure(ApiError::badRequest("messages must be an array", "messages"));
  auto conv = convertMessages(messages);
  if (!conv) return JsonResult::failure(conv.error());
  Json body = {{"contents", std::move(conv->contents)}};
  if (!conv->system_parts.empty())
    body["systemInstruction"] = {{"parts", std::move(conv->system_parts)}};
  auto gc = generationConfig(in, options);
  if (!gc) return gc;
  if (!gc->empty()) body["generationConfig"] = std::move(*gc);
  if (auto tools = addTools(in, body); !tools) return JsonResult::failure(tools.error());
  return body;
}

JsonResult completionBody(const Json& in, const ModelOptions& options) {
  if (auto e = checkFields(in, kCompletionFields)) return JsonResult::failure(std::move(*e));
  Json prompt = wire::field(in, "prompt");
  if (prompt.is_array() && prompt.size() == 1 && prompt[0].is_string()) prompt = prompt[0];
  if (!prompt.is_string())
    return JsonResult::failure(unsupported("a prompt other than one string", "prompt"));
  Json body = {{"contents", {{{"role", "user"}, {"parts", {{{"text", prompt}}}}}}}};
  auto gc = generationConfig(in, options);
  if (!gc) return gc;
  if (!gc->empty()) body["generationConfig"] = std::move(*gc);
  return body;
}

// https://ai.google.dev/api/embeddings#method:-models.batchembedcontents
JsonResult embeddingBody(const Json& in, const std::string& model_id) {
  if (auto e = checkFields(in, kEmbeddingFields)) return JsonResult::failure(std::move(*e));
  const Json& input = wire::field(in, "input");
  Json texts = input.is_string() ? Json::array({input}) : input;
  if (!texts.is_array() || texts.empty() ||
      !std::all_of(texts.begin(), texts.end(), [](const Json& t) { return t.is_string(); }))
    return JsonResult::failure(
        unsupported("input other than a string or an array of strings", "input"));
  Json requests = Json::array();
  for (const auto& text : texts) {
    Json r = {{"model", "models/" + model_id}, {"content", {{"parts", {{{"text", text}}}}}}};
    if (present(in, "dimensions")) r["outputDimensionality"] = in["dimensions"];
    requests.push_back(std::move(r));
  }
  return Json{{"requests", std::move(requests)}};
}

}  // namespace aigw::providers::gemini
