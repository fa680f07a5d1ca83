#include "chat/routes.hpp"

#include <algorithm>
#include <cctype>

#include "admin/client.hpp"

namespace aigw::chat {

using Json = nlohmann::json;

namespace {

std::string refId(const Json& e, const char* field) {
  if (!e.is_object() || !e.contains(field) || !e[field].is_object()) return {};
  return e[field].value("id", "");
}

bool isProxy(const Json& p) {
  const std::string name = p.is_object() ? p.value("name", "") : "";
  return name == "ai-proxy" || name == "ai-proxy-advanced";
}

// The LLM block (route_type, model) of ai-proxy's config, or of ai-proxy-advanced's first
// target.
Json llmBlock(const Json& p) {
  const Json config = p.value("config", Json::object());
  if (!config.is_object()) return Json::object();
  if (p.value("name", "") != "ai-proxy-advanced") return config;
  const Json targets = config.value("targets", Json::array());
  return targets.is_array() && !targets.empty() && targets[0].is_object() ? targets[0]
                                                                          : Json::object();
}

bool isChatProxy(const Json& p) {
  if (!isProxy(p) || !p.value("enabled", true)) return false;
  return llmBlock(p).value("route_type", "") == "llm/v1/chat";
}

}  // namespace

std::vector<ChatRoute> chatRoutes(const Json& routes, const Json& plugins) {
  std::vector<ChatRoute> out;
  if (!routes.is_array() || !plugins.is_array()) return out;
  for (const auto& r : routes) {
    if (!r.is_object()) continue;
    const std::string id = r.value("id", "");
    const std::string service = refId(r, "service");
    // Kong's precedence: a plugin on the route beats one on its service beats a global one.
    const Json* best = nullptr;
    int best_rank = 0;
    for (const auto& p : plugins) {
      if (!isProxy(p)) continue;
      if (!refId(p, "consumer").empty()) continue;
      const std::string pr = refId(p, "route"), ps = refId(p, "service");
      int rank = 0;
      if (!pr.empty())
        rank = pr == id ? 3 : 0;
      else if (!ps.empty())
        rank = ps == service && !service.empty() ? 2 : 0;
      else
        rank = 1;
      if (rank > best_rank) best = &p, best_rank = rank;
    }
    if (!best || !isChatProxy(*best)) continue;
    const Json paths = r.value("paths", Json::array());
    ChatRoute c;
    c.name = r.value("name", id);
    if (r.contains("name") && r["name"].is_null()) c.name = id;
    c.path = paths.is_array() && !paths.empty() && paths[0].is_string()
                 ? paths[0].get<std::string>()
                 : "";
    const Json model = llmBlock(*best).value("model", Json::object());
    if (model.is_object()) {
      if (model.contains("provider") && model["provider"].is_string())
        c.provider = model["provider"];
      if (model.contains("name") && model["name"].is_string()) c.model = model["name"];
    }
    out.push_back(std::move(c));
  }
  std::sort(out.begin(), out.end(),
            [](const ChatRoute& a, const ChatRoute& b) { return a.name < b.name; });
  return out;
}

std::optional<std::string> requestPath(std::string_view path) {
  if (path.empty()) return std::nullopt;
  if (path.front() != '~') return std::string(path);
  path.remove_prefix(1);
  if (!path.empty() && path.front() == '^') path.remove_prefix(1);
  if (!path.empty() && path.back() == '$' && (path.size() < 2 || path[path.size() - 2] != '\\'))
    path.remove_suffix(1);
  std::string out;
  for (std::size_t i = 0; i < path.size(); ++i) {
    const char c = path[i];
    if (c == '\\') {
      if (i + 1 >= path.size()) return std::nullopt;
      const char next = path[++i];
      if (std::isalnum(static_cast<unsigned char>(next))) return std::nullopt;  // \d, \w, ...
      out += next;
      continue;
    }
    if (std::string_view(".*+?()[]{}|^$").find(c) != std::string_view::npos) return std::nullopt;
    out += c;
  }
  if (out.empty() || out.front() != '/') return std::nullopt;
  return out;
}

namespace {

Result<Json> fetchAll(const admin::AdminClient& client, std::string path) {
  Json all = Json::array();
  // Kong pages lists; follow "next" (bounded, in case a server loops).
  for (int page = 0; page < 1000 && !path.empty(); ++page) {
    auto reply = client.get(path);
    if (!reply) return Result<Json>::failure(reply.error());
    const Json j = reply->json();
    if (reply->status != 200 || !j.is_object() || !j.contains("data") || !j["data"].is_array()) {
      return Result<Json>::failure("unexpected answer from the admin API at " + client.baseUrl() +
                                   path + " (HTTP " + std::to_string(reply->status) + ")");
    }
    for (const auto& e : j["data"]) all.push_back(e);
    path = j.contains("next") && j["next"].is_string() ? j["next"].get<std::string>() : "";
  }
  return all;
}

}  // namespace

Result<std::vector<ChatRoute>> fetchChatRoutes(const std::string& admin_url,
                                               const std::string& admin_token) {
  admin::AdminClient client(admin_url, admin_token);
  auto routes = fetchAll(client, "/routes");
  if (!routes) return Result<std::vector<ChatRoute>>::failure(routes.error());
  auto plugins = fetchAll(client, "/plugins");
  if (!plugins) return Result<std::vector<ChatRoute>>::failure(plugins.error());
  return chatRoutes(*routes, *plugins);
}

}  // namespace aigw::chat
