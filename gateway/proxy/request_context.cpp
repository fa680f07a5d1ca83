#include "proxy/request_context.hpp"

#include "core/json.hpp"

namespace aigw::proxy {

namespace {
bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  return true;
}
}  // namespace

const std::string* Reply::header(std::string_view name) const {
  for (const auto& h : headers)
    if (iequals(h.name, name)) return &h.value;
  return nullptr;
}

void Reply::setHeader(std::string_view name, std::string value) {
  for (auto& h : headers)
    if (iequals(h.name, name)) {
      h.value = std::move(value);
      return;
    }
  headers.push_back({std::string(name), std::move(value)});
}

void Reply::removeHeader(std::string_view name) {
  std::erase_if(headers, [&](const Header& h) { return iequals(h.name, name); });
}

bool RequestContext::ensureBody() {
  if (body_parsed) return body_error.empty();
  body_parsed = true;
  if (!json::parse(rawBody(), body, &body_error)) return false;
  return true;
}

void RequestContext::releaseBody() {
  body = nlohmann::json();
  body_parsed = true;
  body_error = "the request body was released once the answer began streaming";
  raw_body.reset();
}

void RequestContext::setRawBody(std::string text) {
  raw_body = std::move(text);
  body = nullptr;
  body_parsed = false;
  body_edited = false;
  body_error.clear();
}

std::string_view RequestContext::clientQuery() const {
  if (query_without_credential) return *query_without_credential;
  const auto q = request.target.find('?');
  return q == std::string::npos ? std::string_view()
                                : std::string_view(request.target).substr(q + 1);
}

std::string RequestContext::upstreamBody() const {
  if (body_edited) return json::dump(body);
  return std::string(rawBody());
}

}  // namespace aigw::proxy
