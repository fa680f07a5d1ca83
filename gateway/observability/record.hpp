// The access-log record of one request: one JSON object per line. Credentials and headers are
// never part of it, nor bodies unless a plugin's config asks for one (ai-prompt-template's
// log_original_request); the query string is dropped because it may carry a key.
// Thread-safety: pure function.
#pragma once

#include <string>

namespace aigw::proxy {
struct RequestContext;
}

namespace aigw::observability {

std::string accessRecord(const proxy::RequestContext& ctx);

}  // namespace aigw::observability
