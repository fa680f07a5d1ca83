// OpenAI-compatible behaviour, written once. OpenAI, Azure, Mistral, llama2/openai,
// Hugging Face's OpenAI route and any OpenAI-shaped local server are this provider plus a
// small spec (default URLs, whether stream usage can be requested, an URL hook).
// Thread-safety: immutable after construction.
#pragma once

#include <functional>

#include "providers/provider.hpp"

namespace aigw::providers {

struct OpenAICompatSpec {
  std::string name;
  std::string chat_url;  // default endpoints; empty = needs upstream_url
  std::string completions_url;
  std::string embeddings_url;
  bool request_stream_usage = true;  // add stream_options.include_usage when streaming
  // Overrides the default URL from the target (Azure's deployment URL); may be empty.
  std::function<std::string(const Target&, RouteType)> url_for;
  // The Responses API endpoint, for providers that serve it (a Responses client then passes
  // through natively); empty = translated through the chat hub instead.
  std::function<std::string(const Target&)> responses_url = {};
};

class OpenAICompatProvider : public Provider {
 public:
  explicit OpenAICompatProvider(OpenAICompatSpec spec) : spec_(std::move(spec)) {}
  std::string_view name() const override { return spec_.name; }
  bool supports(RouteType type) const override;
  bool speaks(NativeApi api) const override {
    return api == NativeApi::Responses && static_cast<bool>(spec_.responses_url);
  }
  void checkTarget(const Target&, RouteType,
                   std::vector<std::pair<std::string, std::string>>& errors) const override;
  Result<http::UpstreamRequest, ApiError> buildRequest(const ProxyCall&,
                                                       const Target&) const override;
  Result<ProviderReply, ApiError> parseResponse(const ProxyCall&, std::string& body,
                                                const Target&) const override;
  std::unique_ptr<StreamDecoder> newStreamDecoder(const ProxyCall&, const Target&) const override;

 protected:
  const OpenAICompatSpec& spec() const { return spec_; }
  std::string defaultUrl(const Target&, RouteType) const;

 private:
  OpenAICompatSpec spec_;
};

// The OpenAI SSE decoder on its own, for providers that reuse it.
std::unique_ptr<StreamDecoder> newOpenAIStreamDecoder(const ProxyCall& call);

}  // namespace aigw::providers
