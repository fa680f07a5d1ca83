// The providers `aigw quickstart` can set up: what to ask for, where the defaults come from,
// and which route template to use. Adding one: an entry in catalog.cpp and a
// templates/route-<name>.yaml.
// Thread-safety: immutable tables.
#pragma once

#include <string_view>
#include <vector>

namespace aigw::quickstart {

// One value the user provides for a provider.
struct Field {
  std::string_view env;       // environment variable offered as the default
  std::string_view label;     // what the prompt asks for
  bool secret = true;         // true: stored only in .env under `env`, referenced from the YAML,
                              // typed without echo
  std::string_view var = {};  // plain values: the template variable they fill
  std::string_view fallback = {};  // plain values: the default when `env` is unset
};

struct ProviderSpec {
  std::string_view name;  // model.provider, the route /<name>/chat and the template name
  std::string_view label;
  std::string_view default_model;
  std::vector<Field> fields;
};

// Every provider quickstart knows, in menu order; "ollama" and "mock" are handled apart
// (detected, and the keyless fallback).
const std::vector<ProviderSpec>& catalog();
// The keyed catalog entries this binary can serve (providers::findProvider), in menu order.
std::vector<const ProviderSpec*> keyedProviders();
const ProviderSpec* findSpec(std::string_view name);

}  // namespace aigw::quickstart
