#include "proxy/request_context.hpp"

#include "core/json.hpp"

namespace aigw::proxy {

bool RequestContext::ensureBody() {
  if (body_parsed) return body_error.empty();
  body_parsed = true;
  if (!json::parse(request.body, body, &body_error)) return false;
  return true;
}

}  // namespace aigw::proxy
