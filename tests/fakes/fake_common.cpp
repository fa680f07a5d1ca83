// Helpers shared by the dialects of the fake provider.
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <string>
#include <vector>

#include "fake_common.hpp"

namespace aigw::fake {

std::string contentText(const Json& content) {
  if (content.is_string()) return content.get<std::string>();
  std::string text;
  if (!content.is_array()) return text;
  for (const auto& part : content) {
    if (part.is_object() && part.value("type", "") == "text" && part.contains("text") &&
        part["text"].is_string()) {
      if (!text.empty()) text += " ";
      text += part["text"].get<std::string>();
    }
  }
  return text;
}

std::string lastUserText(const Json& messages) {
  if (!messages.is_array()) return "";
  for (auto it = messages.rbegin(); it != messages.rend(); ++it) {
    if (it->is_object() && it->value("role", "") == "user") {
      return contentText(it->value("content", Json()));
    }
  }
  return "";
}

std::string answerFor(std::string_view dialect, const std::string& prompt) {
  return "Hello from fake " + std::string(dialect) + ": " + prompt;
}

std::vector<std::string> streamPieces(const std::string& answer) {
  std::vector<std::string> pieces;
  std::size_t start = 0;
  for (std::size_t i = 1; i < answer.size(); ++i) {
    // A piece ends where a run of spaces begins, so each word carries its leading spaces.
    if (std::isspace(static_cast<unsigned char>(answer[i])) &&
        !std::isspace(static_cast<unsigned char>(answer[i - 1]))) {
      pieces.push_back(answer.substr(start, i - start));
      start = i;
    }
  }
  if (start < answer.size()) pieces.push_back(answer.substr(start));
  return pieces;
}

int countWords(const std::string& text) {
  int words = 0;
  bool in_word = false;
  for (unsigned char c : text) {
    const bool space = std::isspace(c);
    if (!space && !in_word) ++words;
    in_word = !space;
  }
  return words;
}

int countPromptWords(const Json& messages) {
  int words = 0;
  if (!messages.is_array()) return words;
  for (const auto& m : messages) {
    if (m.is_object()) words += countWords(contentText(m.value("content", Json())));
  }
  return words;
}

std::vector<double> fakeEmbedding(const std::string& text) {
  std::uint64_t h = 1469598103934665603ULL;  // FNV-1a: stable across runs and platforms
  for (unsigned char c : text) h = (h ^ c) * 1099511628211ULL;
  std::vector<double> v(8);
  for (std::size_t i = 0; i < v.size(); ++i) {
    h = h * 6364136223846793005ULL + 1442695040888963407ULL;
    v[i] =
        std::round((static_cast<double>(h >> 40) / static_cast<double>(1ULL << 24) - 0.5) * 2e6) /
        1e6;
  }
  return v;
}

std::int64_t unixSeconds() {
  return static_cast<std::int64_t>(std::time(nullptr));
}

std::string rfc3339Now() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string newId(std::string_view prefix) {
  static std::atomic<std::uint64_t> counter{0};
  char buf[32];
  std::snprintf(buf, sizeof buf, "%08x%06llx", static_cast<unsigned>(::getpid()),
                static_cast<unsigned long long>(++counter));
  return std::string(prefix) + buf;
}

std::string Call::header(std::string_view lower_name) const {
  for (const auto& [name, value] : headers)
    if (name == lower_name) return value;
  return "";
}

std::string Call::queryParam(std::string_view name) const {
  std::string_view rest = query;
  while (!rest.empty()) {
    const auto amp = rest.find('&');
    const std::string_view pair = rest.substr(0, amp);
    const auto eq = pair.find('=');
    if (pair.substr(0, eq) == name)
      return std::string(eq == std::string_view::npos ? "" : pair.substr(eq + 1));
    if (amp == std::string_view::npos) break;
    rest.remove_prefix(amp + 1);
  }
  return "";
}

namespace {

std::vector<std::string_view> segments(std::string_view path) {
  std::vector<std::string_view> out;
  while (!path.empty()) {
    if (path.front() != '/') return {};  // not an absolute path: matches nothing
    path.remove_prefix(1);
    const auto slash = path.find('/');
    out.push_back(path.substr(0, slash));
    path = slash == std::string_view::npos ? std::string_view() : path.substr(slash);
  }
  return out;
}

bool segmentMatches(std::string_view pattern, std::string_view segment) {
  if (segment.empty()) return false;
  if (pattern == "{}") return true;
  if (pattern.substr(0, 2) == "{}") {  // "{}:verb"
    const std::string_view suffix = pattern.substr(2);
    return segment.size() > suffix.size() &&
           segment.substr(segment.size() - suffix.size()) == suffix;
  }
  return pattern == segment;
}

bool matchFrom(const std::vector<std::string_view>& p, std::size_t i,
               const std::vector<std::string_view>& s, std::size_t j) {
  if (i == p.size()) return j == s.size();
  if (p[i] == "{**}") {
    for (std::size_t k = j + 1; k <= s.size(); ++k) {
      bool nonempty = true;
      for (std::size_t m = j; m < k; ++m) nonempty = nonempty && !s[m].empty();
      if (nonempty && matchFrom(p, i + 1, s, k)) return true;
    }
    return false;
  }
  return j < s.size() && segmentMatches(p[i], s[j]) && matchFrom(p, i + 1, s, j + 1);
}

}  // namespace

bool pathMatches(std::string_view pattern, std::string_view path) {
  const auto p = segments(pattern), s = segments(path);
  return !p.empty() && matchFrom(p, 0, s, 0);
}

std::string bearerToken(const std::string& authorization) {
  constexpr std::string_view kBearer = "Bearer ";
  if (authorization.size() <= kBearer.size() ||
      authorization.compare(0, kBearer.size(), kBearer) != 0)
    return "";
  return authorization.substr(kBearer.size());
}

std::optional<AuthFailure> checkKey(const std::string& key, const std::string& missing,
                                    const std::string& wrong) {
  if (key.empty()) return AuthFailure{401, missing};
  if (key.find(kWrongKeyMarker) != std::string::npos) return AuthFailure{401, wrong};
  return std::nullopt;
}

bool wantsStream(const Json& body, bool fallback) {
  if (!body.is_object() || !body.contains("stream") || !body["stream"].is_boolean()) {
    return fallback;
  }
  return body["stream"].get<bool>();
}

}  // namespace aigw::fake
