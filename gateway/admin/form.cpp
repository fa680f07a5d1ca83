#include "admin/form.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <numeric>

namespace aigw::admin {

namespace {

using Json = nlohmann::json;

struct Segment {
  enum class Type { Key, Index, Append } type;  // order matters: see before()
  std::string key;                              // Key
  std::size_t index = 0;                        // Index, 1-based as written
};

// Index digits beyond this many are refused before any arithmetic (no overflow, no trust).
constexpr std::size_t kMaxIndexDigits = 6;

bool validUtf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    const std::size_t n = (c >> 5) == 0x6 ? 1 : (c >> 4) == 0xE ? 2 : (c >> 3) == 0x1E ? 3 : 0;
    if (n == 0 || c == 0xC0 || c == 0xC1 || c > 0xF4 || i + n >= s.size()) return false;
    for (std::size_t k = 1; k <= n; ++k)
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
    const auto c1 = static_cast<unsigned char>(s[i + 1]);
    if ((c == 0xE0 && c1 < 0xA0) || (c == 0xED && c1 > 0x9F) || (c == 0xF0 && c1 < 0x90) ||
        (c == 0xF4 && c1 > 0x8F))
      return false;  // overlong, surrogate or beyond U+10FFFF
    i += n + 1;
  }
  return true;
}

std::string keyError(std::string_view key, const std::string& why) {
  return "invalid form key \"" + shortKey(key) + "\": " + why;
}

// "a.b[c][1][]" -> segments; the error (naming the key) when the syntax is wrong.
Result<std::vector<Segment>> splitKey(std::string_view key, const FormLimits& limits) {
  using R = Result<std::vector<Segment>>;
  if (key.empty()) return R::failure("invalid form key \"\": a key cannot be empty");
  if (key.size() > limits.max_key_bytes)
    return R::failure(
        keyError(key, "longer than " + std::to_string(limits.max_key_bytes) + " bytes"));
  std::vector<Segment> out;
  std::size_t i = 0;
  auto name = [&](std::size_t from, std::size_t to) {
    return std::string(key.substr(from, to - from));
  };
  // The first segment is a plain name.
  const std::size_t first_end = key.find_first_of(".[]");
  if (first_end == 0)
    return R::failure(keyError(key, "expected a name before \"" + std::string(1, key[0]) + "\""));
  out.push_back({Segment::Type::Key, name(0, std::min(first_end, key.size())), 0});
  i = first_end == std::string_view::npos ? key.size() : first_end;
  while (i < key.size()) {
    if (out.back().type == Segment::Type::Append)
      return R::failure(keyError(key, "[] (append) must end the key"));
    if (out.size() >= limits.max_depth)
      return R::failure(
          keyError(key, "nested deeper than " + std::to_string(limits.max_depth) + " levels"));
    const char c = key[i];
    if (c == ']') return R::failure(keyError(key, "\"]\" without \"[\""));
    if (c == '.') {
      const std::size_t end = std::min(key.find_first_of(".[]", i + 1), key.size());
      if (end == i + 1) return R::failure(keyError(key, "empty name after \".\""));
      out.push_back({Segment::Type::Key, name(i + 1, end), 0});
      i = end;
      continue;
    }
    // '['
    const std::size_t close = key.find_first_of("[]", i + 1);
    if (close == std::string_view::npos || key[close] == '[')
      return R::failure(keyError(key, "\"[\" without \"]\""));
    const std::string_view inner = key.substr(i + 1, close - i - 1);
    if (inner.empty()) {
      out.push_back({Segment::Type::Append, {}, 0});
    } else if (inner.find_first_not_of("0123456789") == std::string_view::npos) {
      if (inner.size() > kMaxIndexDigits)
        return R::failure(keyError(
            key, "index " + std::string(inner.substr(0, kMaxIndexDigits)) + "... is too large"));
      const std::size_t index = std::stoul(std::string(inner));
      if (index == 0) return R::failure(keyError(key, "indices start at 1, as in Kong"));
      out.push_back({Segment::Type::Index, {}, index});
    } else {
      out.push_back({Segment::Type::Key, std::string(inner), 0});  // a[foo.bar]: one map key
    }
    i = close + 1;
    if (i < key.size() && key[i] != '.' && key[i] != '[')
      return R::failure(keyError(key, "expected \".\" or \"[\" after \"]\""));
    if (i + 1 == key.size() && key[i] == '.')
      return R::failure(keyError(key, "empty name after \".\""));
  }
  return out;
}

// Orders keys so that indices are filled in ascending order whatever order the client sent
// them in (multipart bodies arrive sorted by name, so "x[10]" would come before "x[2]").
bool before(const std::vector<Segment>& a, const std::vector<Segment>& b) {
  const std::size_t n = std::min(a.size(), b.size());
  for (std::size_t i = 0; i < n; ++i) {
    if (a[i].type != b[i].type) return a[i].type < b[i].type;
    if (a[i].type == Segment::Type::Key && a[i].key != b[i].key) return a[i].key < b[i].key;
    if (a[i].type == Segment::Type::Index && a[i].index != b[i].index)
      return a[i].index < b[i].index;
  }
  return a.size() < b.size();
}

const char* kindOf(const Json& node) {
  return node.is_object() ? "an object" : node.is_array() ? "an array" : "a value";
}

// Places one value; every step checks the node's type, nothing is sized by an index.
Status place(Json& root, const std::vector<Segment>& segments, std::string_view key,
             const std::string& value) {
  Json* node = &root;
  for (std::size_t i = 0; i < segments.size(); ++i) {
    const Segment& s = segments[i];
    const bool leaf = i + 1 == segments.size();
    switch (s.type) {
      case Segment::Type::Key: {
        if (node->is_null()) *node = Json::object();
        if (!node->is_object())
          return Status::error(
              keyError(key, "is used both as " + std::string(kindOf(*node)) + " and as an object"));
        Json& child = (*node)[s.key];
        if (!leaf) {
          node = &child;
          break;
        }
        if (child.is_null()) {
          child = value;
        } else if (child.is_string()) {
          child = Json::array({child, value});  // a repeated key collects its values
        } else if (child.is_array() && std::all_of(child.begin(), child.end(),
                                                   [](const Json& e) { return e.is_string(); })) {
          child.push_back(value);
        } else {
          return Status::error(
              keyError(key, "is used both as " + std::string(kindOf(child)) + " and as a value"));
        }
        return {};
      }
      case Segment::Type::Index:
      case Segment::Type::Append: {
        if (node->is_null()) *node = Json::array();
        if (!node->is_array())
          return Status::error(
              keyError(key, "is used both as " + std::string(kindOf(*node)) + " and as an array"));
        const std::size_t next = node->size() + 1;  // the next free slot, 1-based
        const std::size_t index = s.type == Segment::Type::Append ? next : s.index;
        if (index > next)
          return Status::error(keyError(key, "index " + std::to_string(index) +
                                                 " is beyond the next free slot (" +
                                                 std::to_string(next) + ")"));
        if (index == next) node->push_back(nullptr);
        Json& child = (*node)[index - 1];
        if (!leaf) {
          node = &child;
          break;
        }
        if (!child.is_null())
          return Status::error(keyError(
              key, child.is_string()
                       ? "is given more than once"
                       : "is used both as " + std::string(kindOf(child)) + " and as a value"));
        child = value;
        return {};
      }
    }
  }
  return {};
}

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string percentDecode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out += ' ';
    } else if (s[i] == '%' && i + 2 < s.size() && hexValue(s[i + 1]) >= 0 &&
               hexValue(s[i + 2]) >= 0) {
      out += static_cast<char>(hexValue(s[i + 1]) * 16 + hexValue(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

}  // namespace

std::string shortKey(std::string_view key) {
  std::string out;
  for (std::size_t i = 0; i < key.size() && out.size() < 64; ++i) {
    const auto c = static_cast<unsigned char>(key[i]);
    if (c < 0x20 || c == 0x7F || c == '"' || c == '\\' || c >= 0x80) {
      static const char* hex = "0123456789abcdef";
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 0xF];
    } else {
      out += static_cast<char>(c);
    }
  }
  if (out.size() >= 64 && key.size() > 64) out += "...";
  return out;
}

Result<FormFields> parseUrlEncoded(std::string_view body, const FormLimits& limits) {
  using R = Result<FormFields>;
  if (body.size() > limits.max_total_bytes)
    return R::failure("form body larger than " + std::to_string(limits.max_total_bytes) + " bytes");
  FormFields out;
  std::size_t pos = 0;
  while (pos <= body.size()) {
    std::size_t amp = body.find('&', pos);
    if (amp == std::string_view::npos) amp = body.size();
    const std::string_view pair = body.substr(pos, amp - pos);
    pos = amp + 1;
    if (pair.empty()) continue;
    if (out.size() >= limits.max_fields)
      return R::failure("more than " + std::to_string(limits.max_fields) + " form fields");
    const std::size_t eq = pair.find('=');
    out.emplace_back(percentDecode(pair.substr(0, eq)), eq == std::string_view::npos
                                                            ? std::string()
                                                            : percentDecode(pair.substr(eq + 1)));
  }
  return out;
}

Result<Json> formFieldsToJson(const FormFields& fields, const FormLimits& limits) {
  using R = Result<Json>;
  if (fields.size() > limits.max_fields)
    return R::failure("more than " + std::to_string(limits.max_fields) + " form fields");
  std::size_t total = 0;
  std::vector<std::vector<Segment>> parsed;
  parsed.reserve(fields.size());
  for (const auto& [key, value] : fields) {
    total += key.size() + value.size();
    if (total > limits.max_total_bytes)
      return R::failure("form body larger than " + std::to_string(limits.max_total_bytes) +
                        " bytes");
    if (!validUtf8(key)) return R::failure(keyError(key, "not valid UTF-8"));
    if (!validUtf8(value)) return R::failure(keyError(key, "its value is not valid UTF-8"));
    auto segments = splitKey(key, limits);
    if (!segments) return R::failure(segments.error());
    parsed.push_back(std::move(*segments));
  }
  std::vector<std::size_t> order(fields.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return before(parsed[a], parsed[b]); });
  Json out = Json::object();
  for (std::size_t i : order)
    if (Status s = place(out, parsed[i], fields[i].first, fields[i].second); !s)
      return R::failure(s.message());
  return out;
}

}  // namespace aigw::admin
