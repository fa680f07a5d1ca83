// AWS Signature Version 4 (header form).
// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html
#include "providers/sigv4.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include <algorithm>
#include <cctype>
#include <ctime>
#include <map>
#include <utility>

namespace aigw::providers::sigv4 {

namespace {

constexpr const char* kAlgorithm = "AWS4-HMAC-SHA256";

std::string hmac(std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &len);
  return std::string(reinterpret_cast<const char*>(out), len);
}

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// Canonical header value: leading/trailing spaces removed, inner runs of spaces and tabs
// collapsed to one space.
std::string trimValue(std::string_view v) {
  std::string out;
  bool space = false;
  for (char c : v) {
    if (c == ' ' || c == '\t') {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += c;
  }
  return out;
}

int hexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string percentDecode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      const int hi = hexDigit(s[i + 1]), lo = hexDigit(s[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out += static_cast<char>(hi * 16 + lo);
        i += 2;
        continue;
      }
    }
    out += s[i];
  }
  return out;
}

}  // namespace

std::string hex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out += kDigits[c >> 4];
    out += kDigits[c & 0xf];
  }
  return out;
}

std::string sha256Hex(std::string_view data) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest);
  return hex(std::string_view(reinterpret_cast<const char*>(digest), sizeof digest));
}

std::string amzDate(std::chrono::system_clock::time_point t) {
  const std::time_t secs = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[17];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

std::string uriEncode(std::string_view s, bool encode_slash) {
  static constexpr char kDigits[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' ||
        (c == '/' && !encode_slash)) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kDigits[c >> 4];
      out += kDigits[c & 0xf];
    }
  }
  return out;
}

// "Each path segment must be URI-encoded twice (except for Amazon S3 which only gets
// URI-encoded once)": the wire path is encoded once by the caller, so encoding it here makes
// twice. For the test suite, whose paths are raw ("/example space/"), this is the one encoding.
// Dot segments are not normalised: the paths we sign are built by us and have none.
std::string canonicalUri(std::string_view path) {
  if (path.empty()) return "/";
  std::string out = uriEncode(path, false);
  if (out.front() != '/') out.insert(out.begin(), '/');
  return out;
}

std::string canonicalQuery(std::string_view query) {
  std::vector<std::pair<std::string, std::string>> params;
  std::size_t start = 0;
  while (!query.empty() && start <= query.size()) {
    std::size_t end = query.find('&', start);
    if (end == std::string_view::npos) end = query.size();
    const std::string_view item = query.substr(start, end - start);
    if (!item.empty()) {
      const auto eq = item.find('=');
      const std::string_view name = item.substr(0, eq);
      const std::string_view value =
          eq == std::string_view::npos ? std::string_view() : item.substr(eq + 1);
      params.emplace_back(uriEncode(percentDecode(name)), uriEncode(percentDecode(value)));
    }
    start = end + 1;
  }
  std::sort(params.begin(), params.end());
  std::string out;
  for (const auto& [name, value] : params) {
    if (!out.empty()) out += '&';
    out.append(name).append("=").append(value);
  }
  return out;
}

std::string signingKey(std::string_view secret, std::string_view date8, std::string_view region,
                       std::string_view service) {
  const std::string k_date = hmac("AWS4" + std::string(secret), date8);
  const std::string k_region = hmac(k_date, region);
  const std::string k_service = hmac(k_region, service);
  return hmac(k_service, "aws4_request");
}

Signed sign(const Request& request, const Credentials& credentials, std::string_view region,
            std::string_view service, std::chrono::system_clock::time_point now) {
  Signed out;
  out.amz_date = amzDate(now);
  const std::string date8 = out.amz_date.substr(0, 8);

  // Canonical headers: lower-case names, sorted; values trimmed; repeated names joined by ','.
  std::map<std::string, std::string> headers;
  auto add = [&](std::string_view name, std::string_view value) {
    auto [it, inserted] = headers.emplace(lower(name), trimValue(value));
    if (!inserted) it->second.append(",").append(trimValue(value));
  };
  for (const auto& h : request.headers) add(h.name, h.value);
  out.headers.push_back({"X-Amz-Date", out.amz_date});
  add("x-amz-date", out.amz_date);
  if (!credentials.session_token.empty()) {
    out.headers.push_back({"X-Amz-Security-Token", credentials.session_token});
    add("x-amz-security-token", credentials.session_token);
  }
  std::string canonical_headers;
  for (const auto& [name, value] : headers) {
    canonical_headers.append(name).append(":").append(value).append("\n");
    if (!out.signed_headers.empty()) out.signed_headers += ';';
    out.signed_headers += name;
  }

  std::string method(request.method);
  std::transform(method.begin(), method.end(), method.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  out.canonical_request = method + "\n" + canonicalUri(request.path) + "\n" +
                          canonicalQuery(request.query) + "\n" + canonical_headers + "\n" +
                          out.signed_headers + "\n" + sha256Hex(request.payload);

  const std::string scope =
      date8 + "/" + std::string(region) + "/" + std::string(service) + "/aws4_request";
  out.string_to_sign = std::string(kAlgorithm) + "\n" + out.amz_date + "\n" + scope + "\n" +
                       sha256Hex(out.canonical_request);
  out.signature = hex(
      hmac(signingKey(credentials.secret_access_key, date8, region, service), out.string_to_sign));
  out.authorization = std::string(kAlgorithm) + " Credential=" + credentials.access_key_id + "/" +
                      scope + ", SignedHeaders=" + out.signed_headers +
                      ", Signature=" + out.signature;
  out.headers.push_back({"Authorization", out.authorization});
  return out;
}

}  // namespace aigw::providers::sigv4
