// Finding chat routes through the admin API (Kong shapes: GET /routes, GET /plugins), for
// `aigw chat ROUTE` and the route menu.
// Thread-safety: free functions.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"

namespace aigw::chat {

struct ChatRoute {
  std::string name;  // the id when the route has no name
  std::string path;  // the first of its paths, as configured
  std::string provider;
  std::string model;  // empty: the client chooses
};

// Routes served by an enabled ai-proxy with route_type llm/v1/chat (on the route, its service,
// or global), from the "data" arrays of GET /routes and GET /plugins. Sorted by name.
std::vector<ChatRoute> chatRoutes(const nlohmann::json& routes, const nlohmann::json& plugins);

// A path to send requests to: a prefix path as it is; a regex path ("~/openai/chat$") with
// its anchors stripped when the rest is literal (escaped characters allowed); nullopt otherwise.
std::optional<std::string> requestPath(std::string_view route_path);

// Every chat route of the gateway at `admin_url` (all pages). The error names the URL.
Result<std::vector<ChatRoute>> fetchChatRoutes(const std::string& admin_url,
                                               const std::string& admin_token = {});

}  // namespace aigw::chat
