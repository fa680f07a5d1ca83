#include "admin/multipart.hpp"

#include "http/message.hpp"

namespace aigw::admin {

namespace {

using R = Result<std::vector<FormPart>>;

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// A parameter of a header value such as `form-data; name="x"; filename="y"`; quoted or not.
std::string param(std::string_view value, std::string_view key) {
  std::size_t at = 0;
  while (at < value.size()) {
    const std::size_t semi = value.find(';', at);
    std::string_view item =
        trim(value.substr(at, semi == std::string_view::npos ? value.npos : semi - at));
    at = semi == std::string_view::npos ? value.size() : semi + 1;
    const std::size_t eq = item.find('=');
    if (eq == std::string_view::npos || !http::iequals(trim(item.substr(0, eq)), key)) continue;
    std::string_view v = trim(item.substr(eq + 1));
    if (v.size() >= 2 && v.front() == '"' && v.back() == '"') {
      std::string out;
      for (std::size_t i = 1; i + 1 < v.size(); ++i) {
        if (v[i] == '\\' && i + 2 < v.size()) ++i;
        out += v[i];
      }
      return out;
    }
    return std::string(v);
  }
  return {};
}

}  // namespace

std::string multipartBoundary(std::string_view content_type) {
  const std::size_t semi = content_type.find(';');
  if (semi == std::string_view::npos ||
      !http::iequals(trim(content_type.substr(0, semi)), "multipart/form-data"))
    return {};
  std::string b = param(content_type.substr(semi + 1), "boundary");
  return b.size() <= 70 ? b : std::string();  // RFC 2046: 1 to 70 characters
}

R parseMultipart(std::string_view body, std::string_view boundary) {
  if (boundary.empty()) return R::failure("multipart body without a boundary");
  const std::string delimiter = "--" + std::string(boundary);
  std::size_t at = body.find(delimiter);
  if (at == std::string_view::npos) return R::failure("multipart body without its boundary");
  std::vector<FormPart> parts;
  for (;;) {
    at += delimiter.size();
    if (body.substr(at, 2) == "--") return parts;  // the closing delimiter
    if (body.substr(at, 2) != "\r\n") return R::failure("malformed multipart delimiter line");
    at += 2;
    const std::size_t head_end = body.find("\r\n\r\n", at);
    if (head_end == std::string_view::npos) return R::failure("multipart part without a header");
    FormPart part;
    std::string_view head = body.substr(at, head_end - at);
    while (!head.empty()) {
      const std::size_t eol = head.find("\r\n");
      std::string_view line = head.substr(0, eol);
      head = eol == std::string_view::npos ? std::string_view{} : head.substr(eol + 2);
      const std::size_t colon = line.find(':');
      if (colon == std::string_view::npos) return R::failure("malformed multipart part header");
      const std::string_view name = trim(line.substr(0, colon));
      const std::string_view value = trim(line.substr(colon + 1));
      if (http::iequals(name, "content-disposition")) {
        part.name = param(value, "name");
        part.filename = param(value, "filename");
      } else if (http::iequals(name, "content-type")) {
        part.content_type = std::string(value);
      }
    }
    const std::size_t content_start = head_end + 4;
    const std::size_t next = body.find("\r\n" + delimiter, content_start);
    if (next == std::string_view::npos) return R::failure("multipart part is not terminated");
    part.content = std::string(body.substr(content_start, next - content_start));
    if (part.name.empty()) return R::failure("multipart part without a name");
    if (parts.size() == kMaxParts)
      return R::failure("more than " + std::to_string(kMaxParts) + " multipart parts");
    parts.push_back(std::move(part));
    at = next + 2;
  }
}

}  // namespace aigw::admin
