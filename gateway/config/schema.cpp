#include "config/schema.hpp"

#include <algorithm>
#include <cmath>

namespace aigw::config {

const Field* Schema::find(const std::string& name) const {
  for (const auto& f : fields)
    if (f.name == name) return &f;
  return nullptr;
}

std::string joinList(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& s : items) {
    if (!out.empty()) out += ", ";
    out += s;
  }
  return out;
}

static std::size_t editDistance(const std::string& a, const std::string& b) {
  std::vector<std::size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      cur[j] =
          std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::string closestMatch(const std::string& word, const std::vector<std::string>& candidates) {
  std::string best;
  std::size_t best_d = std::max<std::size_t>(2, word.size() / 3) + 1;
  for (const auto& c : candidates) {
    auto d = editDistance(word, c);
    if (d < best_d) best_d = d, best = c;
  }
  return best;
}

static const char* typeName(FieldType t) {
  switch (t) {
    case FieldType::String:
      return "a string";
    case FieldType::Integer:
      return "an integer";
    case FieldType::Number:
      return "a number";
    case FieldType::Boolean:
      return "a boolean";
    case FieldType::Record:
      return "a record (object)";
    case FieldType::Array:
      return "an array";
    case FieldType::Map:
      return "a map (object)";
    case FieldType::Any:
      return "a value";
  }
  return "a value";
}

static nlohmann::json validateValue(const nlohmann::json& v, FieldType type, const Field& f,
                                    const std::string& path, ConfigErrors& errors);

static bool typeMatches(const nlohmann::json& v, FieldType type) {
  switch (type) {
    case FieldType::String:
      return v.is_string();
    case FieldType::Integer:
      return v.is_number_integer() ||
             (v.is_number_float() && std::floor(v.get<double>()) == v.get<double>());
    case FieldType::Number:
      return v.is_number();
    case FieldType::Boolean:
      return v.is_boolean();
    case FieldType::Record:
    case FieldType::Map:
      return v.is_object();
    case FieldType::Array:
      return v.is_array();
    case FieldType::Any:
      return true;
  }
  return false;
}

static nlohmann::json validateValue(const nlohmann::json& v, FieldType type, const Field& f,
                                    const std::string& path, ConfigErrors& errors) {
  if (!typeMatches(v, type)) {
    errors.add(path, std::string("expected ") + typeName(type));
    return nullptr;
  }
  switch (type) {
    case FieldType::String: {
      if (f.len_min || f.len_max) {
        const auto& s = v.get_ref<const std::string&>();
        std::size_t chars = 0;
        for (char c : s) chars += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
        if (f.len_min && chars < *f.len_min)
          errors.add(path, "length must be at least " + std::to_string(*f.len_min));
        else if (f.len_max && chars > *f.len_max)
          errors.add(path, "length must be at most " + std::to_string(*f.len_max));
      }
      if (!f.one_of.empty()) {
        const auto& s = v.get_ref<const std::string&>();
        if (std::find(f.one_of.begin(), f.one_of.end(), s) == f.one_of.end()) {
          std::string msg = "expected one of: " + joinList(f.one_of);
          auto near = closestMatch(s, f.one_of);
          if (!near.empty()) msg += " (did you mean \"" + near + "\"?)";
          const std::string what = f.noun.empty() ? "invalid value" : "unknown " + f.noun;
          errors.add(path, (f.secret ? what + "; " : what + " \"" + s + "\"; ") + msg);
        }
      }
      return v;
    }
    case FieldType::Integer:
    case FieldType::Number: {
      const double d = v.get<double>();
      if ((f.min && d < *f.min) || (f.max && d > *f.max)) {
        auto fmt = [](double x) {
          std::string s = std::to_string(x);
          s.erase(s.find_last_not_of('0') + 1);
          if (!s.empty() && s.back() == '.') s.pop_back();
          return s;
        };
        errors.add(path, "value must be between " + (f.min ? fmt(*f.min) : std::string("-inf")) +
                             " and " + (f.max ? fmt(*f.max) : std::string("inf")));
      }
      if (type == FieldType::Integer) {
        if (d > 9e18 || d < -9e18) {
          errors.add(path, "value out of range");
          return nullptr;
        }
        return nlohmann::json(static_cast<long long>(d));
      }
      return v;
    }
    case FieldType::Record:
      return f.record ? validate(v, *f.record, path, errors) : v;
    case FieldType::Array: {
      nlohmann::json out = nlohmann::json::array();
      Field elem = f;
      elem.min.reset();
      elem.max.reset();
      for (std::size_t i = 0; i < v.size(); ++i)
        if (auto e = validateValue(v[i], f.element, elem, indexPath(path, i), errors); !e.is_null())
          out.push_back(std::move(e));
      if (f.min && v.size() < static_cast<std::size_t>(*f.min))
        errors.add(path, "length must be at least " + std::to_string(static_cast<int>(*f.min)));
      if (f.max && v.size() > static_cast<std::size_t>(*f.max))
        errors.add(path, "length must be at most " + std::to_string(static_cast<int>(*f.max)));
      return out;
    }
    case FieldType::Map: {
      nlohmann::json out = nlohmann::json::object();
      for (auto it = v.begin(); it != v.end(); ++it)
        if (auto e = validateValue(it.value(), f.element, f, joinPath(path, it.key()), errors);
            !e.is_null())
          out[it.key()] = std::move(e);
      return out;
    }
    case FieldType::Boolean:
    case FieldType::Any:
      return v;
  }
  return v;
}

nlohmann::json validate(const nlohmann::json& value, const Schema& schema, const std::string& path,
                        ConfigErrors& errors) {
  nlohmann::json out = nlohmann::json::object();
  if (!value.is_object()) {
    errors.add(path, "expected a record (object)");
    return out;
  }
  std::vector<std::string> names;
  for (const auto& f : schema.fields) names.push_back(f.name);
  for (auto it = value.begin(); it != value.end(); ++it) {
    if (!schema.find(it.key())) {
      std::string msg = "unknown field";
      auto near = closestMatch(it.key(), names);
      if (!near.empty()) msg += " (did you mean \"" + near + "\"?)";
      errors.add(joinPath(path, it.key()), msg);
    }
  }
  for (const auto& f : schema.fields) {
    auto it = value.find(f.name);
    const std::string field_path = joinPath(path, f.name);
    if (it == value.end() || it->is_null()) {
      if (f.required && f.default_value.is_null()) {
        errors.add(field_path, "required field missing");
      } else if (!f.default_value.is_null()) {
        out[f.name] = f.default_value;
      } else if (f.type == FieldType::Record && f.record) {
        // Kong fills nested records' defaults even when the record itself is absent.
        ConfigErrors ignored;
        auto nested = validate(nlohmann::json::object(), *f.record, field_path, ignored);
        bool has_required = false;
        for (const auto& nf : f.record->fields)
          has_required |= nf.required && nf.default_value.is_null();
        if (!has_required) out[f.name] = nested;
      }
      continue;
    }
    // A value of the wrong type is reported and left out of the result, so that code reading
    // the normalised object (plugins' create()) only ever sees the schema's types.
    if (auto r = validateValue(*it, f.type, f, field_path, errors); !r.is_null())
      out[f.name] = std::move(r);
  }
  return out;
}

}  // namespace aigw::config
