// Service-account access tokens for Vertex AI (see gemini_auth.hpp).
// JWT bearer flow: https://developers.google.com/identity/protocols/oauth2/service-account#httprest
// JWS / RS256: RFC 7515, RFC 7518 §3.3.
#include "providers/gemini_auth.hpp"

#include <openssl/bio.h>
#include <openssl/pem.h>

#include <cctype>

#include <nlohmann/json.hpp>
#include <vector>

#include "core/json.hpp"

namespace aigw::providers::gcp {

namespace {

using Json = nlohmann::json;
using Clock = std::chrono::system_clock;

constexpr long long kAssertionLifetimeSeconds = 3600;  // Google's maximum

EVP_PKEY* readPrivateKey(const std::string& pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  if (!bio) return nullptr;
  EVP_PKEY* key = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  return key;
}

// application/x-www-form-urlencoded value (RFC 3986 unreserved characters kept).
std::string formEncode(std::string_view value) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : value) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::string snippet(std::string_view body) {
  std::string s(body.substr(0, 200));
  for (auto& c : s)
    if (c == '\n' || c == '\r') c = ' ';
  return s;
}

}  // namespace

Result<ServiceAccount> parseServiceAccount(std::string_view json_text) {
  Json doc;
  if (!json::parse(json_text, doc) || !doc.is_object())
    return Result<ServiceAccount>::failure("service account key is not a JSON object");
  ServiceAccount sa;
  struct FieldRef {
    const char* name;
    std::string* into;
    bool required;
  };
  const FieldRef fields[] = {{"client_email", &sa.client_email, true},
                             {"private_key", &sa.private_key, true},
                             {"private_key_id", &sa.private_key_id, false},
                             {"token_uri", &sa.token_uri, false}};
  for (const auto& f : fields) {
    auto it = doc.find(f.name);
    if (it != doc.end() && it->is_string()) *f.into = it->get<std::string>();
    if (f.required && f.into->empty())
      return Result<ServiceAccount>::failure(std::string("service account key has no \"") + f.name +
                                             "\"");
  }
  // Google's key files always carry token_uri; older ones may not, and this is its value.
  if (sa.token_uri.empty()) sa.token_uri = "https://oauth2.googleapis.com/token";
  http::ParsedUrl url;
  if (!http::parseUrl(sa.token_uri, url))
    return Result<ServiceAccount>::failure("service account token_uri is not an http(s) URL");
  return sa;
}

std::string base64UrlEncode(std::string_view bytes) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    const unsigned v = (static_cast<unsigned char>(bytes[i]) << 16) |
                       (static_cast<unsigned char>(bytes[i + 1]) << 8) |
                       static_cast<unsigned char>(bytes[i + 2]);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  if (const std::size_t rest = bytes.size() - i; rest > 0) {
    unsigned v = static_cast<unsigned char>(bytes[i]) << 16;
    if (rest == 2) v |= static_cast<unsigned char>(bytes[i + 1]) << 8;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    if (rest == 2) out += kAlphabet[(v >> 6) & 63];
  }
  return out;
}

Result<std::string> signJwt(const ServiceAccount& account, EVP_PKEY* key, long long issued_at) {
  Json header = {{"alg", "RS256"}, {"typ", "JWT"}};
  if (!account.private_key_id.empty()) header["kid"] = account.private_key_id;
  const Json claims = {{"iss", account.client_email},
                       {"scope", kCloudPlatformScope},
                       {"aud", account.token_uri},
                       {"iat", issued_at},
                       {"exp", issued_at + kAssertionLifetimeSeconds}};
  std::string signing_input =
      base64UrlEncode(json::dump(header)) + "." + base64UrlEncode(json::dump(claims));
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  if (!ctx) return Result<std::string>::failure("out of memory while signing the JWT");
  std::size_t size = 0;
  std::vector<unsigned char> signature;
  bool ok = EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, key) == 1 &&
            EVP_DigestSign(ctx, nullptr, &size,
                           reinterpret_cast<const unsigned char*>(signing_input.data()),
                           signing_input.size()) == 1;
  if (ok) {
    signature.resize(size);
    ok = EVP_DigestSign(ctx, signature.data(), &size,
                        reinterpret_cast<const unsigned char*>(signing_input.data()),
                        signing_input.size()) == 1;
  }
  EVP_MD_CTX_free(ctx);
  if (!ok) return Result<std::string>::failure("cannot sign the JWT with the service account key");
  signing_input += '.';
  signing_input +=
      base64UrlEncode(std::string_view(reinterpret_cast<const char*>(signature.data()), size));
  return signing_input;
}

Result<std::shared_ptr<AccessTokenSource>> AccessTokenSource::create(
    std::string_view service_account_json) {
  using R = Result<std::shared_ptr<AccessTokenSource>>;
  auto account = parseServiceAccount(service_account_json);
  if (!account) return R::failure(account.error());
  EVP_PKEY* key = readPrivateKey(account->private_key);
  if (!key) return R::failure("service account private_key is not a PEM private key");
  if (EVP_PKEY_get_base_id(key) != EVP_PKEY_RSA) {
    EVP_PKEY_free(key);
    return R::failure("service account private_key is not an RSA key");
  }
  return std::shared_ptr<AccessTokenSource>(new AccessTokenSource(std::move(*account), key));
}

AccessTokenSource::AccessTokenSource(ServiceAccount account, EVP_PKEY* key)
    : account_(std::move(account)), key_(key) {}

AccessTokenSource::~AccessTokenSource() {
  EVP_PKEY_free(key_);
}

bool AccessTokenSource::fresh() const {
  std::lock_guard lock(mutex_);
  return !token_.empty() && Clock::now() + kRefreshMargin < expires_at_;
}

std::string AccessTokenSource::cachedToken() const {
  std::lock_guard lock(mutex_);
  return token_;
}

Result<http::UpstreamRequest> AccessTokenSource::refreshRequest() const {
  const long long iat =
      std::chrono::duration_cast<std::chrono::seconds>(Clock::now().time_since_epoch()).count();
  auto jwt = signJwt(account_, key_, iat);
  if (!jwt) return Result<http::UpstreamRequest>::failure(jwt.error());
  http::UpstreamRequest req;
  req.url = account_.token_uri;
  req.headers = {{"Content-Type", "application/x-www-form-urlencoded"},
                 {"Accept", "application/json"}};
  req.body = "grant_type=" + formEncode("urn:ietf:params:oauth:grant-type:jwt-bearer") +
             "&assertion=" + formEncode(*jwt);
  return req;
}

// Two loops may refresh at once (harmless: both tokens are valid); the later one is kept.
Status AccessTokenSource::acceptRefresh(int status, std::string_view body) {
  const auto now = Clock::now();
  Json doc;
  const bool parsed = json::parse(body, doc) && doc.is_object();
  if (status != 200) {
    std::string why = parsed ? doc.value("error_description", doc.value("error", "")) : "";
    if (why.empty()) why = snippet(body);
    return Status::error("token endpoint returned HTTP " + std::to_string(status) +
                         (why.empty() ? "" : ": " + why));
  }
  if (!parsed || !doc.contains("access_token") || !doc["access_token"].is_string() ||
      doc["access_token"].get_ref<const std::string&>().empty())
    return Status::error("token endpoint answer has no access_token");
  long long expires_in = 3600;
  if (auto it = doc.find("expires_in"); it != doc.end() && it->is_number())
    expires_in = it->get<long long>();
  std::lock_guard lock(mutex_);
  token_ = doc["access_token"].get<std::string>();
  expires_at_ = now + std::chrono::seconds(expires_in);
  return {};
}

Result<std::shared_ptr<AccessTokenSource>> TokenSources::get(const std::string& json_text) {
  std::lock_guard lock(mutex_);
  if (auto it = by_json_.find(json_text); it != by_json_.end()) return it->second;
  auto created = AccessTokenSource::create(json_text);
  if (created) by_json_.emplace(json_text, *created);
  return created;
}

}  // namespace aigw::providers::gcp
