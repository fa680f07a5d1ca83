// Responses API request -> OpenAI chat (the hub).
// https://platform.openai.com/docs/api-reference/responses/create
#include <nlohmann/json.hpp>

#include "formats/responses.hpp"
#include "providers/json_fields.hpp"

namespace aigw::formats::responses {

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

// A message item's content (a string, or input_text / input_image / output_text parts) ->
// OpenAI chat content.
ApiResult<Json> content(const Json& in, const std::string& path) {
  if (in.is_string()) return in;
  if (!in.is_array()) return bad<Json>("content must be a string or an array of parts", path);
  Json parts = Json::array();
  for (std::size_t i = 0; i < in.size(); ++i) {
    const Json& part = in[i];
    const std::string p = at(path, i);
    const std::string type = str(part, "type");
    if (type == "input_text" || type == "output_text" || type == "text") {
      if (!field(part, "text").is_string())
        return bad<Json>("a " + type + " part needs a string 'text'", p + ".text");
      parts.push_back({{"type", "text"}, {"text", part["text"]}});
    } else if (type == "refusal") {
      parts.push_back({{"type", "text"}, {"text", str(part, "refusal")}});
    } else if (type == "input_image") {
      const std::string url = str(part, "image_url");
      if (url.empty())
        return bad<Json>("an input_image part needs an image_url (file_id needs OpenAI's storage)",
                         p + ".image_url");
      Json image = {{"url", url}};
      if (const std::string detail = str(part, "detail"); !detail.empty()) image["detail"] = detail;
      parts.push_back({{"type", "image_url"}, {"image_url", std::move(image)}});
    } else if (type == "input_file") {
      const std::string data = str(part, "file_data");
      if (data.empty())
        return bad<Json>("an input_file part needs file_data (file_id needs OpenAI's storage)",
                         p + ".file_data");
      Json file = {{"file_data", data}};
      if (const std::string name = str(part, "filename"); !name.empty()) file["filename"] = name;
      parts.push_back({{"type", "file"}, {"file", std::move(file)}});
    } else {
      return bad<Json>("content part type '" + type + "' is not supported", p + ".type");
    }
  }
  if (parts.size() == 1 && parts[0]["type"] == "text") return parts[0]["text"];
  return parts;
}

// function_call_output's output: a string, or content parts whose text is kept.
std::string outputText(const Json& output) {
  if (output.is_string()) return output.get<std::string>();
  std::string text;
  if (output.is_array())
    for (const auto& p : output)
      if (field(p, "text").is_string()) text += p["text"].get<std::string>();
  return output.is_null() || output.is_array() ? text : output.dump();
}

ApiResult<Json> messages(const Json& input) {
  Json out = Json::array();
  if (input.is_string()) {
    out.push_back({{"role", "user"}, {"content", input}});
    return out;
  }
  if (!input.is_array()) return bad<Json>("input must be a string or an array of items", "input");
  for (std::size_t i = 0; i < input.size(); ++i) {
    const Json& item = input[i];
    const std::string p = at("input", i);
    if (!item.is_object()) return bad<Json>("each input item must be an object", p);
    std::string type = str(item, "type");
    if (type.empty() && item.contains("role")) type = "message";  // EasyInputMessage
    if (type == "message") {
      std::string role = str(item, "role");
      if (role == "developer") role = "system";
      if (role != "user" && role != "assistant" && role != "system")
        return bad<Json>("role must be user, assistant, system or developer", p + ".role");
      auto c = content(field(item, "content"), p + ".content");
      if (!c) return c;
      out.push_back({{"role", role}, {"content", std::move(*c)}});
    } else if (type == "function_call") {
      const std::string call_id = str(item, "call_id"), name = str(item, "name");
      if (call_id.empty() || name.empty())
        return bad<Json>("a function_call item needs call_id and name", p);
      Json call = {{"id", call_id},
                   {"type", "function"},
                   {"function", {{"name", name}, {"arguments", str(item, "arguments")}}}};
      // Consecutive calls (parallel tool calls) belong to one assistant message.
      if (!out.empty() && out.back()["role"] == "assistant" &&
          (out.back().contains("tool_calls") || out.back()["content"].is_string())) {
        out.back()["tool_calls"].push_back(std::move(call));
      } else {
        out.push_back({{"role", "assistant"},
                       {"content", nullptr},
                       {"tool_calls", Json::array({std::move(call)})}});
      }
    } else if (type == "function_call_output") {
      const std::string call_id = str(item, "call_id");
      if (call_id.empty())
        return bad<Json>("a function_call_output item needs call_id", p + ".call_id");
      out.push_back({{"role", "tool"},
                     {"tool_call_id", call_id},
                     {"content", outputText(field(item, "output"))}});
    } else if (type == "reasoning") {
      continue;  // another model's reasoning: nothing a hub provider can take back
    } else if (type == "item_reference") {
      return bad<Json>(
          "item_reference needs stored responses, which this route does not keep (it translates "
          "for another provider); send the items themselves, e.g. with store: false (Vercel AI "
          "SDK: providerOptions.openai.store = false)",
          p + ".type");
    } else {
      return bad<Json>("input item type '" + type + "' is not supported", p + ".type");
    }
  }
  return out;
}

ApiResult<Json> tools(const Json& in) {
  if (!in.is_array()) return bad<Json>("tools must be an array", "tools");
  Json out = Json::array();
  for (std::size_t i = 0; i < in.size(); ++i) {
    const Json& t = in[i];
    const std::string p = at("tools", i);
    const std::string type = str(t, "type");
    if (type != "function")
      return bad<Json>("tool type '" + type +
                           "' runs at OpenAI and is not supported on this route; only function "
                           "tools are",
                       p + ".type");
    const std::string name = str(t, "name");
    if (name.empty()) return bad<Json>("a function tool needs a 'name'", p + ".name");
    Json fn = {{"name", name}};
    for (const char* key : {"description", "parameters", "strict"})
      if (const Json& v = field(t, key); !v.is_null()) fn[key] = v;
    out.push_back({{"type", "function"}, {"function", std::move(fn)}});
  }
  return out;
}

ApiResult<Json> toolChoice(const Json& choice) {
  if (choice.is_string()) return choice;
  if (str(choice, "type") == "function" && !str(choice, "name").empty())
    return Json{{"type", "function"}, {"function", {{"name", str(choice, "name")}}}};
  return bad<Json>(
      R"(tool_choice must be "auto", "none", "required" or {"type":"function","name":...})",
      "tool_choice");
}

// text.format -> response_format.
ApiResult<Json> responseFormat(const Json& format) {
  const std::string type = str(format, "type");
  if (type == "text" || type.empty()) return Json();
  if (type == "json_object") return Json{{"type", "json_object"}};
  if (type == "json_schema") {
    Json schema = {{"name", str(format, "name").empty() ? "response" : str(format, "name")}};
    for (const char* key : {"schema", "strict", "description"})
      if (const Json& v = field(format, key); !v.is_null()) schema[key] = v;
    return Json{{"type", "json_schema"}, {"json_schema", std::move(schema)}};
  }
  return bad<Json>("text.format type must be text, json_object or json_schema", "text.format.type");
}

}  // namespace

Result<nlohmann::json, ApiError> requestToHub(const nlohmann::json& body) {
  for (const char* key : {"previous_response_id", "conversation"})
    if (!field(body, key).is_null())
      return bad<Json>(std::string(key) +
                           " needs stored responses, which this route does not keep (it "
                           "translates for another provider); send the whole conversation as "
                           "input items",
                       key);
  if (field(body, "background") == true)
    return bad<Json>("background responses are not supported on this route", "background");
  Json hub = Json::object();
  if (const Json& model = field(body, "model"); !model.is_null()) hub["model"] = model;
  Json msgs = Json::array();
  if (const Json& instructions = field(body, "instructions"); instructions.is_string())
    msgs.push_back({{"role", "system"}, {"content", instructions}});
  const Json& input = field(body, "input");
  if (input.is_null()) return bad<Json>("input is required", "input");
  auto converted = messages(input);
  if (!converted) return converted;
  for (auto& m : *converted) msgs.push_back(std::move(m));
  hub["messages"] = std::move(msgs);

  if (const Json& v = field(body, "max_output_tokens"); !v.is_null()) hub["max_tokens"] = v;
  for (const char* key : {"temperature", "top_p", "parallel_tool_calls", "stream", "user"})
    if (const Json& v = field(body, key); !v.is_null()) hub[key] = v;
  if (const Json& t = field(body, "tools"); !t.is_null()) {
    auto out = tools(t);
    if (!out) return out;
    if (!out->empty()) hub["tools"] = std::move(*out);
  }
  if (const Json& choice = field(body, "tool_choice"); !choice.is_null() && hub.contains("tools")) {
    auto out = toolChoice(choice);
    if (!out) return out;
    hub["tool_choice"] = std::move(*out);
  }
  if (const Json& format = field(field(body, "text"), "format"); format.is_object()) {
    auto out = responseFormat(format);
    if (!out) return out;
    if (!out->is_null()) hub["response_format"] = std::move(*out);
  }
  // response.completed always carries usage, so the hub must report it.
  if (hub.value("stream", false)) hub["stream_options"] = {{"include_usage", true}};
  return hub;
}

}  // namespace aigw::formats::responses
