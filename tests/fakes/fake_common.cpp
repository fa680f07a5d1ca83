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

bool wantsStream(const Json& body, bool fallback) {
  if (!body.is_object() || !body.contains("stream") || !body["stream"].is_boolean()) {
    return fallback;
  }
  return body["stream"].get<bool>();
}

}  // namespace aigw::fake
