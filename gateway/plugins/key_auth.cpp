// key-auth (Kong priority 1250): identifies the consumer from an API key in a header, the
// query string or the JSON body (config.key_names, first match wins), against the
// keyauth_credentials of the consumers. Kong's texts: 401 "No API key found in request",
// "Unauthorized" (unknown key), "Duplicate API key found", each with WWW-Authenticate; with
// `anonymous` a failed authentication continues as that consumer instead.
// Schema and behaviour: Kong's kong/plugins/key-auth (schema.lua, handler.lua).
//
// aigw's differences, all in the direction of never leaking the gateway key: the key is taken
// out of the body (key_in_body) and out of the query an AI upstream may see whatever
// hide_credentials says, and the header it came in is never forwarded to an AI provider; and
// `Authorization: Bearer <key>` matches the credential <key> when no credential is the whole
// header value, so OpenAI SDK clients (which send their api_key that way) work with
// key_names: [authorization].
#include "core/json.hpp"
#include "plugins/builtin.hpp"
#include "plugins/schema_fields.hpp"
#include "proxy/request_context.hpp"

namespace aigw::plugins {

namespace {

using config::Field;
using config::FieldType;
using config::Schema;
using Json = nlohmann::json;

const Schema& keyAuthSchema() {
  static const Schema schema = [] {
    using namespace fields;
    Field key_names{"key_names", FieldType::Array};
    key_names.element = FieldType::String;
    key_names.default_value = Json::array({"apikey"});
    key_names.min = 1;
    key_names.len_min = 1;
    return Schema{{key_names, boolean("hide_credentials", false), str("anonymous"),
                   boolean("key_in_header", true), boolean("key_in_query", true),
                   boolean("key_in_body", false), boolean("run_on_preflight", true), str("realm"),
                   Field{"identity_realms", FieldType::Any}}};
  }();
  return schema;
}

// Kong's typedefs.header_name: letters, digits, '-' and '_'.
bool validKeyName(const std::string& name) {
  if (name.empty()) return false;
  for (unsigned char c : name)
    if (!(std::isalnum(c) || c == '-' || c == '_')) return false;
  return true;
}

// Splits a raw query string into (name, raw value) pairs.
std::vector<std::pair<std::string, std::string_view>> queryPairs(std::string_view query) {
  std::vector<std::pair<std::string, std::string_view>> out;
  while (!query.empty()) {
    const std::size_t amp = query.find('&');
    const std::string_view part = query.substr(0, amp);
    const std::size_t eq = part.find('=');
    out.emplace_back(http::percentDecode(part.substr(0, eq), true),
                     eq == std::string_view::npos ? std::string_view() : part.substr(eq + 1));
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return out;
}

// The query without every occurrence of parameter `name`.
std::string queryWithout(std::string_view query, const std::string& name) {
  std::string out;
  while (!query.empty()) {
    const std::size_t amp = query.find('&');
    const std::string_view part = query.substr(0, amp);
    if (http::percentDecode(part.substr(0, part.find('=')), true) != name) {
      if (!out.empty()) out += '&';
      out += part;
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return out;
}

class KeyAuth : public Plugin {
 public:
  std::vector<std::string> key_names;
  bool hide_credentials = false;
  std::string anonymous;
  bool in_header = true, in_query = true, in_body = false, run_on_preflight = true;
  std::string www_authenticate = "Key";

  bool identifiesConsumer() const override { return true; }

  Verdict onAccess(proxy::RequestContext& ctx) const override {
    if (!run_on_preflight && ctx.request.method == "OPTIONS") return Verdict::Continue;
    // Kong's "logical OR": with anonymous set, an earlier authentication is enough.
    if (!anonymous.empty() && ctx.credential >= 0) return Verdict::Continue;
    std::optional<ApiError> failure = authenticate(ctx);
    if (!failure) return Verdict::Continue;
    if (anonymous.empty()) {
      ctx.response_headers.push_back({"WWW-Authenticate", www_authenticate});
      ctx.error = std::move(*failure);
      return Verdict::Respond;
    }
    const auto& consumers = ctx.config->consumers;
    for (std::size_t i = 0; i < consumers.size(); ++i)
      if (consumers[i].id == anonymous || consumers[i].username == anonymous) {
        ctx.consumer = static_cast<int>(i);
        ctx.credential = -1;
        return Verdict::Continue;
      }
    ctx.error =
        ApiError::internal("anonymous consumer " + anonymous + " is configured but doesn't exist");
    return Verdict::Respond;
  }

 private:
  static ApiError unauthorized(std::string message) {
    return {401, std::move(message), "authentication_error", {}, "invalid_api_key", -1};
  }

  // Finds the key (first key name that is present, header before query before body), records
  // where it was and takes it out of what an AI upstream sees; looks up its credential.
  std::optional<ApiError> authenticate(proxy::RequestContext& ctx) const {
    const auto& req = ctx.request;
    std::string key;
    bool found = false;
    bool from_authorization = false;
    for (const auto& name : key_names) {
      if (in_header) {
        int seen = 0;
        for (const auto& h : req.headers)
          if (http::iequals(h.name, name)) {
            if (++seen == 1) key = h.value;
          }
        if (seen > 1) return unauthorized("Duplicate API key found");
        if (seen == 1) {
          found = true;
          from_authorization = http::iequals(name, "authorization");
          ctx.credential_header = name;
          break;
        }
      }
      if (in_query && !req.query.empty()) {
        int seen = 0;
        for (const auto& [pname, raw] : queryPairs(req.query))
          if (pname == name && ++seen == 1) key = http::percentDecode(raw, true);
        if (seen > 1) return unauthorized("Duplicate API key found");
        if (seen == 1) {
          found = true;
          ctx.credential_query = name;
          ctx.query_without_credential = queryWithout(req.query, name);
          break;
        }
      }
      if (in_body && ctx.ensureBody() && ctx.body.is_object()) {
        auto it = ctx.body.find(name);
        if (it != ctx.body.end()) {
          if (it->is_array()) return unauthorized("Duplicate API key found");
          if (it->is_string()) {
            key = it->get<std::string>();
            found = true;
            ctx.body.erase(it);
            ctx.body_edited = true;
            break;
          }
        }
      }
    }
    // The key never reaches an AI upstream, hidden or not (see top); an ordinary service
    // gets it unless hide_credentials is set, as in Kong.
    ctx.hide_credential = hide_credentials;
    if (!found || key.empty()) return unauthorized("No API key found in request");
    const auto& index = ctx.config->keyauth_by_key;
    auto it = index.find(key);
    if (it == index.end() && from_authorization && key.size() > 7 &&
        http::iequals(std::string_view(key).substr(0, 7), "bearer "))
      it = index.find(key.substr(7));
    if (it == index.end()) return unauthorized("Unauthorized");
    ctx.credential = it->second;
    ctx.consumer = ctx.config->keyauth_credentials[static_cast<std::size_t>(it->second)].consumer;
    return std::nullopt;
  }
};

std::shared_ptr<const Plugin> createKeyAuth(const Json& cfg, const std::string& path,
                                            config::ConfigErrors& errors) {
  auto p = std::make_shared<KeyAuth>();
  const Json names = cfg.value("key_names", Json::array({"apikey"}));
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (!names[i].is_string()) continue;
    const std::string name = names[i].get<std::string>();
    if (!validKeyName(name))
      errors.add(
          config::indexPath(config::joinPath(path, "key_names"), i),
          "bad header name '" + name + "', allowed characters are A-Z, a-z, 0-9, '_', and '-'");
    p->key_names.push_back(name);
  }
  p->hide_credentials = cfg.value("hide_credentials", false);
  p->anonymous = cfg.value("anonymous", "");
  p->in_header = cfg.value("key_in_header", true);
  p->in_query = cfg.value("key_in_query", true);
  p->in_body = cfg.value("key_in_body", false);
  p->run_on_preflight = cfg.value("run_on_preflight", true);
  if (const std::string realm = cfg.value("realm", ""); !realm.empty())
    p->www_authenticate = "Key realm=\"" + realm + "\"";
  return p;
}

}  // namespace

const PluginSpec& keyAuthSpec() {
  static const PluginSpec spec{"key-auth", 1250, keyAuthSchema, createKeyAuth};
  return spec;
}

}  // namespace aigw::plugins
