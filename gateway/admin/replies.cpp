#include "admin/replies.hpp"

#include <algorithm>

#include "admin/entities.hpp"
#include "admin/form.hpp"
#include "core/json.hpp"

namespace aigw::admin {

void sendJson(httplib::Response& res, const Json& body, int status) {
  res.status = status;
  res.set_content(json::dump(body), "application/json; charset=utf-8");
}

void kongError(httplib::Response& res, int status, const std::string& message) {
  sendJson(res, {{"message", message}}, status);
}

void notFound(httplib::Response& res) {
  kongError(res, 404, "Not found");
}

void methodNotAllowed(httplib::Response& res) {
  kongError(res, 405, "Method not allowed");
}

void uniqueViolation(httplib::Response& res, const std::string& what) {
  sendJson(res,
           {{"code", 5},
            {"name", "unique constraint violation"},
            {"message", "UNIQUE violation detected on '{" + what + "}'"}},
           409);
}

namespace {

// "config.model.provider" -> fields.config.model.provider = message.
Json nestFields(const std::vector<std::pair<std::string, std::string>>& errors) {
  Json fields = Json::object();
  for (const auto& [path, message] : errors) {
    Json* node = &fields;
    std::size_t start = 0;
    std::string seg;
    while (true) {
      const auto dot = path.find('.', start);
      seg = path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
      if (dot == std::string::npos) break;
      Json& next = (*node)[seg];
      if (!next.is_object()) next = Json::object();  // a message there already: nest anyway
      node = &next;
      start = dot + 1;
    }
    (*node)[seg.empty() ? "@entity" : seg] = message;
  }
  return fields;
}

}  // namespace

void schemaViolation(httplib::Response& res, const config::ConfigErrors& errors,
                     const std::string& entity_prefix) {
  std::vector<std::pair<std::string, std::string>> list;
  std::string summary;
  for (const auto& e : errors.list()) {
    std::string path = e.path;
    if (!entity_prefix.empty() && path.rfind(entity_prefix, 0) == 0) {
      path = path.substr(entity_prefix.size());
      if (!path.empty() && path.front() == '.') path.erase(0, 1);
    }
    list.emplace_back(path, e.message);
    if (!summary.empty()) summary += ", ";
    summary += path.empty() ? e.message : path + ": " + e.message;
  }
  sendJson(res,
           {{"code", 2},
            {"name", "schema violation"},
            {"message", "schema violation (" + summary + ")"},
            {"fields", nestFields(list)}},
           400);
}

std::vector<std::string> splitPath(const std::string& path) {
  std::vector<std::string> out;
  std::size_t start = 1;
  while (start <= path.size()) {
    const auto slash = path.find('/', start);
    std::string seg =
        path.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
    if (!seg.empty()) out.push_back(httplib::detail::decode_url(seg, false));
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  return out;
}

std::optional<Json> readBody(const httplib::Request& req, config::EntityKind kind,
                             std::string& error) {
  const std::string type = req.get_header_value("Content-Type");
  const bool urlencoded = type.find("application/x-www-form-urlencoded") != std::string::npos;
  if (urlencoded || type.find("multipart/form-data") != std::string::npos) {
    FormFields fields;
    if (urlencoded) {
      auto parsed = parseUrlEncoded(req.body);
      if (!parsed) {
        error = parsed.error();
        return std::nullopt;
      }
      fields = std::move(*parsed);
    } else {
      for (const auto& [name, file] : req.files) fields.emplace_back(name, file.content);
    }
    auto body = formFieldsToJson(fields);
    if (!body) {
      error = body.error();
      return std::nullopt;
    }
    coerceEntity(*body, kind);
    return std::move(*body);
  }
  if (req.body.empty()) return Json::object();
  Json body;
  if (!json::parse(req.body, body, &error) || !body.is_object()) {
    error = "cannot parse JSON body: " +
            (error.empty() ? std::string("expected a JSON object") : error);
    return std::nullopt;
  }
  coerceEntity(body, kind);
  return body;
}

bool matchesTags(const Json& e, const std::string& tags) {
  if (tags.empty()) return true;
  const auto it = e.is_object() ? e.find("tags") : e.end();
  auto has = [&](const std::string& tag) {
    return it != e.end() && it->is_array() && std::find(it->begin(), it->end(), tag) != it->end();
  };
  const bool any = tags.find('/') != std::string::npos;
  std::string cur;
  bool result = !any;
  for (std::size_t i = 0; i <= tags.size(); ++i) {
    if (i == tags.size() || tags[i] == ',' || tags[i] == '/') {
      result = any ? result || has(cur) : result && has(cur);
      cur.clear();
    } else {
      cur += tags[i];
    }
  }
  return result;
}

std::string refId(const Json& e, const char* field) {
  if (!e.is_object() || !e.contains(field) || !e[field].is_object()) return {};
  return config::stringField(e[field], "id");
}

}  // namespace aigw::admin
