// The real aigw binary against the fake's Gemini dialect: generateContent and
// streamGenerateContent?alt=sse translated to OpenAI, tool calls both ways, the API key in the
// query, Vertex AI URLs (with a static token and with a service account whose token comes from
// a token endpoint in this process), Gemini's error shape, truncation.
#include <doctest/doctest.h>
#include <httplib.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <atomic>
#include <thread>

#include "integration/gateway_harness.hpp"

using namespace aigw::test;
using Json = nlohmann::json;

namespace {

FakeProvider& fake() {
  static FakeProvider instance(FAKE_PROVIDER_BINARY);
  return instance;
}

// A stand-in for oauth2.googleapis.com/token on loopback, for the service-account route.
class TokenEndpoint {
 public:
  TokenEndpoint() {
    svr_.Post("/token", [this](const httplib::Request& req, httplib::Response& res) {
      ++requests;
      if (req.get_param_value("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer" ||
          req.get_param_value("assertion").empty()) {
        res.status = 400;
        res.set_content(R"({"error":"invalid_request"})", "application/json");
        return;
      }
      res.set_content(R"({"access_token":"sa-token-1","expires_in":3600,"token_type":"Bearer"})",
                      "application/json");
    });
    port_ = svr_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { svr_.listen_after_bind(); });
  }
  ~TokenEndpoint() {
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

TokenEndpoint& tokenEndpoint() {
  static TokenEndpoint instance;
  return instance;
}

// A service-account key file with a key made for this run.
std::string serviceAccountJson() {
  EVP_PKEY* key = EVP_RSA_gen(2048);
  REQUIRE(key);
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<std::size_t>(len));
  BIO_free(bio);
  EVP_PKEY_free(key);
  return Json{{"type", "service_account"},
              {"client_email", "gw@proj.iam.gserviceaccount.com"},
              {"private_key", pem},
              {"token_uri", tokenEndpoint().url()}}
      .dump();
}

const char* kConfig = R"(_format_version: "3.0"
services:
- name: gemini
  url: {FAKE}
  routes:
  - name: gemini-chat
    paths: ["/gemini/chat"]
    plugins:
    - name: ai-proxy
      config:
        route_type: llm/v1/chat
        auth: {param_name: key, param_value: "g-secret", param_location: query}
        model: {provider: gemini, name: gemini-2.0-flash, options: {max_tokens: 64, upstream_url: "{FAKE}"}}
  - name: gemini-any
    paths: ["/gemini/any"]
    plugins:
    - name: ai-proxy
      config:
        route_type: llm/v1/chat
        auth: {header_name: x-goog-api-key, header_value: "h-secret"}
        model: {provider: gemini, options: {upstream_url: "{FAKE}/v1beta/models"}}
  - name: vertex
    paths: ["/vertex/chat"]
    plugins:
    - name: ai-proxy
      config:
        route_type: llm/v1/chat
        auth: {header_name: Authorization, header_value: "Bearer static-token"}
        model:
          provider: gemini
          name: gemini-1.5-pro
          options:
            upstream_url: "{FAKE}"
            gemini: {api_endpoint: us-central1-aiplatform.googleapis.com, project_id: my-proj, location_id: us-central1}
  - name: vertex-sa
    paths: ["/vertex/sa"]
    plugins:
    - name: ai-proxy
      config:
        route_type: llm/v1/chat
        auth: {gcp_use_service_account: true}
        model:
          provider: gemini
          name: gemini-1.5-pro
          options:
            upstream_url: "{FAKE}"
            gemini: {api_endpoint: europe-west4-aiplatform.googleapis.com, project_id: sa-proj, location_id: europe-west4}
  - name: gemini-error
    paths: ["/gemini/error"]
    plugins:
    - name: ai-proxy
      config:
        route_type: llm/v1/chat
        auth: {header_name: x-goog-api-key, header_value: "g-fake"}
        model: {provider: gemini, name: gemini-2.0-flash, options: {upstream_url: "{FAKE}/scenario/fake-error-429"}}
  - name: gemini-truncate
    paths: ["/gemini/truncate"]
    plugins:
    - name: ai-proxy
      config:
        route_type: llm/v1/chat
        auth: {header_name: x-goog-api-key, header_value: "g-fake"}
        model: {provider: gemini, name: gemini-2.0-flash, options: {upstream_url: "{FAKE}/scenario/fake-truncate"}}
  - name: gemini-completions
    paths: ["/gemini/completions"]
    plugins:
    - name: ai-proxy
      config:
        route_type: llm/v1/completions
        auth: {header_name: x-goog-api-key, header_value: "g-fake"}
        model: {provider: gemini, name: gemini-2.0-flash, options: {upstream_url: "{FAKE}"}}
  - name: gemini-embeddings
    paths: ["/gemini/embeddings"]
    plugins:
    - name: ai-proxy
      config:
        route_type: llm/v1/embeddings
        auth: {header_name: x-goog-api-key, header_value: "g-fake"}
        model: {provider: gemini, name: text-embedding-004, options: {upstream_url: "{FAKE}"}}
)";

Gateway& gw() {
  static Gateway instance(withFake(kConfig, fake().baseUrl()),
                          {{"GCP_SERVICE_ACCOUNT", serviceAccountJson()}});
  return instance;
}

Json lastUpstream() {
  return fake().lastRequest();
}

const std::string kHello =
    R"({"messages":[{"role":"system","content":"be kind"},{"role":"user","content":"hello there"}]})";

const char* kTools =
    R"([{"type":"function","function":{"name":"get_weather","description":"Weather now",
  "parameters":{"type":"object","properties":{"city":{"type":"string"}}}}}])";

}  // namespace

TEST_CASE(
    "gemini: chat becomes generateContent with the key in the query; the answer is OpenAI's") {
  fake().clear();
  auto r = gw().post("/gemini/chat?key=client-key", kHello, {{"x-goog-api-key", "client-header"}});
  REQUIRE(r.status == 200);
  const Json body = r.json();
  CHECK(body["object"] == "chat.completion");
  CHECK(body["model"] == "gemini-2.0-flash");
  CHECK(body["choices"][0]["message"]["content"] == "Hello from fake gemini: hello there");
  CHECK(body["choices"][0]["finish_reason"] == "stop");
  CHECK(body["usage"] ==
        Json::parse(R"({"prompt_tokens":4,"completion_tokens":6,"total_tokens":10})"));
  CHECK(r.header("X-Kong-LLM-Model") == "gemini/gemini-2.0-flash");
  const Json up = lastUpstream();
  CHECK(up["path"] == "/v1beta/models/gemini-2.0-flash:generateContent");
  CHECK(up["query"] == "key=g-secret");  // the configured key, never the client's
  CHECK_FALSE(up["headers"].contains("x-goog-api-key"));
  CHECK(up["json"]["systemInstruction"] == Json::parse(R"({"parts":[{"text":"be kind"}]})"));
  CHECK(up["json"]["contents"] ==
        Json::parse(R"([{"role":"user","parts":[{"text":"hello there"}]}])"));
  CHECK(up["json"]["generationConfig"]["maxOutputTokens"] == 64);
}

TEST_CASE("gemini: streaming uses streamGenerateContent?alt=sse and ends in usage and [DONE]") {
  fake().clear();
  auto s = gw().stream("/gemini/chat",
                       R"({"messages":[{"role":"user","content":"one two three"}],"stream":true})");
  CHECK(s.status == 200);
  CHECK(s.content_type.rfind("text/event-stream", 0) == 0);
  REQUIRE(s.done());
  CHECK(s.text() == "Hello from fake gemini: one two three");
  REQUIRE(s.events.size() >= 3);
  for (std::size_t i = 0; i + 1 < s.events.size(); ++i) {
    const Json c = Json::parse(s.events[i]);
    CHECK(c["object"] == "chat.completion.chunk");
    CHECK(c["id"].is_string());
    CHECK(c["created"].is_number());
    CHECK(c["model"] == "gemini-2.0-flash");
  }
  const Json last = Json::parse(s.events[s.events.size() - 2]);
  CHECK(last["choices"][0]["finish_reason"] == "stop");
  CHECK(last["usage"] ==
        Json::parse(R"({"prompt_tokens":3,"completion_tokens":7,"total_tokens":10})"));
  const Json up = lastUpstream();
  CHECK(up["path"] == "/v1beta/models/gemini-2.0-flash:streamGenerateContent");
  CHECK(up["query"] == "alt=sse&key=g-secret");
}

TEST_CASE("gemini: a tool call round trip, the result named after the call it answers") {
  fake().clear();
  const Json ask = {{"messages", {{{"role", "user"}, {"content", "please use tool for Paris"}}}},
                    {"tools", Json::parse(kTools)},
                    {"tool_choice", "auto"}};
  Json first = ask;
  first["model"] = "gemini-2.5-flash";
  auto r = gw().post("/gemini/any", first.dump());
  REQUIRE(r.status == 200);
  const Json choice = r.json()["choices"][0];
  CHECK(choice["finish_reason"] == "tool_calls");
  REQUIRE(choice["message"]["tool_calls"].size() == 1);
  const Json call = choice["message"]["tool_calls"][0];
  CHECK(call["type"] == "function");
  CHECK(call["function"]["name"] == "get_weather");
  CHECK(Json::parse(call["function"]["arguments"].get<std::string>()) ==
        Json{{"query", "please use tool for Paris"}});
  Json up = lastUpstream();
  CHECK(up["path"] == "/v1beta/models/gemini-2.5-flash:generateContent");
  CHECK(up["headers"]["x-goog-api-key"] == "h-secret");
  CHECK(up["json"]["tools"][0]["functionDeclarations"][0]["name"] == "get_weather");
  CHECK(up["json"]["toolConfig"] == Json::parse(R"({"functionCallingConfig":{"mode":"AUTO"}})"));

  Json answer = ask;
  answer["model"] = "gemini-2.5-flash";
  answer["messages"].push_back(choice["message"]);
  answer["messages"].push_back(
      {{"role", "tool"}, {"tool_call_id", call["id"]}, {"content", R"({"temp":21})"}});
  auto r2 = gw().post("/gemini/any", answer.dump());
  REQUIRE(r2.status == 200);
  CHECK(r2.json()["choices"][0]["message"]["content"] ==
        R"(Hello from fake gemini: get_weather returned {"content":{"temp":21}})");
  up = lastUpstream();
  CHECK(up["json"]["contents"][1] == Json::parse(R"({"role":"model","parts":[
      {"functionCall":{"name":"get_weather","args":{"query":"please use tool for Paris"}}}]})"));
  CHECK(up["json"]["contents"][2]["parts"][0]["functionResponse"]["name"] == "get_weather");

  Json streamed = ask;
  streamed["model"] = "gemini-2.5-flash";
  streamed["stream"] = true;
  auto s = gw().stream("/gemini/any", streamed.dump());
  REQUIRE(s.done());
  const Json chunk = Json::parse(s.events[0]);
  CHECK(chunk["choices"][0]["delta"]["tool_calls"][0]["index"] == 0);
  CHECK(chunk["choices"][0]["delta"]["tool_calls"][0]["function"]["name"] == "get_weather");
  CHECK(chunk["choices"][0]["finish_reason"] == "tool_calls");
}

TEST_CASE("gemini: Vertex AI URL shape, with a static token and with a service account") {
  fake().clear();
  REQUIRE(gw().post("/vertex/chat", kHello).status == 200);
  Json up = lastUpstream();
  CHECK(up["path"] ==
        "/v1/projects/my-proj/locations/us-central1/publishers/google/models/"
        "gemini-1.5-pro:generateContent");
  CHECK(up["headers"]["authorization"] == "Bearer static-token");
  CHECK(gw().stream("/vertex/chat", R"({"messages":[{"role":"user","content":"x"}],"stream":true})")
            .done());
  CHECK(lastUpstream()["path"] ==
        "/v1/projects/my-proj/locations/us-central1/publishers/google/models/"
        "gemini-1.5-pro:streamGenerateContent");

  auto sa = gw().post("/vertex/sa", kHello);
  REQUIRE(sa.status == 200);
  up = lastUpstream();
  CHECK(up["path"] ==
        "/v1/projects/sa-proj/locations/europe-west4/publishers/google/models/"
        "gemini-1.5-pro:generateContent");
  CHECK(up["headers"]["authorization"] == "Bearer sa-token-1");
  REQUIRE(gw().post("/vertex/sa", kHello).status == 200);
  CHECK(tokenEndpoint().requests == 1);  // cached for the second request
}

TEST_CASE(
    "gemini: Gemini's error shape keeps its status; truncation is an error; then all is well") {
  auto e = gw().post("/gemini/error", kHello);
  CHECK(e.status == 429);
  CHECK(e.header("Retry-After") == "7");
  const Json err = e.json()["error"];
  CHECK(err["message"] == "fake upstream error 429");
  CHECK(err["type"] == "resource_exhausted");
  CHECK(err["code"] == "RESOURCE_EXHAUSTED");

  auto t = gw().stream("/gemini/truncate",
                       R"({"messages":[{"role":"user","content":"x"}],"stream":true})");
  CHECK(t.status == 200);
  REQUIRE_FALSE(t.events.empty());
  CHECK_FALSE(t.done());
  CHECK(Json::parse(t.events.back()).contains("error"));

  auto bad =
      gw().post("/gemini/chat", R"({"messages":[{"role":"user","content":"x"}],"logprobs":true})");
  CHECK(bad.status == 400);
  CHECK(bad.json()["error"]["message"] == "field 'logprobs' is not supported by provider gemini");
  CHECK(bad.json()["error"]["param"] == "logprobs");

  CHECK(gw().post("/gemini/chat", kHello).status == 200);
}

TEST_CASE("gemini: completions and embeddings") {
  fake().clear();
  auto c = gw().post("/gemini/completions", R"({"prompt":"say hi"})");
  REQUIRE(c.status == 200);
  CHECK(c.json()["object"] == "text_completion");
  CHECK(c.json()["choices"][0]["text"] == "Hello from fake gemini: say hi");
  auto e = gw().post("/gemini/embeddings", R"({"input":["a","b"]})");
  REQUIRE(e.status == 200);
  CHECK(e.json()["data"].size() == 2);
  CHECK(e.json()["data"][0]["embedding"].size() == 8);
  const Json up = lastUpstream();
  CHECK(up["path"] == "/v1beta/models/text-embedding-004:batchEmbedContents");
  CHECK(up["json"]["requests"][1] ==
        Json::parse(R"({"model":"models/text-embedding-004","content":{"parts":[{"text":"b"}]}})"));
}
