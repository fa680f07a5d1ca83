// Anthropic Messages request -> OpenAI chat (the hub).
// https://docs.anthropic.com/en/api/messages
#include <nlohmann/json.hpp>

#include "core/json.hpp"
#include "formats/anthropic.hpp"
#include "providers/json_fields.hpp"

namespace aigw::formats::anthropic {

namespace {

using Json = nlohmann::json;
using providers::wire::field;
using providers::wire::str;
template <typename T>
using ApiResult = Result<T, ApiError>;

template <typename T>
ApiResult<T> bad(std::string message, std::string param) {
  return ApiResult<T>::failure(ApiError::badRequest(std::move(message), std::move(param)));
}

std::string at(const std::string& path, std::size_t i) {
  return path + "[" + std::to_string(i) + "]";
}

// cache_control rides along on the hub part as an extension field.
void keepCacheControl(const Json& from, Json& to) {
  if (const Json& cc = field(from, "cache_control"); cc.is_object()) to["cache_control"] = cc;
}

// An image block -> an OpenAI image_url part (base64 sources become data: URLs).
// https://docs.anthropic.com/en/docs/build-with-claude/vision
ApiResult<Json> imagePart(const Json& block, const std::string& path) {
  const Json& source = field(block, "source");
  const std::string type = str(source, "type");
  std::string url;
  if (type == "base64") {
    url = "data:" + str(source, "media_type") + ";base64," + str(source, "data");
  } else if (type == "url") {
    url = str(source, "url");
  } else {
    return bad<Json>(
        "image source type '" + type + "' cannot be translated; use base64 or url sources",
        path + ".source.type");
  }
  Json part = {{"type", "image_url"}, {"image_url", {{"url", url}}}};
  keepCacheControl(block, part);
  return part;
}

// A document block: plain text becomes a text part, a base64 PDF an OpenAI file part.
// https://docs.anthropic.com/en/docs/build-with-claude/pdf-support
ApiResult<Json> documentPart(const Json& block, const std::string& path) {
  const Json& source = field(block, "source");
  const std::string type = str(source, "type");
  Json part;
  if (type == "text") {
    part = {{"type", "text"}, {"text", str(source, "data")}};
  } else if (type == "base64" && str(source, "media_type") == "application/pdf") {
    std::string name = str(block, "title");
    part = {{"type", "file"},
            {"file",
             {{"filename", name.empty() ? "document.pdf" : name},
              {"file_data", "data:application/pdf;base64," + str(source, "data")}}}};
  } else {
    return bad<Json>(
        "document source type '" + type + "' cannot be translated; use text or base64 PDF sources",
        path + ".source.type");
  }
  keepCacheControl(block, part);
  return part;
}

// User content blocks other than tool results -> OpenAI parts.
ApiResult<Json> userPart(const Json& block, const std::string& path) {
  const std::string type = str(block, "type");
  if (type == "text") {
    if (!field(block, "text").is_string())
      return bad<Json>("a text block needs a string 'text'", path + ".text");
    Json part = {{"type", "text"}, {"text", block["text"]}};
    keepCacheControl(block, part);
    return part;
  }
  if (type == "image") return imagePart(block, path);
  if (type == "document") return documentPart(block, path);
  return bad<Json>("content block type '" + type +
                       "' cannot be translated for this provider; only text, image, document, "
                       "tool_use and tool_result blocks can",
                   path + ".type");
}

// Content as a string, or the single text part without cache_control as a string (the shape
// every provider takes), else the parts.
Json compact(Json parts) {
  if (parts.size() == 1 && parts[0]["type"] == "text" && !parts[0].contains("cache_control"))
    return parts[0]["text"];
  return parts;
}

// tool_result content (a string or text/image blocks) -> the tool message's content; images
// cannot ride in an OpenAI tool message, so they are returned to follow in a user message.
ApiResult<Json> toolResultContent(const Json& content, const std::string& path, Json& images) {
  if (content.is_null()) return Json("");
  if (content.is_string()) return content;
  if (!content.is_array()) return bad<Json>("tool_result content must be a string or blocks", path);
  Json parts = Json::array();
  for (std::size_t i = 0; i < content.size(); ++i) {
    const std::string type = str(content[i], "type");
    if (type == "image") {
      auto image = imagePart(content[i], at(path, i));
      if (!image) return image;
      images.push_back(std::move(*image));
      continue;
    }
    auto part = userPart(content[i], at(path, i));
    if (!part) return part;
    parts.push_back(std::move(*part));
  }
  if (parts.empty()) return Json("");
  return compact(std::move(parts));
}

// One Anthropic user turn -> tool messages (its tool_result blocks, which OpenAI wants right
// after the assistant's tool calls) followed by a user message with the rest.
Status userTurn(const Json& content, const std::string& path, Json& out, ApiError& error) {
  auto fail = [&](ApiError e) {
    error = std::move(e);
    return Status::error(error.message);
  };
  if (content.is_string()) {
    out.push_back({{"role", "user"}, {"content", content}});
    return {};
  }
  if (!content.is_array())
    return fail(ApiError::badRequest("content must be a string or an array of blocks", path));
  Json parts = Json::array();
  for (std::size_t i = 0; i < content.size(); ++i) {
    const Json& block = content[i];
    const std::string p = at(path, i);
    if (!block.is_object() || !field(block, "type").is_string())
      return fail(
          ApiError::badRequest("each block must be an object with a string 'type'", p + ".type"));
    if (str(block, "type") == "tool_result") {
      const std::string id = str(block, "tool_use_id");
      if (id.empty())
        return fail(
            ApiError::badRequest("a tool_result needs a 'tool_use_id'", p + ".tool_use_id"));
      auto result = toolResultContent(field(block, "content"), p + ".content", parts);
      if (!result) return fail(result.error());
      Json message = {{"role", "tool"}, {"tool_call_id", id}, {"content", std::move(*result)}};
      keepCacheControl(block, message);
      out.push_back(std::move(message));
      continue;
    }
    auto part = userPart(block, p);
    if (!part) return fail(part.error());
    parts.push_back(std::move(*part));
  }
  if (!parts.empty()) out.push_back({{"role", "user"}, {"content", compact(std::move(parts))}});
  return {};
}

// One Anthropic assistant turn -> an assistant message with content and tool_calls. Thinking
// blocks are the model's own scratch work, which no other provider can take back.
Status assistantTurn(const Json& content, const std::string& path, Json& out, ApiError& error) {
  if (content.is_string()) {
    out.push_back({{"role", "assistant"}, {"content", content}});
    return {};
  }
  if (!content.is_array()) {
    error = ApiError::badRequest("content must be a string or an array of blocks", path);
    return Status::error(error.message);
  }
  Json parts = Json::array(), calls = Json::array();
  for (std::size_t i = 0; i < content.size(); ++i) {
    const Json& block = content[i];
    const std::string p = at(path, i);
    const std::string type = str(block, "type");
    if (type == "text") {
      Json part = {{"type", "text"}, {"text", str(block, "text")}};
      keepCacheControl(block, part);
      if (!str(block, "text").empty()) parts.push_back(std::move(part));
    } else if (type == "tool_use") {
      const std::string id = str(block, "id"), name = str(block, "name");
      if (id.empty() || name.empty()) {
        error = ApiError::badRequest("a tool_use block needs an 'id' and a 'name'", p);
        return Status::error(error.message);
      }
      const Json& input = field(block, "input");
      calls.push_back({{"id", id},
                       {"type", "function"},
                       {"function",
                        {{"name", name},
                         {"arguments", json::dump(input.is_object() ? input : Json::object())}}}});
    } else if (type == "thinking" || type == "redacted_thinking") {
      continue;
    } else {
      error = ApiError::badRequest(
          "content block type '" + type + "' cannot be translated for this provider", p + ".type");
      return Status::error(error.message);
    }
  }
  Json message = {{"role", "assistant"}};
  // OpenAI's shape for an answer that is only tool calls: null content.
  if (parts.empty())
    message["content"] = calls.empty() ? Json("") : Json(nullptr);
  else
    message["content"] = compact(std::move(parts));
  if (!calls.empty()) message["tool_calls"] = std::move(calls);
  out.push_back(std::move(message));
  return {};
}

// system: a string or text blocks (with cache_control) -> the first, system message.
ApiResult<Json> systemMessage(const Json& system) {
  if (system.is_string()) return Json{{"role", "system"}, {"content", system}};
  if (!system.is_array())
    return bad<Json>("system must be a string or an array of text blocks", "system");
  Json parts = Json::array();
  for (std::size_t i = 0; i < system.size(); ++i) {
    if (str(system[i], "type") != "text" || !field(system[i], "text").is_string())
      return bad<Json>("system blocks must be text blocks", at("system", i));
    Json part = {{"type", "text"}, {"text", system[i]["text"]}};
    keepCacheControl(system[i], part);
    parts.push_back(std::move(part));
  }
  return Json{{"role", "system"}, {"content", compact(std::move(parts))}};
}

// Client tools -> OpenAI function tools. Server tools (web search, code execution, ...) run at
// Anthropic and cannot run anywhere else.
// https://docs.anthropic.com/en/docs/agents-and-tools/tool-use/implement-tool-use
ApiResult<Json> tools(const Json& in) {
  if (!in.is_array()) return bad<Json>("tools must be an array", "tools");
  Json out = Json::array();
  for (std::size_t i = 0; i < in.size(); ++i) {
    const Json& t = in[i];
    const std::string p = at("tools", i);
    const std::string type = str(t, "type");
    if (!type.empty() && type != "custom")
      return bad<Json>("tool type '" + type +
                           "' is an Anthropic server tool and cannot be translated for this "
                           "provider",
                       p + ".type");
    const std::string name = str(t, "name");
    if (name.empty()) return bad<Json>("a tool needs a 'name'", p + ".name");
    const Json& schema = field(t, "input_schema");
    Json fn = {
        {"name", name},
        {"parameters",
         schema.is_object() ? schema : Json{{"type", "object"}, {"properties", Json::object()}}}};
    if (const std::string d = str(t, "description"); !d.empty()) fn["description"] = d;
    Json tool = {{"type", "function"}, {"function", std::move(fn)}};
    keepCacheControl(t, tool);
    out.push_back(std::move(tool));
  }
  return out;
}

// https://docs.anthropic.com/en/docs/agents-and-tools/tool-use/implement-tool-use#forcing-tool-use
ApiResult<Json> toolChoice(const Json& choice, Json& hub) {
  const std::string type = str(choice, "type");
  if (field(choice, "disable_parallel_tool_use") == true) hub["parallel_tool_calls"] = false;
  if (type == "auto") return Json("auto");
  if (type == "any") return Json("required");
  if (type == "none") return Json("none");
  if (type == "tool") {
    const std::string name = str(choice, "name");
    if (name.empty())
      return bad<Json>("tool_choice of type tool needs a 'name'", "tool_choice.name");
    return Json{{"type", "function"}, {"function", {{"name", name}}}};
  }
  return bad<Json>("tool_choice type must be auto, any, tool or none", "tool_choice.type");
}

std::size_t textChars(const Json& v) {
  if (v.is_string()) return v.get_ref<const std::string&>().size();
  std::size_t n = 0;
  if (v.is_array())
    for (const auto& b : v) {
      if (str(b, "type") == "image") continue;
      n += textChars(field(b, "text")) + textChars(field(b, "content")) +
           (field(b, "input").is_object() ? json::dump(b["input"]).size() : 0) +
           textChars(field(b, "thinking"));
    }
  return n;
}

std::size_t images(const Json& v) {
  std::size_t n = 0;
  if (v.is_array())
    for (const auto& b : v) n += (str(b, "type") == "image") + images(field(b, "content"));
  return n;
}

}  // namespace

Result<nlohmann::json, ApiError> requestToHub(const nlohmann::json& body) {
  using R = ApiResult<Json>;
  Json hub = Json::object();
  if (const Json& model = field(body, "model"); !model.is_null()) hub["model"] = model;
  Json messages = Json::array();
  if (const Json& system = field(body, "system"); !system.is_null()) {
    auto m = systemMessage(system);
    if (!m) return m;
    messages.push_back(std::move(*m));
  }
  const Json& in = field(body, "messages");
  if (!in.is_array() || in.empty())
    return bad<Json>("messages: at least one message is required", "messages");
  for (std::size_t i = 0; i < in.size(); ++i) {
    const std::string p = at("messages", i);
    const Json& m = in[i];
    const std::string role = str(m, "role");
    ApiError error;
    Status s;
    if (role == "user")
      s = userTurn(field(m, "content"), p + ".content", messages, error);
    else if (role == "assistant")
      s = assistantTurn(field(m, "content"), p + ".content", messages, error);
    else
      return bad<Json>("role must be user or assistant", p + ".role");
    if (!s) return R::failure(std::move(error));
  }
  hub["messages"] = std::move(messages);

  for (const char* key : {"max_tokens", "temperature", "top_p", "stream"})
    if (const Json& v = field(body, key); !v.is_null()) hub[key] = v;
  if (const Json& stop = field(body, "stop_sequences"); !stop.is_null()) hub["stop"] = stop;
  if (const std::string user = str(field(body, "metadata"), "user_id"); !user.empty())
    hub["user"] = user;
  if (const Json& t = field(body, "tools"); !t.is_null()) {
    auto converted = tools(t);
    if (!converted) return converted;
    if (!converted->empty()) hub["tools"] = std::move(*converted);
  }
  if (const Json& choice = field(body, "tool_choice"); !choice.is_null()) {
    auto converted = toolChoice(choice, hub);
    if (!converted) return converted;
    // Anthropic accepts a tool_choice with no tools; OpenAI does not.
    if (hub.contains("tools")) hub["tool_choice"] = std::move(*converted);
  }
  // The Anthropic answer reports usage at the end of every stream, so the hub must ask for it.
  if (hub.value("stream", false)) hub["stream_options"] = {{"include_usage", true}};
  return hub;
}

long long estimateInputTokens(const nlohmann::json& body) {
  std::size_t chars = textChars(field(body, "system"));
  std::size_t count = 0, pictures = 0;
  if (const Json& msgs = field(body, "messages"); msgs.is_array())
    for (const auto& m : msgs) {
      ++count;
      chars += textChars(field(m, "content"));
      pictures += images(field(m, "content"));
    }
  if (const Json& t = field(body, "tools"); t.is_array())
    for (const auto& tool : t)
      chars +=
          str(tool, "name").size() + str(tool, "description").size() +
          (field(tool, "input_schema").is_object() ? json::dump(tool["input_schema"]).size() : 0);
  return static_cast<long long>((chars + 3) / 4 + 3 * count + 1600 * pictures);
}

}  // namespace aigw::formats::anthropic
