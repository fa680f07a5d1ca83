// The access-log record of one request: one JSON object per line. Credentials, headers and
// bodies are never part of it; the query string is dropped because it may carry a key.
// Thread-safety: pure function.
#pragma once

#include <string>

namespace aigw::proxy {
struct RequestContext;
}

namespace aigw::observability {

std::string accessRecord(const proxy::RequestContext& ctx);

}  // namespace aigw::observability
