#include "core/json.hpp"

#include <array>
#include <cstring>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include <simdjson.h>
#include <nlohmann/json.hpp>

namespace aigw::json {

int nestingDepth(std::string_view text, int limit) {
  int depth = 0, deepest = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\')
        ++i;
      else if (c == '"')
        in_string = false;
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      if (++depth > deepest && (deepest = depth) >= limit) return deepest;
    } else if (c == '}' || c == ']') {
      --depth;
    }
  }
  return deepest;
}

namespace {

nlohmann::json toDocument(simdjson::dom::element e) {
  using simdjson::dom::element_type;
  switch (e.type()) {
    case element_type::OBJECT: {
      nlohmann::json object = nlohmann::json::object();
      // operator[]: a repeated key ends with its last value, as nlohmann's own parser keeps it.
      // Named copies: value_unsafe() hands out a reference into its temporary result.
      const simdjson::dom::object members = e.get_object().value_unsafe();
      for (auto member : members) object[std::string(member.key)] = toDocument(member.value);
      return object;
    }
    case element_type::ARRAY: {
      nlohmann::json array = nlohmann::json::array();
      const simdjson::dom::array items = e.get_array().value_unsafe();
      array.get_ref<nlohmann::json::array_t&>().reserve(items.size());
      for (auto item : items) array.push_back(toDocument(item));
      return array;
    }
    case element_type::STRING: {
      const std::string_view text = e.get_string().value_unsafe();
      return std::string(text);
    }
    case element_type::INT64:
      return e.get_int64().value_unsafe();
    case element_type::UINT64:
      return e.get_uint64().value_unsafe();
    case element_type::DOUBLE:
      return e.get_double().value_unsafe();
    case element_type::BOOL:
      return e.get_bool().value_unsafe();
    case element_type::NULL_VALUE:
      return nullptr;
  }
  return nullptr;
}

// Request bodies are read with simdjson (validation and parsing at several GB/s) and only then
// built as the document plugins and providers use: nlohmann's own lexer cost ~6 ns a byte,
// more than the rest of a request. A failure is parsed again by nlohmann, whose verdict and
// message stand (numbers simdjson declines, such as integers past 64 bits, included).
bool fastParse(std::string_view text, nlohmann::json& out) {
  thread_local simdjson::dom::parser parser(simdjson::SIMDJSON_MAXSIZE_BYTES);
  thread_local bool sized = false;
  if (!sized) {
    sized = parser.allocate(64 * 1024, kMaxDepth) == simdjson::SUCCESS;
    if (!sized) return false;
  }
  simdjson::dom::element root;
  if (parser.parse(text.data(), text.size()).get(root) != simdjson::SUCCESS) return false;
  out = toDocument(root);
  // A worker keeps its buffers for the next body, but not those a rare huge one needed.
  if (parser.capacity() > 1024 * 1024) {
    parser = simdjson::dom::parser(simdjson::SIMDJSON_MAXSIZE_BYTES);
    sized = false;
  }
  return true;
}

}  // namespace

bool parse(std::string_view text, nlohmann::json& out, std::string* error) {
  if (fastParse(text, out)) return true;
  if (nestingDepth(text) > kMaxDepth) {
    if (error) *error = "JSON nested deeper than " + std::to_string(kMaxDepth) + " levels";
    return false;
  }
  out = nlohmann::json::parse(text, nullptr, false);
  if (out.is_discarded()) {
    if (error) *error = "not valid JSON";
    return false;
  }
  return true;
}

namespace {

// A check of RFC 8259 JSON that builds nothing and converts no number: answers and stream
// events pass through here, and nlohmann's accept() lexes numbers with strtod. Strings must be
// well-formed UTF-8 (as nlohmann requires: no overlong forms, no surrogates, <= U+10FFFF).
// Bytes a string may hold as they are: printable ASCII but the quote and the backslash.
constexpr auto kPlainByte = [] {
  std::array<bool, 256> plain{};
  for (int c = 0x20; c < 0x80; ++c) plain[static_cast<std::size_t>(c)] = c != '"' && c != '\\';
  return plain;
}();

// The first byte at or after `p` that a string may not hold as it is (or `end`). Sixteen bytes
// at a time where SSE2 is there (every x86-64): stream events are mostly string bytes.
const char* skipPlain(const char* p, const char* end) {
#if defined(__SSE2__)
  const __m128i quote = _mm_set1_epi8('"');
  const __m128i backslash = _mm_set1_epi8('\\');
  const __m128i space = _mm_set1_epi8(0x20);
  while (end - p >= 16) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    // Signed: bytes >= 0x80 are negative, so "below a space" takes them with the controls.
    const __m128i special =
        _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, backslash)),
                     _mm_cmplt_epi8(v, space));
    const int mask = _mm_movemask_epi8(special);
    if (mask != 0) return p + __builtin_ctz(static_cast<unsigned>(mask));
    p += 16;
  }
#endif
  while (p < end && kPlainByte[static_cast<unsigned char>(*p)]) ++p;
  return p;
}

class QuickValidator {
 public:
  explicit QuickValidator(std::string_view text, const MemberVisitor* visitor = nullptr)
      : p_(text.data()), end_(p_ + text.size()), visitor_(visitor) {}

  bool valid() {
    skipSpace();
    if (!value(0)) return false;
    skipSpace();
    return p_ == end_;
  }

 private:
  // Providers send compact JSON: the common case is one compare, the loop is out of line.
  [[gnu::always_inline]] void skipSpace() {
    if (p_ < end_ && static_cast<unsigned char>(*p_) <= ' ') skipSpaceLoop();
  }
  [[gnu::noinline]] void skipSpaceLoop() {
    while (p_ < end_ && (*p_ == ' ' || *p_ == '\t' || *p_ == '\n' || *p_ == '\r')) ++p_;
  }
  bool take(char c) {
    if (p_ < end_ && *p_ == c) return ++p_, true;
    return false;
  }
  static bool digit(char c) { return c >= '0' && c <= '9'; }
  static bool hex(char c) { return digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
  template <std::size_t N>
  bool literal(const char (&word)[N]) {
    constexpr std::size_t n = N - 1;  // a compare of a known size, inlined
    if (static_cast<std::size_t>(end_ - p_) < n || std::memcmp(p_, word, n) != 0) return false;
    p_ += n;
    return true;
  }
  bool string() {
    ++p_;  // the opening quote
    while (p_ < end_) {
      p_ = skipPlain(p_, end_);
      if (p_ == end_) return false;
      const auto c = static_cast<unsigned char>(*p_++);
      if (c == '"') return true;
      if (c < 0x20) return false;
      if (c >= 0x80) {
        if (!utf8Tail(c)) return false;
        continue;
      }
      if (c != '\\') continue;
      escaped_ = true;
      if (p_ == end_) return false;
      const char e = *p_++;
      if (e == 'u') {
        // A surrogate escape must come as a high-low pair (nlohmann refuses a lone one).
        const int unit = hex4();
        if (unit < 0 || (unit >= 0xDC00 && unit <= 0xDFFF)) return false;
        if (unit >= 0xD800 && unit <= 0xDBFF) {
          if (!take('\\') || !take('u')) return false;
          const int low = hex4();
          if (low < 0xDC00 || low > 0xDFFF) return false;
        }
      } else if (std::string_view("\"\\/bfnrt").find(e) == std::string_view::npos) {
        return false;
      }
    }
    return false;
  }
  // Four hex digits as a number, or -1.
  int hex4() {
    int v = 0;
    for (int i = 0; i < 4; ++i) {
      if (p_ == end_ || !hex(*p_)) return -1;
      const char c = *p_++;
      v = v * 16 + (digit(c) ? c - '0' : (c | 0x20) - 'a' + 10);
    }
    return v;
  }
  // The rest of a multi-byte UTF-8 sequence whose lead byte was `lead` (Unicode 15, table 3-7).
  bool utf8Tail(unsigned char lead) {
    auto in = [&](unsigned char lo, unsigned char hi) {
      if (p_ == end_) return false;
      const auto b = static_cast<unsigned char>(*p_);
      if (b < lo || b > hi) return false;
      ++p_;
      return true;
    };
    if (lead >= 0xC2 && lead <= 0xDF) return in(0x80, 0xBF);
    if (lead == 0xE0) return in(0xA0, 0xBF) && in(0x80, 0xBF);
    if ((lead >= 0xE1 && lead <= 0xEC) || lead == 0xEE || lead == 0xEF)
      return in(0x80, 0xBF) && in(0x80, 0xBF);
    if (lead == 0xED) return in(0x80, 0x9F) && in(0x80, 0xBF);
    if (lead == 0xF0) return in(0x90, 0xBF) && in(0x80, 0xBF) && in(0x80, 0xBF);
    if (lead >= 0xF1 && lead <= 0xF3) return in(0x80, 0xBF) && in(0x80, 0xBF) && in(0x80, 0xBF);
    if (lead == 0xF4) return in(0x80, 0x8F) && in(0x80, 0xBF) && in(0x80, 0xBF);
    return false;
  }
  bool number() {
    take('-');
    if (take('0')) {
    } else if (p_ < end_ && digit(*p_)) {
      while (p_ < end_ && digit(*p_)) ++p_;
    } else {
      return false;
    }
    if (take('.')) {
      if (p_ == end_ || !digit(*p_)) return false;
      while (p_ < end_ && digit(*p_)) ++p_;
    }
    if (take('e') || take('E')) {
      if (!take('+')) take('-');
      if (p_ == end_ || !digit(*p_)) return false;
      while (p_ < end_ && digit(*p_)) ++p_;
    }
    return true;
  }
  bool value(int depth) {
    if (p_ == end_) return false;
    switch (*p_) {
      case '{': {
        if (depth >= kMaxDepth) return false;
        ++p_;
        skipSpace();
        if (take('}')) return true;
        do {
          skipSpace();
          const char* key = p_;
          escaped_ = false;
          if (p_ == end_ || *p_ != '"' || !string()) return false;
          const bool key_escaped = escaped_;
          const char* key_end = p_;
          skipSpace();
          if (!take(':')) return false;
          skipSpace();
          const char* member_value = p_;
          if (!value(depth + 1)) return false;
          if (depth == 0 && visitor_)
            visitMember(
                std::string_view(key, static_cast<std::size_t>(key_end - key)), key_escaped,
                std::string_view(member_value, static_cast<std::size_t>(p_ - member_value)));
          skipSpace();
        } while (take(','));
        return take('}');
      }
      case '[': {
        if (depth >= kMaxDepth) return false;
        ++p_;
        skipSpace();
        if (take(']')) return true;
        do {
          skipSpace();
          if (!value(depth + 1)) return false;
          skipSpace();
        } while (take(','));
        return take(']');
      }
      case '"':
        return string();
      case 't':
        return literal("true");
      case 'f':
        return literal("false");
      case 'n':
        return literal("null");
      default:
        return number();
    }
  }

  void visitMember(std::string_view key_token, bool escaped, std::string_view value) {
    const std::string_view inner = key_token.substr(1, key_token.size() - 2);
    if (!escaped) return (*visitor_)(inner, value);
    nlohmann::json key;
    if (!parse(key_token, key) || !key.is_string()) return;
    (*visitor_)(key.get_ref<const std::string&>(), value);
  }

  const char* p_;
  const char* end_;
  const MemberVisitor* visitor_;
  bool escaped_ = false;  // the last string() met a backslash
};

}  // namespace

bool isObject(std::string_view text) {
  const auto first = text.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos || text[first] != '{') return false;
  return QuickValidator(text).valid();
}

bool scanObject(std::string_view text, const MemberVisitor& visit) {
  const auto first = text.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos || text[first] != '{') return false;
  return QuickValidator(text, &visit).valid();
}

std::string dump(const nlohmann::json& value) {
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace aigw::json
