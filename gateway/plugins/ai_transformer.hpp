// What ai-request-transformer and ai-response-transformer share: Kong's config schema (prompt,
// transformation_extract_pattern, http_timeout, https_verify, forward-proxy fields,
// max_request_body_size, llm) and the pure steps around the LLM call — the introspection
// request, the extract pattern, and the {status, headers, body} instructions the response
// transformer may ask the LLM for (kong/llm/init.lua ai_introspect_body, parse_json_instructions).
// Thread-safety: TransformerConfig is immutable after load; the functions are pure.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "config/errors.hpp"
#include "config/schema.hpp"
#include "core/api_error.hpp"
#include "core/regex.hpp"
#include "core/result.hpp"
#include "proxy/llm_call.hpp"

namespace aigw::proxy {
struct Reply;
}

namespace aigw::plugins::transformer {

struct TransformerConfig {
  std::string prompt;
  std::optional<Regex> extract;  // transformation_extract_pattern, "ijom" as in Kong
  proxy::LlmTarget llm;
  long long max_body = 1048576;
  bool parse_instructions = false;  // response transformer only
};

// The schema; `response` adds parse_llm_response_json_instructions.
config::Schema schema(bool response);

// Reads a validated config; problems (bad pattern, route type, proxies) go to `errors`.
TransformerConfig parse(const nlohmann::json& cfg, const std::string& path,
                        config::ConfigErrors& errors);

// The chat request Kong sends: the prompt as the system message, the content as the user's.
nlohmann::json introspectionRequest(const std::string& prompt, std::string content);

// The LLM's text, or its first match of the extract pattern (the whole match). No match is
// Kong's 400 "AI response did not match specified regular expression".
Result<std::string, ApiError> extract(const std::optional<Regex>& pattern, std::string text);

struct Instructions {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

// {"status": 209, "headers": {...}, "body": "..."}: a missing body means the whole object is
// the body (JSON), a non-string body is sent as JSON, status defaults to 200. The error is the
// reason, which the plugin prefixes with Kong's "failed to parse JSON response instructions
// from AI backend: ".
Result<Instructions, std::string> parseInstructions(const std::string& text);

// The upstream answer with the LLM's result: without instructions only the body changes;
// with them, status and the named headers too. Length and encoding headers are dropped, as
// the body is new.
void applyToReply(proxy::Reply& reply, std::string llm_text,
                  const std::optional<Instructions>& instructions);

}  // namespace aigw::plugins::transformer
