// multipart/form-data bodies (RFC 7578), as `curl -F name=value` and `-F config=@file` send
// them to the admin API: each part's name (and file name) and content. Bounded: at most
// kMaxParts parts and the body's own size; anything malformed is an error, never a crash.
// Thread-safety: pure function.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"

namespace aigw::admin {

struct FormPart {
  std::string name;
  std::string filename;  // empty for a plain field
  std::string content_type;
  std::string content;
};

inline constexpr std::size_t kMaxParts = 1000;

// The boundary parameter of a multipart Content-Type, or empty.
std::string multipartBoundary(std::string_view content_type);

Result<std::vector<FormPart>> parseMultipart(std::string_view body, std::string_view boundary);

}  // namespace aigw::admin
