// Specs of the built-in plugins; only registry.cpp lists them.
#pragma once

#include "plugins/plugin.hpp"

namespace aigw::plugins {

const PluginSpec& aiProxySpec();
const PluginSpec& aiProxyAdvancedSpec();
const PluginSpec& aiRateLimitingAdvancedSpec();
const PluginSpec& rateLimitingSpec();
const PluginSpec& aiPromptDecoratorSpec();
const PluginSpec& aiPromptGuardSpec();
const PluginSpec& aiPromptTemplateSpec();
const PluginSpec& aiRequestTransformerSpec();
const PluginSpec& aiResponseTransformerSpec();
const PluginSpec& keyAuthSpec();
const PluginSpec& testChunksSpec();  // tests only (registry.cpp)

}  // namespace aigw::plugins
