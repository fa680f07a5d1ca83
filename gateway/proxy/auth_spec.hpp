// Kong's `auth` block of an LLM target (ai-proxy, and `llm` of the AI transformers): the
// credential the gateway adds to the upstream request.
// Thread-safety: plain value, immutable after config load.
#pragma once

#include <string>

namespace aigw::proxy {

struct AuthSpec {
  std::string header_name, header_value;                // header_name: header_value
  std::string param_name, param_value, param_location;  // param_location: query | body
  bool allow_override = false;  // the client's own value of the same header/param wins
};

}  // namespace aigw::proxy
