// Google service-account credentials for Vertex AI: an OAuth2 access token minted from the
// account's JSON key with the JWT bearer flow
// (https://developers.google.com/identity/protocols/oauth2/service-account#httprest).
// The token exchange is the one piece of the gemini provider that needs I/O: the class builds
// the exchange request and reads its answer, and the proxy performs it on its event loop
// (providers never touch sockets).
//
// Thread-safety: ServiceAccount and the free functions are plain values / pure.
// AccessTokenSource is thread-safe: a mutex guards only the cached token (read or replace),
// never the token exchange itself, so two loops may refresh at once (harmless: both tokens
// are valid). TokenSources is thread-safe (a mutex around its map).
#pragma once

#include <openssl/evp.h>

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "core/result.hpp"
#include "http/message.hpp"
#include "providers/provider.hpp"

namespace aigw::providers::gcp {

inline constexpr const char* kCloudPlatformScope = "https://www.googleapis.com/auth/cloud-platform";
// A cached token is replaced this long before Google says it expires.
inline constexpr std::chrono::seconds kRefreshMargin{300};

struct ServiceAccount {
  std::string client_email;
  std::string private_key;     // PEM (PKCS#8), as in Google's key file
  std::string private_key_id;  // optional; becomes the JWT "kid"
  std::string token_uri;
};

// Parses Google's service-account key file; the error names the missing or bad field.
Result<ServiceAccount> parseServiceAccount(std::string_view json_text);

// base64url without padding (RFC 7515 §2).
std::string base64UrlEncode(std::string_view bytes);

// The signed assertion: header.claims.signature, RS256 over the first two parts.
// Claims: iss = client_email, scope = cloud-platform, aud = token_uri, iat, exp = iat + 3600.
Result<std::string> signJwt(const ServiceAccount& account, EVP_PKEY* key, long long issued_at);

class AccessTokenSource : public CredentialSource {
 public:
  // Parses the key file and the PEM key now, so a bad credential is a config error.
  static Result<std::shared_ptr<AccessTokenSource>> create(std::string_view service_account_json);
  ~AccessTokenSource();
  AccessTokenSource(const AccessTokenSource&) = delete;
  AccessTokenSource& operator=(const AccessTokenSource&) = delete;

  // CredentialSource: the proxy refreshes the token through token_uri when it is not fresh.
  bool fresh() const override;
  Result<http::UpstreamRequest> refreshRequest() const override;
  Status acceptRefresh(int status, std::string_view body) override;
  // The current token (empty before the first refresh).
  std::string cachedToken() const;
  const ServiceAccount& account() const { return account_; }

 private:
  AccessTokenSource(ServiceAccount account, EVP_PKEY* key);

  ServiceAccount account_;
  EVP_PKEY* key_;             // owned; only read after construction
  mutable std::mutex mutex_;  // guards token_ and expires_at_ only
  std::string token_;
  std::chrono::system_clock::time_point expires_at_{};
};

// Token sources by key file, so every route using the same account shares one cached token.
// Filled at config load (checkTarget) and looked up per request; entries live as long as the
// provider (one per distinct key file ever configured).
class TokenSources {
 public:
  Result<std::shared_ptr<AccessTokenSource>> get(const std::string& service_account_json);

 private:
  std::mutex mutex_;
  std::map<std::string, std::shared_ptr<AccessTokenSource>> by_json_;
};

}  // namespace aigw::providers::gcp
