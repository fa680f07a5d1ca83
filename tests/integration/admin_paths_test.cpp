// Kong's nested admin paths, schema endpoints and form data against the real binary, and the
// admin API's promise never to answer 500 (or use more than linear memory) whatever it is sent.
#include <doctest/doctest.h>

#include <chrono>

#include "integration/gateway_harness.hpp"

using namespace aigw::test;
using Json = nlohmann::json;

namespace {

struct Admin {
  Gateway gw{"_format_version: \"3.0\"\n"};
  httplib::Client client() const {
    httplib::Client c("127.0.0.1", gw.adminPort());
    // A deadline against a hang, not a measurement: the YAML bomb below is refused in ~1 s
    // alone but took over 10 s once on a loaded 2-core machine.
    c.set_read_timeout(60, 0);
    return c;
  }
  HttpResult call(const std::string& method, const std::string& path, const std::string& body = "",
                  const std::string& type = "application/json") const {
    auto c = client();
    httplib::Result r = method == "GET"     ? c.Get(path.c_str())
                        : method == "POST"  ? c.Post(path.c_str(), body, type.c_str())
                        : method == "PUT"   ? c.Put(path.c_str(), body, type.c_str())
                        : method == "PATCH" ? c.Patch(path.c_str(), body, type.c_str())
                                            : c.Delete(path.c_str());
    HttpResult out;
    if (r) {
      out.status = r->status;
      out.body = r->body;
    }
    return out;
  }
  HttpResult form(const std::string& method, const std::string& path,
                  const std::string& body) const {
    return call(method, path, body, "application/x-www-form-urlencoded");
  }
};

}  // namespace

TEST_CASE("Kong's nested paths: GET/PATCH/PUT/DELETE through the parent, 404 for another's child") {
  Admin a;
  REQUIRE(a.form("POST", "/services", "name=s1&url=http://localhost:32000").status == 201);
  REQUIRE(a.form("POST", "/services", "name=s2&url=http://localhost:32001").status == 201);
  REQUIRE(a.form("POST", "/services/s1/routes", "name=r1&paths[1]=/one").status == 201);
  REQUIRE(a.form("POST", "/services/s2/routes", "name=r2&paths[1]=/two").status == 201);
  auto plugin = a.form("POST", "/routes/r1/plugins",
                       "name=ai-proxy&config.route_type=llm/v1/chat&config.model.provider=mock&"
                       "config.model.name=m1");
  REQUIRE(plugin.status == 201);
  const std::string pid = plugin.json()["id"];
  const std::string r1 = a.call("GET", "/routes/r1").json()["id"];

  SUBCASE("/services/{s}/routes/{r}") {
    CHECK(a.call("GET", "/services/s1/routes/r1").json()["name"] == "r1");
    CHECK(a.call("GET", "/services/s1/routes/" + r1).status == 200);
    auto wrong = a.call("GET", "/services/s2/routes/r1");
    CHECK(wrong.status == 404);
    CHECK(wrong.json() == Json{{"message", "Not found"}});
    CHECK(a.call("GET", "/services/nope/routes/r1").status == 404);
    auto patched = a.form("PATCH", "/services/s1/routes/r1", "paths[1]=/uno");
    CHECK(patched.status == 200);
    CHECK(patched.json()["paths"] == Json::array({"/uno"}));
    CHECK(a.form("PATCH", "/services/s2/routes/r1", "paths[1]=/x").status == 404);
    CHECK(a.call("GET", "/routes/r1").json()["paths"] == Json::array({"/uno"}));
    // PUT under a parent creates (or replaces) the route there.
    auto put = a.call("PUT", "/services/s2/routes/r3", R"({"paths":["/three"]})");
    CHECK(put.status == 200);
    CHECK(put.json()["name"] == "r3");
    CHECK(a.call("GET", "/services/s2/routes/r3").status == 200);
    CHECK(a.call("DELETE", "/services/s1/routes/r2").status == 404);  // r2 is s2's
    CHECK(a.call("GET", "/routes/r2").status == 200);
    CHECK(a.call("DELETE", "/services/s2/routes/r2").status == 204);
    CHECK(a.call("GET", "/routes/r2").status == 404);
    CHECK(a.call("DELETE", "/services/s2/routes/r2").status == 404);
  }
  SUBCASE("/routes/{r}/plugins/{p} and /services/{s}/plugins/{p}") {
    CHECK(a.call("GET", "/routes/r1/plugins/" + pid).json()["name"] == "ai-proxy");
    CHECK(a.call("GET", "/routes/r2/plugins/" + pid).status == 404);
    auto patched = a.form("PATCH", "/routes/r1/plugins/" + pid, "config.model.name=m2");
    CHECK(patched.status == 200);
    CHECK(patched.json()["config"]["model"]["name"] == "m2");
    CHECK(patched.json()["config"]["model"]["provider"] == "mock");
    CHECK(a.form("PATCH", "/routes/r2/plugins/" + pid, "config.model.name=m3").status == 404);
    CHECK(a.call("GET", "/plugins/" + pid).json()["config"]["model"]["name"] == "m2");
    auto sp = a.call(
        "PUT", "/services/s2/plugins/" + pid,
        R"({"name":"ai-prompt-decorator","config":{"prompts":{"prepend":[{"role":"system","content":"x"}]}}})");
    CHECK(sp.status == 200);
    CHECK(sp.json()["service"]["id"] == a.call("GET", "/services/s2").json()["id"]);
    CHECK(a.call("GET", "/services/s2/plugins").json()["data"].size() == 1);
    CHECK(a.call("DELETE", "/routes/r1/plugins/" + pid).status == 404);  // now s2's
    CHECK(a.call("DELETE", "/services/s2/plugins/" + pid).status == 204);
    CHECK(a.call("GET", "/plugins/" + pid).status == 404);
  }
  SUBCASE("/routes/{r}/service") {
    CHECK(a.call("GET", "/routes/r1/service").json()["name"] == "s1");
    auto patched = a.form("PATCH", "/routes/r1/service", "retries=3");
    CHECK(patched.status == 200);
    CHECK(patched.json()["retries"] == 3);
    CHECK(a.call("DELETE", "/routes/r1/service").status == 405);
    REQUIRE(a.form("POST", "/routes", "name=lonely&paths[]=/lonely").status == 201);
    CHECK(a.call("GET", "/routes/lonely/service").status == 404);
    CHECK(a.call("DELETE", "/routes/lonely/service").status == 404);
    auto created = a.call("PUT", "/routes/lonely/service", R"({"url":"http://localhost:9"})");
    CHECK(created.status == 200);
    CHECK(a.call("GET", "/routes/lonely").json()["service"]["id"] == created.json()["id"]);
  }
  SUBCASE("/consumers/{c}/plugins/{p} and /consumers/{c}/key-auth/{k}") {
    REQUIRE(a.form("POST", "/consumers", "username=alice").status == 201);
    REQUIRE(a.form("POST", "/consumers", "username=bob").status == 201);
    auto cp = a.call(
        "POST", "/consumers/alice/plugins",
        R"({"name":"ai-prompt-decorator","config":{"prompts":{"append":[{"role":"user","content":"bye"}]}}})");
    REQUIRE(cp.status == 201);
    const std::string cpid = cp.json()["id"];
    CHECK(a.call("GET", "/consumers/alice/plugins/" + cpid).status == 200);
    CHECK(a.call("GET", "/consumers/bob/plugins/" + cpid).status == 404);
    REQUIRE(a.form("POST", "/consumers/alice/key-auth", "key=alice-key").status == 201);
    CHECK(a.call("GET", "/consumers/alice/key-auth/alice-key").json()["key"] == "alice-key");
    CHECK(a.call("GET", "/consumers/bob/key-auth/alice-key").status == 404);
    CHECK(a.form("PATCH", "/consumers/bob/key-auth/alice-key", "key=x").status == 404);
    auto renamed = a.form("PATCH", "/consumers/alice/key-auth/alice-key", "key=alice-key-2");
    CHECK(renamed.status == 200);
    CHECK(renamed.json()["key"] == "alice-key-2");
    CHECK(a.call("PUT", "/consumers/bob/key-auth/bob-key", "{}").status == 200);
    CHECK(a.form("PATCH", "/consumers/bob/key-auth/bob-key", "key=alice-key-2").status == 409);
    CHECK(a.call("DELETE", "/consumers/bob/key-auth/alice-key-2").status == 404);
    CHECK(a.call("DELETE", "/consumers/alice/key-auth/alice-key-2").status == 204);
  }
  SUBCASE("/consumer_groups, their plugins and members") {
    REQUIRE(a.form("POST", "/consumers", "username=alice").status == 201);
    REQUIRE(a.form("POST", "/consumer_groups", "name=gold").status == 201);
    CHECK(a.form("POST", "/consumer_groups", "name=gold").status == 409);
    auto gp = a.call(
        "POST", "/consumer_groups/gold/plugins",
        R"({"name":"ai-prompt-decorator","config":{"prompts":{"append":[{"role":"user","content":"g"}]}}})");
    REQUIRE(gp.status == 201);
    CHECK(gp.json()["consumer_group"]["id"] == a.call("GET", "/consumer_groups/gold").json()["id"]);
    auto added = a.form("POST", "/consumer_groups/gold/consumers", "consumer=alice");
    REQUIRE(added.status == 201);
    CHECK(added.json()["consumers"][0]["username"] == "alice");
    CHECK(a.form("POST", "/consumer_groups/gold/consumers", "consumer=alice").status == 409);
    CHECK(a.form("POST", "/consumer_groups/gold/consumers", "consumer=nobody").status == 400);
    CHECK(a.call("GET", "/consumer_groups/gold/consumers").json()["data"].size() == 1);
    CHECK(a.call("GET", "/consumers/alice/consumer_groups").json()["data"][0]["name"] == "gold");
    // The decK dump nests the group's plugin and keeps the membership on the consumer.
    auto dump = a.call("GET", "/config").json();
    CHECK(dump["consumer_groups"][0]["plugins"][0]["name"] == "ai-prompt-decorator");
    CHECK(dump["consumers"][0]["groups"].size() == 1);
    CHECK(a.call("DELETE", "/consumer_groups/gold/consumers/alice").status == 204);
    CHECK(a.call("GET", "/consumer_groups/gold/consumers").json()["data"].empty());
    REQUIRE(a.form("POST", "/consumer_groups/gold/consumers", "consumer=alice").status == 201);
    // Deleting the group removes its plugins and the membership, not the consumer.
    CHECK(a.call("DELETE", "/consumer_groups/gold").status == 204);
    CHECK(a.call("GET", "/plugins").json()["data"].size() == 1);
    CHECK(a.call("GET", "/consumers/alice").status == 200);
    CHECK(a.call("GET", "/consumers/alice/consumer_groups").json()["data"].empty());
  }
}

TEST_CASE("schemas and enabled plugins in Kong's shapes") {
  Admin a;
  auto schema = a.call("GET", "/schemas/plugins/ai-proxy");
  REQUIRE(schema.status == 200);
  const Json fields = schema.json()["fields"];
  REQUIRE(fields.is_array());
  Json config;
  for (const auto& f : fields)
    if (f.contains("config")) config = f["config"];
  CHECK(config["type"] == "record");
  bool has_route_type = false;
  for (const auto& f : config["fields"])
    if (f.contains("route_type")) {
      has_route_type = true;
      CHECK(f["route_type"]["type"] == "string");
      CHECK(f["route_type"]["one_of"].size() >= 4);
    }
  CHECK(has_route_type);
  CHECK(a.call("GET", "/schemas/plugins/nope").json() ==
        Json{{"message", "No plugin named 'nope'"}});
  CHECK(a.call("GET", "/schemas/routes").json()["fields"].is_array());

  auto ok = a.call(
      "POST", "/schemas/plugins/validate",
      R"({"name":"ai-proxy","config":{"route_type":"llm/v1/chat","model":{"provider":"openai","name":"gpt-4o"}}})");
  CHECK(ok.status == 200);
  CHECK(ok.json() == Json{{"message", "schema validation successful"}});
  auto bad = a.form("POST", "/schemas/plugins/validate",
                    "name=ai-proxy&config.route_type=llm/v1/chat&config.model.provider=opneai");
  CHECK(bad.status == 400);
  CHECK(bad.json()["name"] == "schema violation");
  CHECK(bad.json()["fields"]["config"]["model"]["provider"].get<std::string>().find(
            "unknown provider \"opneai\"") != std::string::npos);
  CHECK(a.call("GET", "/plugins").json()["data"].empty());  // validate creates nothing

  auto enabled = a.call("GET", "/plugins/enabled").json()["enabled_plugins"];
  CHECK(std::find(enabled.begin(), enabled.end(), "ai-proxy") != enabled.end());
}

TEST_CASE("issue #12 - Kong's form arrays are 1-based; hostile indices are short 400s") {
  Admin a;
  auto r = a.form("POST", "/routes", "name=r&paths[1]=/x&paths[2]=/y&methods[]=POST");
  REQUIRE(r.status == 201);
  CHECK(r.json()["paths"] == Json::array({"/x", "/y"}));
  auto dec = a.form("POST", "/routes/r/plugins",
                    "name=ai-prompt-decorator&config.prompts.prepend[1].role=system&"
                    "config.prompts.prepend[1].content=You+are+a+mathematician");
  REQUIRE(dec.status == 201);
  CHECK(dec.json()["config"]["prompts"]["prepend"] ==
        Json::array({{{"role", "system"}, {"content", "You are a mathematician"}}}));
  for (const char* body :
       {"name=x&name[0]=y", "name=p&config..prompts=x",
        "name=ai-prompt-decorator&config.prompts.prepend[1][2]=x",
        "name=q&paths[12345678901234567890]=/x", "name=ai-proxy&config=x&config.route_type=y",
        "name=q&paths[100000]=/x", "name=q&paths[10000000]=/x", "name=q&paths[100000000]=/x",
        "name=q&paths[2147483648]=/x"}) {
    CAPTURE(body);
    const auto start = std::chrono::steady_clock::now();
    auto res = a.form("POST", "/routes", body);
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                        std::chrono::steady_clock::now() - start)
                        .count();
    CHECK(res.status == 400);
    CHECK(res.body.size() < 600);
    CHECK(ms < 2000);
  }
  CHECK(a.gw.admin("/status").status == 200);  // still serving
  CHECK(a.call("GET", "/routes").json()["data"].size() == 1);
}

TEST_CASE("the admin API never answers 500, whatever the body") {
  Admin a;
  REQUIRE(a.form("POST", "/services", "name=s&url=http://localhost:1").status == 201);
  const std::vector<std::string> json_bodies = {
      R"({"name":5})",
      R"({"id":5,"name":"x"})",
      R"({"name":"x","tags":"a"})",
      R"({"name":"x","service":5})",
      R"({"name":"x","service":{"id":7}})",
      R"({"name":"ai-proxy","config":[]})",
      R"({"name":["a"]})",
      R"({"username":{}})",
      R"({"name":"ai-prompt-decorator","config":{"prompts":{"prepend":[null,5,"x"]}}})",
      R"({"name":"x","created_at":"yesterday"})",
      R"({"paths":[[["/x"]]]})",
      "[]",
      "null",
      R"({"name":"ai-proxy","config":{"model":{"options":{"max_tokens":1e300}}}})",
      R"({"key":5})",
      R"({"name":"x","url":5})",
      R"({"port":99999999999999999999})"};
  for (const char* path : {"/services", "/routes", "/plugins", "/consumers", "/services/s",
                           "/services/s/routes", "/services/s/plugins",
                           "/consumers/nobody/key-auth", "/schemas/plugins/validate", "/config"}) {
    for (const auto& body : json_bodies) {
      for (const char* method : {"POST", "PUT", "PATCH"}) {
        CAPTURE(path);
        CAPTURE(body);
        CAPTURE(method);
        auto r = a.call(method, path, body);
        CHECK(r.status != 0);
        CHECK(r.status != 500);
      }
    }
  }
  // YAML alias expansion ("billion laughs") is bounded.
  std::string bomb = "a: &a [x,x,x,x,x,x,x,x,x,x]\n";
  for (int i = 0; i < 9; ++i)
    bomb += std::string(1, static_cast<char>('b' + i)) + ": &" +
            std::string(1, static_cast<char>('b' + i)) + " [*" +
            std::string(1, static_cast<char>('a' + i)) + ",*" +
            std::string(1, static_cast<char>('a' + i)) + ",*" +
            std::string(1, static_cast<char>('a' + i)) + ",*" +
            std::string(1, static_cast<char>('a' + i)) + ",*" +
            std::string(1, static_cast<char>('a' + i)) + ",*" +
            std::string(1, static_cast<char>('a' + i)) + ",*" +
            std::string(1, static_cast<char>('a' + i)) + ",*" +
            std::string(1, static_cast<char>('a' + i)) + ",*" +
            std::string(1, static_cast<char>('a' + i)) + ",*" +
            std::string(1, static_cast<char>('a' + i)) + "]\n";
  auto r = a.call("POST", "/config", bomb, "application/yaml");
  CHECK(r.status == 400);
  CHECK(r.body.find("document too large") != std::string::npos);
  CHECK(a.gw.admin("/status").status == 200);
}
