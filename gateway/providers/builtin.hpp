// Constructors of the built-in providers; only registry.cpp calls them.
#pragma once

#include "providers/provider.hpp"

namespace aigw::providers::builtin {

const Provider& openai();
const Provider& azure();
const Provider& mistralOpenAI();
const Provider& llama2OpenAI();  // OpenAI-shaped self-hosted server at upstream_url
const Provider& llama2Raw();     // text-generation-inference, Llama 2 chat template
const Provider& ollamaNative(std::string_view name);  // "ollama", "llama2" or "mistral"
const Provider& mock();
const Provider& gemini();
const Provider& anthropic();
const Provider& cohere();                                // the v2 API
const Provider& cohereFor(const ModelOptions& options);  // v1 when upstream_url points at it
const Provider& bedrock();                               // Converse API, SigV4
const Provider& huggingface();                           // Inference Providers router

}  // namespace aigw::providers::builtin
