// Which plugin instance applies for a (route, consumer): Kong's precedence table, consumer
// groups, and the chain switch after authentication (config/chains.cpp).
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "config/document.hpp"
#include "config/load.hpp"
#include "config/model.hpp"

using namespace aigw::config;

namespace {

ConfigPtr load(const std::string& yaml) {
  auto doc = parseDocument(yaml, "test.yaml");
  REQUIRE(doc);
  auto built = build(doc->value, [](const std::string&) -> const char* { return nullptr; });
  if (!built) FAIL(built.error().toString());
  return *built;
}

std::string loadErrors(const std::string& yaml) {
  auto doc = parseDocument(yaml, "test.yaml");
  REQUIRE(doc);
  auto built = build(doc->value, [](const std::string&) -> const char* { return nullptr; });
  return built ? "" : built.error().toString();
}

int indexOf(const std::vector<Consumer>& list, const std::string& name) {
  for (std::size_t i = 0; i < list.size(); ++i)
    if (list[i].username == name) return static_cast<int>(i);
  return -1;
}

// The tag of the ai-prompt-decorator instance in the chain ("" = none).
std::string decoratorTag(const Chain& chain) {
  for (const auto* p : chain)
    if (p->name == "ai-prompt-decorator") return p->tags.empty() ? "?" : p->tags[0];
  return "";
}

std::string decorator(const std::string& tag, const std::string& scope) {
  return "- name: ai-prompt-decorator\n  tags: [" + tag + "]\n" + scope +
         "  config: {prompts: {prepend: [{content: x}]}}\n";
}

const std::string kEntities = R"(_format_version: "3.0"
services:
- name: svc
  url: http://127.0.0.1:1
  routes:
  - {name: r1, paths: [/r1]}
- name: other
  url: http://127.0.0.1:1
  routes:
  - {name: r2, paths: [/r2]}
consumer_groups:
- {name: g1}
- {name: a-group}
consumers:
- username: alice
  groups: [{name: g1}]
- username: bob
  groups: [{name: g1}, {name: a-group}]
- username: carol
)";

}  // namespace

TEST_CASE("plugin precedence follows Kong's table") {
  // Every scope combination, each tagged with its rank; the most specific one that matches wins.
  const std::string plugins =
      "plugins:\n" + decorator("global", "") + decorator("service", "  service: svc\n") +
      decorator("route", "  route: r1\n") + decorator("group", "  consumer_group: g1\n") +
      decorator("consumer", "  consumer: alice\n") +
      decorator("route+service", "  route: r1\n  service: svc\n") +
      decorator("group+service", "  consumer_group: g1\n  service: svc\n") +
      decorator("group+route", "  consumer_group: g1\n  route: r1\n") +
      decorator("consumer+service", "  consumer: alice\n  service: svc\n") +
      decorator("consumer+route", "  consumer: alice\n  route: r1\n") +
      decorator("group+route+service", "  consumer_group: g1\n  route: r1\n  service: svc\n") +
      decorator("consumer+route+service", "  consumer: alice\n  route: r1\n  service: svc\n") +
      "- name: key-auth\n";
  auto full = load(kEntities + plugins);
  const int alice = indexOf(full->consumers, "alice");
  const int carol = indexOf(full->consumers, "carol");
  CHECK(decoratorTag(full->chainFor(0, alice)) == "consumer+route+service");
  CHECK(decoratorTag(full->chainFor(0, carol)) == "route+service");
  CHECK(decoratorTag(full->chainFor(0, -1)) == "route+service");
  CHECK(decoratorTag(full->chainFor(1, alice)) == "consumer");
  CHECK(decoratorTag(full->chainFor(1, carol)) == "global");
  CHECK(decoratorTag(full->global_plugins) == "global");

  // Remove the winners one at a time (the order of Kong's list) and see the next one win.
  const std::vector<std::string> order = {"consumer+route+service",
                                          "group+route+service",
                                          "consumer+route",
                                          "consumer+service",
                                          "group+route",
                                          "group+service",
                                          "route+service",
                                          "consumer",
                                          "group",
                                          "route",
                                          "service",
                                          "global"};
  for (std::size_t drop = 0; drop + 1 < order.size(); ++drop) {
    std::string kept = "plugins:\n- name: key-auth\n";
    for (std::size_t i = drop + 1; i < order.size(); ++i) {
      const std::string& tag = order[i];
      std::string scope;
      if (tag.find("consumer") != std::string::npos) scope += "  consumer: alice\n";
      if (tag.find("group") != std::string::npos) scope += "  consumer_group: g1\n";
      if (tag.find("route") != std::string::npos) scope += "  route: r1\n";
      if (tag.find("service") != std::string::npos) scope += "  service: svc\n";
      kept += decorator(tag, scope);
    }
    auto cfg = load(kEntities + kept);
    INFO("without the first " << drop + 1);
    CHECK(decoratorTag(cfg->chainFor(0, indexOf(cfg->consumers, "alice"))) == order[drop + 1]);
  }
}

TEST_CASE("consumer groups: the first group by name wins; members without plugins share") {
  auto cfg =
      load(kEntities + "plugins:\n- name: key-auth\n" + decorator("g1", "  consumer_group: g1\n") +
           decorator("a-group", "  consumer_group: a-group\n"));
  CHECK(decoratorTag(cfg->chainFor(0, indexOf(cfg->consumers, "alice"))) == "g1");
  CHECK(decoratorTag(cfg->chainFor(0, indexOf(cfg->consumers, "bob"))) == "a-group");
  const int carol = indexOf(cfg->consumers, "carol");
  CHECK(cfg->consumers[static_cast<std::size_t>(carol)].chains == -1);
  CHECK(&cfg->chainFor(0, carol) == &cfg->route_plugins[0]);
}

TEST_CASE("the consumer's chain keeps the route's plugins down to the authentication plugin") {
  auto cfg = load(kEntities + "plugins:\n- name: key-auth\n  route: r1\n" +
                  decorator("mine", "  consumer: alice\n"));
  const int alice = indexOf(cfg->consumers, "alice");
  const Chain& route = cfg->route_plugins[0];
  const Chain& mine = cfg->chainFor(0, alice);
  REQUIRE(route.size() == 1);
  REQUIRE(mine.size() == 2);
  CHECK(mine[0] == route[0]);
  CHECK(decoratorTag(mine) == "mine");
  // r2 has no authentication plugin: no consumer is ever identified there.
  CHECK(decoratorTag(cfg->chainFor(1, alice)) == "");
}

TEST_CASE("consumer and group scope errors") {
  CHECK(loadErrors(kEntities + "plugins:\n" +
                   decorator("x", "  consumer: alice\n  consumer_group: g1\n"))
            .find("a consumer or to a consumer group, not both") != std::string::npos);
  CHECK(loadErrors(kEntities + "plugins:\n- name: key-auth\n  consumer: alice\n")
            .find("authenticates consumers and cannot be scoped to one") != std::string::npos);
  CHECK(loadErrors(kEntities + "plugins:\n" + decorator("x", "  consumer_group: nope\n"))
            .find("unknown consumer_group \"nope\"") != std::string::npos);
  CHECK(loadErrors(R"(_format_version: "3.0"
consumers:
- username: a
  groups: [{name: missing}]
)")
            .find("consumers[0].groups[0]: unknown consumer_group \"missing\"") !=
        std::string::npos);
}
