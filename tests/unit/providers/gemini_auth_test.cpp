// Vertex AI service-account tokens: the JWT is signed with RS256 (verified here with the public
// half of a key generated for the test), exchanged at token_uri (a loopback httplib server
// that checks the signature too), cached, refreshed, and its failures reported.
#include <doctest/doctest.h>

#include <httplib.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <atomic>
#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>

#include "providers/gemini_auth.hpp"
#include "providers/provider.hpp"
#include "proxy/credentials.hpp"
#include "support/sync_upstream.hpp"

using namespace aigw::providers;
using aigw::testing::SyncClient;
using Json = nlohmann::json;

namespace {

// What the proxy does before it builds a request: refresh the credential through its upstream
// client, then read the cached token. The error is the client's message.
aigw::Result<std::string> token(CredentialSource& source, SyncClient& client) {
  auto refused = aigw::testing::runTask(
      client.context(), aigw::proxy::refreshCredential(source, client.client(), "gemini"));
  if (refused) return aigw::Result<std::string>::failure(refused->message);
  return static_cast<gcp::AccessTokenSource&>(source).cachedToken();
}

struct Key {
  EVP_PKEY* pkey = nullptr;
  Key() : pkey(EVP_RSA_gen(2048)) { REQUIRE(pkey); }
  ~Key() { EVP_PKEY_free(pkey); }
  std::string privatePem() const {
    BIO* bio = BIO_new(BIO_s_mem());
    REQUIRE(PEM_write_bio_PrivateKey(bio, pkey, nullptr, nullptr, 0, nullptr, nullptr) == 1);
    char* data = nullptr;
    const long len = BIO_get_mem_data(bio, &data);
    std::string pem(data, static_cast<std::size_t>(len));
    BIO_free(bio);
    return pem;
  }
};

const Key& testKey() {
  static const Key key;
  return key;
}

std::string base64UrlDecode(std::string s) {
  for (auto& c : s) c = c == '-' ? '+' : c == '_' ? '/' : c;
  while (s.size() % 4) s += '=';
  std::string out(s.size(), '\0');
  const int n =
      EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                      reinterpret_cast<const unsigned char*>(s.data()), static_cast<int>(s.size()));
  REQUIRE(n >= 0);
  std::size_t pad = 0;
  for (auto it = s.rbegin(); it != s.rend() && *it == '='; ++it) ++pad;
  out.resize(static_cast<std::size_t>(n) - pad);
  return out;
}

bool verifyRs256(const std::string& jwt, EVP_PKEY* key) {
  const auto dot = jwt.rfind('.');
  if (dot == std::string::npos) return false;
  const std::string input = jwt.substr(0, dot);
  const std::string sig = base64UrlDecode(jwt.substr(dot + 1));
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  const bool ok =
      EVP_DigestVerifyInit(ctx, nullptr, EVP_sha256(), nullptr, key) == 1 &&
      EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(sig.data()), sig.size(),
                       reinterpret_cast<const unsigned char*>(input.data()), input.size()) == 1;
  EVP_MD_CTX_free(ctx);
  return ok;
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out(1);
  for (char c : s) {
    if (c == sep) {
      out.emplace_back();
    } else {
      out.back().push_back(c);
    }
  }
  return out;
}

std::string accountJson(const std::string& token_uri) {
  return Json{{"type", "service_account"},
              {"project_id", "proj"},
              {"private_key_id", "kid-1"},
              {"private_key", testKey().privatePem()},
              {"client_email", "gw@proj.iam.gserviceaccount.com"},
              {"token_uri", token_uri}}
      .dump();
}

// A token endpoint on loopback that checks what Google checks: grant type, signature, claims.
class TokenServer {
 public:
  explicit TokenServer(long long expires_in = 3600, int status = 200) {
    svr_.Post("/token", [this, expires_in, status](const httplib::Request& req,
                                                   httplib::Response& res) {
      const int n = ++requests;
      const std::string assertion = req.get_param_value("assertion");
      const auto parts = split(assertion, '.');
      const bool good =
          req.get_param_value("grant_type") == "urn:ietf:params:oauth:grant-type:jwt-bearer" &&
          parts.size() == 3 && verifyRs256(assertion, testKey().pkey) &&
          Json::parse(base64UrlDecode(parts[1]))["aud"] == url();
      if (!good || status != 200) {
        res.status = good ? status : 400;
        res.set_content(R"({"error":"invalid_grant","error_description":"Invalid JWT Signature."})",
                        "application/json");
        return;
      }
      res.set_content(Json{{"access_token", "tok-" + std::to_string(n)},
                           {"expires_in", expires_in},
                           {"token_type", "Bearer"}}
                          .dump(),
                      "application/json");
    });
    port_ = svr_.bind_to_any_port("127.0.0.1");
    REQUIRE(port_ > 0);
    thread_ = std::thread([this] { svr_.listen_after_bind(); });
  }
  ~TokenServer() {
    svr_.stop();
    thread_.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/token"; }
  std::atomic<int> requests{0};

 private:
  httplib::Server svr_;
  int port_ = 0;
  std::thread thread_;
};

}  // namespace

TEST_CASE("gcp: base64url without padding") {
  CHECK(gcp::base64UrlEncode("") == "");
  CHECK(gcp::base64UrlEncode("f") == "Zg");
  CHECK(gcp::base64UrlEncode("fo") == "Zm8");
  CHECK(gcp::base64UrlEncode("foo") == "Zm9v");
  CHECK(gcp::base64UrlEncode("foob") == "Zm9vYg");
  CHECK(gcp::base64UrlEncode("\xfb\xff") == "-_8");
}

TEST_CASE("gcp: the key file is checked field by field") {
  CHECK(gcp::parseServiceAccount("nope").error() == "service account key is not a JSON object");
  CHECK(gcp::parseServiceAccount(R"({"private_key":"k"})").error() ==
        "service account key has no \"client_email\"");
  CHECK(gcp::parseServiceAccount(R"({"client_email":"a"})").error() ==
        "service account key has no \"private_key\"");
  auto defaulted = gcp::parseServiceAccount(R"({"client_email":"a","private_key":"k"})");
  REQUIRE(defaulted);
  CHECK(defaulted->token_uri == "https://oauth2.googleapis.com/token");
  CHECK(
      gcp::parseServiceAccount(R"({"client_email":"a","private_key":"k","token_uri":"file:///x"})")
          .error() == "service account token_uri is not an http(s) URL");
}

TEST_CASE(
    "gcp: the JWT assertion is RS256-signed with the account key and carries Google's claims") {
  auto account = gcp::parseServiceAccount(accountJson("https://oauth2.googleapis.com/token"));
  REQUIRE(account);
  auto jwt = gcp::signJwt(*account, testKey().pkey, 1700000000);
  REQUIRE(jwt);
  const auto parts = split(*jwt, '.');
  REQUIRE(parts.size() == 3);
  CHECK(Json::parse(base64UrlDecode(parts[0])) ==
        Json{{"alg", "RS256"}, {"typ", "JWT"}, {"kid", "kid-1"}});
  CHECK(Json::parse(base64UrlDecode(parts[1])) ==
        Json{{"iss", "gw@proj.iam.gserviceaccount.com"},
             {"scope", "https://www.googleapis.com/auth/cloud-platform"},
             {"aud", "https://oauth2.googleapis.com/token"},
             {"iat", 1700000000},
             {"exp", 1700003600}});
  CHECK(verifyRs256(*jwt, testKey().pkey));
  std::string tampered = *jwt;
  tampered[parts[0].size() + 5] ^= 1;  // one bit of the claims
  CHECK_FALSE(verifyRs256(tampered, testKey().pkey));
}

TEST_CASE("gcp: tokens are fetched from token_uri, cached, and refreshed 5 minutes before expiry") {
  TokenServer server;
  auto source = gcp::AccessTokenSource::create(accountJson(server.url()));
  REQUIRE(source);
  SyncClient client;
  auto first = token(**source, client);
  REQUIRE_MESSAGE(first, first.error());
  CHECK(*first == "tok-1");
  CHECK(*token(**source, client) == "tok-1");
  CHECK(server.requests == 1);

  TokenServer short_lived(200);  // expires inside the refresh margin: never reused
  auto source2 = gcp::AccessTokenSource::create(accountJson(short_lived.url()));
  REQUIRE(source2);
  CHECK(*token(**source2, client) == "tok-1");
  CHECK(*token(**source2, client) == "tok-2");
  CHECK(short_lived.requests == 2);
}

TEST_CASE("gcp: token endpoint failures are reported with Google's reason") {
  TokenServer refusing(3600, 401);
  auto source = gcp::AccessTokenSource::create(accountJson(refusing.url()));
  REQUIRE(source);
  SyncClient client;
  auto refused = token(**source, client);
  REQUIRE_FALSE(refused);
  CHECK(refused.error() ==
        "LLM request failed before proxying: token endpoint returned HTTP 401: Invalid JWT "
        "Signature.");
  CHECK(gcp::AccessTokenSource::create(R"({"client_email":"a","private_key":"x"})").error() ==
        "service account private_key is not a PEM private key");
}

TEST_CASE("gemini provider: a service account adds a Bearer token, or fails before proxying") {
  const Provider* gemini = findProvider("gemini");
  REQUIRE(gemini);
  TokenServer server;
  Target t{"gemini", "gemini-2.0-flash", {}, {}};
  t.options.blocks["gemini"] = {{"api_endpoint", "aiplatform.googleapis.com"},
                                {"project_id", "p"},
                                {"location_id", "global"}};
  t.cloud_auth.gcp_use_service_account = true;
  t.cloud_auth.gcp_service_account_json = accountJson(server.url());
  std::vector<std::pair<std::string, std::string>> errors;
  gemini->checkTarget(t, RouteType::Chat, errors);
  CHECK(errors.empty());

  const Json body = {{"messages", {{{"role", "user"}, {"content", "hi"}}}}};
  ProxyCall call;
  call.model = "gemini-2.0-flash";
  call.body = &body;
  SyncClient client;
  for (int i = 0; i < 2; ++i) {
    auto source = gemini->credentialSource(t);
    REQUIRE(source);
    REQUIRE(token(*source, client));
    auto req = gemini->buildRequest(call, t);
    REQUIRE_MESSAGE(req, req.error().message);
    bool found = false;
    for (const auto& h : req->headers)
      found |= h.name == "Authorization" && h.value == "Bearer tok-1";
    CHECK(found);
  }
  CHECK(server.requests == 1);  // the second request reused the cached token

  Target dead = t;
  dead.cloud_auth.gcp_service_account_json = accountJson("http://127.0.0.1:1/token");
  auto source = gemini->credentialSource(dead);
  REQUIRE(source);
  auto failed = aigw::testing::runTask(
      client.context(), aigw::proxy::refreshCredential(*source, client.client(), "gemini"));
  REQUIRE(failed);
  CHECK(failed->status == 500);
  CHECK(failed->message.rfind("LLM request failed before proxying: token endpoint unreachable: ",
                              0) == 0);
  // Without a refreshed token the provider refuses to build the request.
  auto unsigned_request = gemini->buildRequest(call, dead);
  REQUIRE_FALSE(unsigned_request);
  CHECK(unsigned_request.error().status == 500);
}
