#include "proxy/models.hpp"

#include <set>

#include "formats/models.hpp"
#include "plugins/plugin.hpp"

namespace aigw::proxy {

std::optional<Reply> gatewayModels(const config::Config& config, const http::Request& request) {
  if (request.method != "GET" && request.method != "HEAD") return std::nullopt;
  const std::string_view path = request.path;
  std::string id;  // model ids may hold slashes (meta-llama/Llama-3.1-8B)
  if (path != "/v1/models" && path != "/v1/models/") {
    if (path.rfind("/v1/models/", 0) != 0) return std::nullopt;
    id = std::string(path.substr(11));
  }
  std::vector<plugins::RoutableModel> models;
  std::set<std::string> seen;
  for (const auto& chain : config.route_plugins)
    for (const auto* p : chain)
      for (auto& m : p->impl->routableModels())
        if (seen.insert(m.id).second) models.push_back(std::move(m));
  const auto answer = formats::modelsAnswer(models, id, "openai");
  return Reply{answer.status, {}, answer.body};
}

}  // namespace aigw::proxy
