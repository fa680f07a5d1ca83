// aigw-test-chunks: a plugin for the gateway's own integration tests of the stream-chunk
// phase (no Kong plugin in aigw rewrites chunks yet). It is registered but only visible when
// the process runs with AIGW_TEST_PLUGINS=1 (plugins/registry.cpp), so no user config can
// name it by accident. Config: uppercase (delta text in capitals), drop_matching (drop chunks
// whose delta text matches), end_matching (end the stream with an error event there).
#include "core/regex.hpp"
#include "plugins/builtin.hpp"
#include "plugins/schema_fields.hpp"
#include "proxy/request_context.hpp"

namespace aigw::plugins {

namespace {

using Json = nlohmann::json;

const config::Schema& testChunksSchema() {
  static const config::Schema schema = [] {
    using namespace fields;
    return config::Schema{{boolean("uppercase", false), str("drop_matching"), str("end_matching")}};
  }();
  return schema;
}

class TestChunks : public Plugin {
 public:
  bool uppercase = false;
  std::optional<Regex> drop, end;

  bool wantsChunks() const override { return true; }

  ChunkVerdict onChunk(proxy::RequestContext& ctx, Json& chunk) const override {
    const auto choices = chunk.find("choices");
    if (choices == chunk.end() || !choices->is_array() || choices->empty())
      return ChunkVerdict::Pass;
    auto& delta = (*choices)[0]["delta"];
    if (!delta.is_object() || !delta.contains("content") || !delta["content"].is_string())
      return ChunkVerdict::Pass;
    std::string text = delta["content"].get<std::string>();
    if (end && end->search(text)) {
      ctx.error = ApiError::badRequest("stream ended by aigw-test-chunks");
      return ChunkVerdict::End;
    }
    if (drop && drop->search(text)) return ChunkVerdict::Drop;
    if (uppercase) {
      for (auto& c : text) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      delta["content"] = text;
    }
    return ChunkVerdict::Pass;
  }
};

std::shared_ptr<const Plugin> create(const Json& cfg, const std::string& path,
                                     config::ConfigErrors& errors) {
  auto p = std::make_shared<TestChunks>();
  p->uppercase = cfg.value("uppercase", false);
  for (auto [key, slot] : {std::pair{"drop_matching", &p->drop}, {"end_matching", &p->end}}) {
    const std::string pattern = cfg.value(key, "");
    if (pattern.empty()) continue;
    auto re = Regex::compile(pattern);
    if (re)
      *slot = std::move(*re);
    else
      errors.add(config::joinPath(path, key), "invalid regex \"" + pattern + "\": " + re.error());
  }
  return p;
}

}  // namespace

const PluginSpec& testChunksSpec() {
  static const PluginSpec spec{"aigw-test-chunks", 0, testChunksSchema, create};
  return spec;
}

}  // namespace aigw::plugins
