// The one table of plugins. Adding a plugin: one file + one line here.
#include "plugins/builtin.hpp"

namespace aigw::plugins {

namespace {
const PluginSpec& (*const kPlugins[])() = {
    aiProxySpec,
    aiPromptDecoratorSpec,
};
}  // namespace

const PluginSpec* findPlugin(std::string_view name) {
  for (auto get : kPlugins)
    if (get().name == name) return &get();
  return nullptr;
}

std::vector<std::string> pluginNames() {
  std::vector<std::string> names;
  for (auto get : kPlugins) names.emplace_back(get().name);
  return names;
}

}  // namespace aigw::plugins
