// The pure parts of `aigw chat`: SSE framing, URLs and route paths, chat route discovery from
// admin API data, the conversation and slash commands.
#include <doctest/doctest.h>

#include "chat/client.hpp"
#include "chat/conversation.hpp"
#include "chat/line_editor.hpp"
#include "chat/routes.hpp"

using namespace aigw::chat;
using Json = nlohmann::json;

TEST_CASE("SSE: events in any pieces, CRLF, several data lines, comments") {
  const std::string stream =
      ": keep-alive\r\n\r\ndata: {\"a\":1}\r\n\r\nevent: x\ndata: line1\ndata: line2\n\ndata: "
      "[DONE]\n\n";
  for (std::size_t piece : {1u, 2u, 3u, 7u, 1000u}) {
    SseParser parser;
    std::vector<std::string> events;
    for (std::size_t i = 0; i < stream.size(); i += piece)
      parser.feed(std::string_view(stream).substr(i, piece),
                  [&](const std::string& d) { events.push_back(d); });
    CHECK(events == std::vector<std::string>{"{\"a\":1}", "line1\nline2", "[DONE]"});
  }
}

TEST_CASE("URLs and the request path of a route") {
  auto e = parseUrl("http://127.0.0.1:8000/openai/chat?x=1");
  REQUIRE(e);
  CHECK(e->base == "http://127.0.0.1:8000");
  CHECK(e->path == "/openai/chat?x=1");
  CHECK(parseUrl("https://gw.example")->path == "/");
  CHECK(!parseUrl("ftp://x/y"));
  CHECK(!parseUrl("http://"));

  CHECK(requestPath("/openai/chat") == "/openai/chat");
  CHECK(requestPath("~/openai/chat$") == "/openai/chat");
  CHECK(requestPath("~^/v1/chat/completions$") == "/v1/chat/completions");
  CHECK(requestPath("~/a\\.b$") == "/a.b");
  CHECK(!requestPath("~/v1/.*/chat"));
  CHECK(!requestPath("~/models/\\d+$"));
  CHECK(!requestPath("~chat$"));
  CHECK(!requestPath(""));
}

TEST_CASE("chat routes: an ai-proxy for llm/v1/chat on the route, its service, or global") {
  const Json routes = Json::parse(R"([
    {"id":"r1","name":"direct","paths":["/d"]},
    {"id":"r2","name":"via-service","paths":["~/s$"],"service":{"id":"s1"}},
    {"id":"r3","name":"embed","paths":["/e"]},
    {"id":"r4","name":"disabled","paths":["/x"]},
    {"id":"r5","name":"plain","paths":["/p"],"service":{"id":"s2"}}
  ])");
  const Json plugins = Json::parse(R"([
    {"name":"ai-proxy","route":{"id":"r1"},"config":{"route_type":"llm/v1/chat","model":{"provider":"openai","name":"gpt-4o"}}},
    {"name":"ai-proxy","service":{"id":"s1"},"config":{"route_type":"llm/v1/chat","model":{"provider":"mock"}}},
    {"name":"ai-proxy","route":{"id":"r3"},"config":{"route_type":"llm/v1/embeddings","model":{"provider":"openai"}}},
    {"name":"ai-proxy","route":{"id":"r4"},"enabled":false,"config":{"route_type":"llm/v1/chat"}},
    {"name":"key-auth","route":{"id":"r5"},"config":{}}
  ])");
  auto found = chatRoutes(routes, plugins);
  REQUIRE(found.size() == 2);
  CHECK(found[0].name == "direct");
  CHECK(found[0].provider == "openai");
  CHECK(found[0].model == "gpt-4o");
  CHECK(found[1].name == "via-service");
  CHECK(found[1].path == "~/s$");
  CHECK(found[1].model.empty());

  // A global ai-proxy makes every route a chat route, unless the route has its own.
  Json with_global = plugins;
  with_global.push_back(
      Json::parse(R"({"name":"ai-proxy","config":{"route_type":"llm/v1/chat"}})"));
  found = chatRoutes(routes, with_global);
  CHECK(found.size() == 3);  // + plain; embed and disabled keep their own
}

TEST_CASE("conversation: system first, turns, reset, a failed turn taken back, /save shape") {
  Conversation c;
  c.system = "be brief";
  c.addUser("one");
  c.addAssistant("1");
  c.addUser("two");
  Json body = c.requestBody();
  REQUIRE(body["messages"].size() == 4);
  CHECK(body["messages"][0] == Json({{"role", "system"}, {"content", "be brief"}}));
  CHECK(!body.contains("model"));
  c.dropLastUser();
  CHECK(c.size() == 2);
  c.dropLastUser();  // the last turn is the assistant's: nothing to take back
  CHECK(c.size() == 2);
  c.model = std::string("gpt-x");
  CHECK(c.requestBody()["model"] == "gpt-x");
  const Json saved = c.toJson("http://x/chat");
  CHECK(saved["url"] == "http://x/chat");
  CHECK(saved["messages"].size() == 3);
  c.reset();
  CHECK(c.size() == 0);
  CHECK(c.requestBody()["messages"].size() == 1);  // the system prompt stays
}

TEST_CASE("slash commands, error bodies, display width") {
  CHECK(isCommand("/help"));
  CHECK(!isCommand("//not a command"));
  CHECK(!isCommand("/"));
  CHECK(!isCommand("hello"));
  auto cmd = parseCommand("/system   You are terse.  ");
  CHECK(cmd.name == "system");
  CHECK(cmd.arg == "You are terse.");
  CHECK(parseCommand("/reset").arg.empty());

  CHECK(errorMessage(R"({"error":{"message":"bad model","type":"invalid_request_error"}})") ==
        "bad model");
  CHECK(errorMessage(R"({"message":"no Route matched"})") == "no Route matched");
  CHECK(errorMessage("<html>oops</html>\n") == "<html>oops</html>");
  CHECK(errorMessage("").find("empty") != std::string::npos);

  CHECK(displayWidth("\033[1m> \033[0m") == 2);
  CHECK(displayWidth("héllo") == 5);
}
