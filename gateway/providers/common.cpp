#include "providers/common.hpp"

#include <algorithm>
#include <chrono>
#include <random>

#include "core/json.hpp"
#include "core/json_splice.hpp"

namespace aigw::providers {

std::string_view routeTypeName(RouteType t) {
  switch (t) {
    case RouteType::Chat:
      return "llm/v1/chat";
    case RouteType::Completions:
      return "llm/v1/completions";
    case RouteType::Embeddings:
      return "llm/v1/embeddings";
    case RouteType::Preserve:
      return "preserve";
  }
  return "";
}

void applyOptions(nlohmann::json& into, const nlohmann::json& client_body,
                  const ModelOptions& options, const OptionKeys& keys) {
  auto fill = [&](const char* key, const char* client_key, const auto& value) {
    if (!key || !value) return;
    if (client_body.contains(client_key) && !client_body[client_key].is_null()) return;
    into[key] = *value;
  };
  fill(keys.max_tokens, "max_tokens", options.max_tokens);
  fill(keys.temperature, "temperature", options.temperature);
  fill(keys.top_p, "top_p", options.top_p);
  fill(keys.top_k, "top_k", options.top_k);
}

std::string serializeBody(nlohmann::json& body, const ProxyCall& call) {
  if (!call.body_auth_name.empty() && body.is_object())
    body[std::string(call.body_auth_name)] = std::string(call.body_auth_value);
  return json::dump(body);
}

std::string resolveUrl(const Target& target, const std::string& default_url,
                       const ProxyCall& call) {
  std::string url = target.options.upstream_url.empty() ? default_url : target.options.upstream_url;
  const bool preserve = call.route_type == RouteType::Preserve;
  if (!target.options.upstream_path.empty() || preserve) {
    http::ParsedUrl parsed;
    if (http::parseUrl(url, parsed)) {
      std::string path = !target.options.upstream_path.empty() ? target.options.upstream_path
                                                               : std::string(call.client_path);
      const bool default_port = (parsed.scheme == "http" && parsed.port == 80) ||
                                (parsed.scheme == "https" && parsed.port == 443);
      std::string host =
          parsed.host.find(':') != std::string::npos ? "[" + parsed.host + "]" : parsed.host;
      url = parsed.scheme + "://" + host + (default_port ? "" : ":" + std::to_string(parsed.port)) +
            path;
    }
  }
  if (!call.client_query.empty() && call.route_type == RouteType::Preserve)
    url += (url.find('?') == std::string::npos ? "?" : "&") + std::string(call.client_query);
  return url;
}

void preserveRequest(http::UpstreamRequest& req, const ProxyCall& call) {
  req.method = call.client_method.empty() ? "POST" : std::string(call.client_method);
  std::string body(call.raw_body);
  if (!call.body_auth_name.empty()) {
    if (auto edited = json::spliceMembers(
            body, {{std::string(call.body_auth_name),
                    json::dump(nlohmann::json(std::string(call.body_auth_value)))}}))
      body = std::move(*edited);
  }
  req.body = std::move(body);
  req.headers = {{"Accept-Encoding", "identity"}};
  if (!call.client_accept.empty())
    req.headers.push_back({"Accept", std::string(call.client_accept)});
  if (!req.body.empty())
    req.headers.push_back({"Content-Type", call.client_content_type.empty()
                                               ? std::string("application/json")
                                               : std::string(call.client_content_type)});
}

std::string nativeBody(const ProxyCall& call, const Target& target, const OptionKeys* keys) {
  std::vector<json::MemberEdit> edits;
  const nlohmann::json& in = call.body ? *call.body : nlohmann::json();
  auto current = [&](const char* key) -> const nlohmann::json* {
    if (!in.is_object()) return nullptr;
    auto it = in.find(key);
    return it == in.end() ? nullptr : &*it;
  };
  if (!call.model.empty()) {
    const nlohmann::json* m = current("model");
    if (!m || !m->is_string() || m->get_ref<const std::string&>() != call.model)
      edits.push_back({"model", json::dump(nlohmann::json(call.model))});
  }
  if (call.stream) {
    const nlohmann::json* st = current("stream");
    if (!st || *st != true) edits.push_back({"stream", "true"});
  }
  if (keys) {
    const ModelOptions& o = target.options;
    auto fill = [&](const char* key, const auto& value) {
      if (key && value) edits.push_back({key, json::dump(nlohmann::json(*value)), true});
    };
    fill(keys->max_tokens, o.max_tokens);
    fill(keys->temperature, o.temperature);
    fill(keys->top_p, o.top_p);
    fill(keys->top_k, o.top_k);
  }
  if (!call.body_auth_name.empty())
    edits.push_back({std::string(call.body_auth_name),
                     json::dump(nlohmann::json(std::string(call.body_auth_value)))});
  if (edits.empty()) return std::string(call.raw_body);
  auto out = json::spliceMembers(call.raw_body, edits);
  return out ? std::move(*out) : std::string(call.raw_body);
}

http::Headers jsonRequestHeaders(bool stream) {
  return {{"Content-Type", "application/json"},
          {"Accept", stream ? "text/event-stream" : "application/json"},
          {"Accept-Encoding", "identity"}};
}

Result<nlohmann::json, ApiError> parseUpstreamJson(std::string_view body,
                                                   std::string_view provider) {
  nlohmann::json out;
  if (!json::parse(body, out) || !out.is_object()) {
    return Result<nlohmann::json, ApiError>::failure(ApiError::badGateway(
        "upstream " + std::string(provider) + " returned a response that is not a JSON object"));
  }
  return out;
}

nlohmann::json usageJson(const Usage& usage) {
  const long long p = usage.prompt_tokens > 0 ? usage.prompt_tokens : 0;
  const long long c = usage.completion_tokens > 0 ? usage.completion_tokens : 0;
  nlohmann::json out = {{"prompt_tokens", p}, {"completion_tokens", c}, {"total_tokens", p + c}};
  if (usage.cached_tokens >= 0 || usage.cache_write_tokens >= 0) {
    nlohmann::json details = {{"cached_tokens", std::max(0LL, usage.cached_tokens)}};
    if (usage.cache_write_tokens >= 0) details["cache_write_tokens"] = usage.cache_write_tokens;
    out["prompt_tokens_details"] = std::move(details);
  }
  if (usage.reasoning_tokens >= 0)
    out["completion_tokens_details"] = {{"reasoning_tokens", usage.reasoning_tokens}};
  return out;
}

Usage usageFromOpenAI(const nlohmann::json& usage) {
  Usage u;
  if (!usage.is_object()) return u;
  auto num = [](const nlohmann::json& o, const char* key) -> long long {
    if (!o.is_object()) return -1;
    auto it = o.find(key);
    return it != o.end() && it->is_number() ? it->get<long long>() : -1;
  };
  u.prompt_tokens = num(usage, "prompt_tokens");
  u.completion_tokens = num(usage, "completion_tokens");
  if (auto d = usage.find("prompt_tokens_details"); d != usage.end()) {
    u.cached_tokens = num(*d, "cached_tokens");
    u.cache_write_tokens = num(*d, "cache_write_tokens");
  }
  if (auto d = usage.find("completion_tokens_details"); d != usage.end())
    u.reasoning_tokens = num(*d, "reasoning_tokens");
  return u;
}

std::optional<Usage> usageFromOpenAIText(std::string_view text) {
  const auto members = json::objectMembers(text);
  if (!members) return std::nullopt;
  Usage u;
  auto num = [](std::string_view value, long long& into) {
    if (auto v = json::integerValue(value)) into = *v;
  };
  // Each member in order: a repeated key ends as its last value, as a parser would keep it.
  for (const auto& m : *members) {
    if (m.key == "prompt_tokens") {
      u.prompt_tokens = -1;
      num(m.value, u.prompt_tokens);
    } else if (m.key == "completion_tokens") {
      u.completion_tokens = -1;
      num(m.value, u.completion_tokens);
    } else if (m.key == "prompt_tokens_details" || m.key == "completion_tokens_details") {
      const bool prompt = m.key == "prompt_tokens_details";
      if (prompt)
        u.cached_tokens = u.cache_write_tokens = -1;
      else
        u.reasoning_tokens = -1;
      const auto details = json::objectMembers(m.value);
      if (!details) continue;
      for (const auto& d : *details) {
        if (prompt && d.key == "cached_tokens") num(d.value, u.cached_tokens);
        if (prompt && d.key == "cache_write_tokens") num(d.value, u.cache_write_tokens);
        if (!prompt && d.key == "reasoning_tokens") num(d.value, u.reasoning_tokens);
      }
    }
  }
  return u;
}

std::optional<double> usageCost(const Usage& usage, const ModelOptions& o) {
  if (!o.input_cost && !o.output_cost && !o.cache_read_cost && !o.cache_write_cost)
    return std::nullopt;
  const long long prompt = std::max(0LL, usage.prompt_tokens);
  const long long read = std::min(prompt, std::max(0LL, usage.cached_tokens));
  const long long write = std::min(prompt - read, std::max(0LL, usage.cache_write_tokens));
  const double input = o.input_cost.value_or(0);
  const double cost = (prompt - read - write) * input + read * o.cache_read_cost.value_or(input) +
                      write * o.cache_write_cost.value_or(input) +
                      std::max(0LL, usage.completion_tokens) * o.output_cost.value_or(0);
  return cost / 1e6;
}

long long unixNow() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string newCompletionId(std::string_view prefix) {
  static constexpr char kAlphabet[] =
      "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  thread_local std::mt19937_64 rng{std::random_device{}()};
  std::string id(prefix);
  for (int i = 0; i < 24; ++i) id += kAlphabet[rng() % (sizeof(kAlphabet) - 1)];
  return id;
}

nlohmann::json makeChunk(const std::string& id, long long created, const std::string& model) {
  return {{"id", id},
          {"object", "chat.completion.chunk"},
          {"created", created},
          {"model", model},
          {"choices", nlohmann::json::array()}};
}

std::string contentText(const nlohmann::json& content) {
  if (content.is_string()) return content.get<std::string>();
  std::string out;
  if (content.is_array()) {
    for (const auto& part : content) {
      if (part.is_object() && part.contains("type") && part["type"] == "text" &&
          part.contains("text") && part["text"].is_string())
        out += part["text"].get<std::string>();
    }
  }
  return out;
}

ApiError Provider::parseError(int status, std::string_view body) const {
  ApiError err;
  err.status = status;
  err.type = status == 401   ? "authentication_error"
             : status == 403 ? "permission_error"
             : status == 404 ? "not_found_error"
             : status == 429 ? "rate_limit_error"
             : status >= 500 ? "upstream_error"
                             : "invalid_request_error";
  nlohmann::json parsed;
  if (json::parse(body, parsed) && parsed.is_object()) {
    const nlohmann::json* e = parsed.contains("error") ? &parsed["error"] : &parsed;
    if (e->is_object()) {
      if (e->contains("message") && (*e)["message"].is_string()) err.message = (*e)["message"];
      if (e->contains("type") && (*e)["type"].is_string()) err.type = (*e)["type"];
      if (e->contains("code") && (*e)["code"].is_string()) err.code = (*e)["code"];
      if (e->contains("code") && (*e)["code"].is_number_integer())
        err.code = std::to_string((*e)["code"].get<long long>());
      if (e->contains("param") && (*e)["param"].is_string()) err.param = (*e)["param"];
    } else if (e->is_string()) {
      err.message = e->get<std::string>();
    }
  }
  if (err.message.empty()) {
    std::string snippet(body.substr(0, 200));
    for (auto& c : snippet)
      if (c == '\n' || c == '\r') c = ' ';
    err.message = "upstream " + std::string(name()) + " returned HTTP " + std::to_string(status) +
                  (snippet.empty() ? "" : ": " + snippet);
  }
  return err;
}

}  // namespace aigw::providers

namespace aigw::providers {

Result<std::vector<ToolCallRequest>, ApiError> parseToolCalls(const nlohmann::json& calls,
                                                              const std::string& path,
                                                              std::string_view provider) {
  using R = Result<std::vector<ToolCallRequest>, ApiError>;
  std::vector<ToolCallRequest> out;
  if (calls.is_null()) return out;
  if (!calls.is_array())
    return R::failure(ApiError::badRequest("tool_calls must be an array", path));
  for (std::size_t j = 0; j < calls.size(); ++j) {
    const nlohmann::json& call = calls[j];
    const std::string p = path + "[" + std::to_string(j) + "]";
    auto text = [&](const nlohmann::json& o, const char* key) {
      return o.is_object() && o.contains(key) && o[key].is_string() ? o[key].get<std::string>()
                                                                    : std::string();
    };
    const std::string type = text(call, "type");
    if (!type.empty() && type != "function")
      return R::failure(ApiError::badRequest(
          "tool call type '" + type + "' is not supported by " + std::string(provider),
          p + ".type"));
    const nlohmann::json fn =
        call.is_object() && call.contains("function") ? call["function"] : nlohmann::json();
    ToolCallRequest tc;
    tc.name = text(fn, "name");
    if (tc.name.empty())
      return R::failure(
          ApiError::badRequest("a tool call needs a function name", p + ".function.name"));
    tc.id = text(call, "id");
    if (tc.id.empty())
      return R::failure(ApiError::badRequest("a tool call needs an 'id'", p + ".id"));
    const nlohmann::json args =
        fn.is_object() && fn.contains("arguments") ? fn["arguments"] : nlohmann::json();
    tc.input = nlohmann::json::object();
    if (args.is_object()) {
      tc.input = args;
    } else if (args.is_string() && args.get_ref<const std::string&>().find_first_not_of(
                                       " \t\r\n") != std::string::npos) {
      std::string error;
      if (!json::parse(args.get_ref<const std::string&>(), tc.input, &error) ||
          !tc.input.is_object())
        return R::failure(ApiError::badRequest(
            "tool call arguments must be a JSON object" + (error.empty() ? "" : ": " + error),
            p + ".function.arguments"));
    } else if (!args.is_null() && !args.is_string()) {
      return R::failure(ApiError::badRequest("tool call arguments must be a JSON string",
                                             p + ".function.arguments"));
    }
    out.push_back(std::move(tc));
  }
  return out;
}

nlohmann::json toolCallJson(const std::string& id, const std::string& name,
                            const nlohmann::json& input) {
  return {{"id", id},
          {"type", "function"},
          {"function",
           {{"name", name},
            {"arguments", json::dump(input.is_null() ? nlohmann::json::object() : input)}}}};
}

std::string renderCompletion(const ProxyCall& call, Completion answer) {
  const bool completions = call.route_type == RouteType::Completions;
  nlohmann::json choice = {
      {"index", 0}, {"finish_reason", answer.finish_reason}, {"logprobs", nullptr}};
  if (completions) {
    choice["text"] = std::move(answer.text);
  } else {
    nlohmann::json message = {{"role", "assistant"}};
    // OpenAI sends null content when the answer is only tool calls.
    message["content"] = answer.text.empty() && !answer.tool_calls.empty()
                             ? nlohmann::json(nullptr)
                             : nlohmann::json(std::move(answer.text));
    if (!answer.tool_calls.empty()) message["tool_calls"] = std::move(answer.tool_calls);
    choice["message"] = std::move(message);
  }
  const nlohmann::json out = {
      {"id", answer.id.empty() ? newCompletionId(completions ? "cmpl-" : "chatcmpl-") : answer.id},
      {"object", completions ? "text_completion" : "chat.completion"},
      {"created", unixNow()},
      {"model", answer.model.empty() ? call.model : answer.model},
      {"choices", nlohmann::json::array({std::move(choice)})},
      {"usage", usageJson(answer.usage)}};
  if (answer.total_tokens >= 0) {
    nlohmann::json with_total = out;
    with_total["usage"]["total_tokens"] = answer.total_tokens;
    return json::dump(with_total);
  }
  return json::dump(out);
}

}  // namespace aigw::providers

namespace aigw::providers {

ChunkWriter::ChunkWriter(RouteType type, std::string model)
    : completions_(type == RouteType::Completions),
      id_(newCompletionId(completions_ ? "cmpl-" : "chatcmpl-")),
      created_(unixNow()),
      model_(std::move(model)) {}

nlohmann::json ChunkWriter::base() const {
  nlohmann::json chunk = makeChunk(id_, created_, model_);
  if (completions_) chunk["object"] = "text_completion";
  return chunk;
}

void ChunkWriter::text(const std::string& text, ChunkSink& out) const {
  if (text.empty()) return;
  if (completions_) {
    nlohmann::json chunk = base();
    chunk["choices"].push_back(
        {{"index", 0}, {"text", text}, {"logprobs", nullptr}, {"finish_reason", nullptr}});
    out.emit(json::dump(chunk));
    return;
  }
  delta({{"content", text}}, out);
}

void ChunkWriter::delta(nlohmann::json delta, ChunkSink& out) const {
  nlohmann::json chunk = base();
  chunk["choices"].push_back(
      {{"index", 0}, {"delta", std::move(delta)}, {"finish_reason", nullptr}});
  out.emit(json::dump(chunk));
}

}  // namespace aigw::providers

namespace aigw::providers {

namespace {
bool isSet(const nlohmann::json& v) {
  if (v.is_null()) return false;
  if (v.is_boolean()) return v.get<bool>();
  if (v.is_number()) return v.get<double>() != 0;
  if (v.is_object() || v.is_array() || v.is_string()) return !v.empty();
  return true;
}
}  // namespace

std::optional<ApiError> rejectUnsupported(const nlohmann::json& body, std::string_view provider,
                                          std::initializer_list<const char*> fields) {
  if (!body.is_object()) return std::nullopt;
  for (const char* key : fields) {
    auto it = body.find(key);
    if (it != body.end() && isSet(*it))
      return ApiError::badRequest(
          std::string(key) + " is not supported by provider " + std::string(provider), key);
  }
  if (auto n = body.find("n"); n != body.end() && n->is_number() && n->get<double>() > 1)
    return ApiError::badRequest("n > 1 is not supported by provider " + std::string(provider), "n");
  return std::nullopt;
}

}  // namespace aigw::providers

namespace aigw::providers {

void copyRenamed(nlohmann::json& into, const nlohmann::json& client_body,
                 std::initializer_list<std::pair<const char*, const char*>> renames) {
  for (const auto& [from, to] : renames) {
    auto it = client_body.find(from);
    if (it == client_body.end() || it->is_null()) continue;
    into[to] =
        std::string_view(from) == "stop" && it->is_string() ? nlohmann::json::array({*it}) : *it;
  }
}

}  // namespace aigw::providers
