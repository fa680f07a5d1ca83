// The one table of plugins. Adding a plugin: one file + one line here.
#include <cstdlib>

#include "plugins/builtin.hpp"

namespace aigw::plugins {

namespace {
const PluginSpec& (*const kPlugins[])() = {
    keyAuthSpec,                 // 1250
    rateLimitingSpec,            // 910
    aiRateLimitingAdvancedSpec,  // 905
    aiRequestTransformerSpec,    // 777
    aiPromptTemplateSpec,        // 773
    aiPromptDecoratorSpec,       // 772
    aiPromptGuardSpec,           // 771
    aiProxySpec,                 // 770
    aiProxyAdvancedSpec,         // 770
    aiResponseTransformerSpec,   // 768
};

// Plugins that exist for the gateway's own integration tests only: found by name when the
// process runs with AIGW_TEST_PLUGINS=1, never listed or suggested.
const PluginSpec& (*const kTestPlugins[])() = {
    testChunksSpec,
};

bool testPluginsEnabled() {
  const char* v = std::getenv("AIGW_TEST_PLUGINS");
  return v != nullptr && std::string_view(v) == "1";
}
}  // namespace

const PluginSpec* findPlugin(std::string_view name) {
  for (auto get : kPlugins)
    if (get().name == name) return &get();
  if (testPluginsEnabled())
    for (auto get : kTestPlugins)
      if (get().name == name) return &get();
  return nullptr;
}

std::vector<std::string> pluginNames() {
  std::vector<std::string> names;
  for (auto get : kPlugins) names.emplace_back(get().name);
  return names;
}

}  // namespace aigw::plugins
