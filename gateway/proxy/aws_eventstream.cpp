// AWS event stream framer (see aws_eventstream.hpp for the layout and its doc links).
// CRC-32 is computed here rather than taken from zlib: the table is 1 KiB, and aigw_core then
// needs no extra library on its link line.
#include "proxy/aws_eventstream.hpp"

#include <array>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "core/json.hpp"

namespace aigw::proxy {

namespace {

constexpr std::array<std::uint32_t, 256> makeCrcTable() {
  std::array<std::uint32_t, 256> table{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    table[i] = c;
  }
  return table;
}

constexpr auto kCrcTable = makeCrcTable();

constexpr std::size_t kPreludeBytes = 12;  // total length, headers length, prelude CRC
constexpr std::size_t kMinMessage = kPreludeBytes + 4;

std::uint32_t readU32(const char* p) {
  const auto* u = reinterpret_cast<const unsigned char*>(p);
  return (std::uint32_t{u[0]} << 24) | (std::uint32_t{u[1]} << 16) | (std::uint32_t{u[2]} << 8) |
         std::uint32_t{u[3]};
}

std::uint16_t readU16(const char* p) {
  const auto* u = reinterpret_cast<const unsigned char*>(p);
  return static_cast<std::uint16_t>((u[0] << 8) | u[1]);
}

// The string-valued headers a message carries that we care about.
struct Headers {
  std::optional<std::string_view> message_type, event_type, exception_type, error_code,
      error_message;
};

// Header value types: https://docs.aws.amazon.com/AmazonS3/latest/API/RESTSelectObjectAppendix.html
// 0 true, 1 false (no value), 2 byte, 3 short, 4 int, 5 long, 6 byte array (u16 length),
// 7 string (u16 length), 8 timestamp (8 bytes), 9 UUID (16 bytes).
Status parseHeaders(std::string_view h, Headers& out) {
  std::size_t i = 0;
  while (i < h.size()) {
    const std::size_t name_len = static_cast<unsigned char>(h[i++]);
    if (name_len == 0 || h.size() - i < name_len + 1)
      return Status::error("upstream event stream message has a malformed header");
    const std::string_view name = h.substr(i, name_len);
    i += name_len;
    const int type = static_cast<unsigned char>(h[i++]);
    std::size_t fixed = 0;
    switch (type) {
      case 0:
      case 1:
        fixed = 0;
        break;
      case 2:
        fixed = 1;
        break;
      case 3:
        fixed = 2;
        break;
      case 4:
        fixed = 4;
        break;
      case 5:
      case 8:
        fixed = 8;
        break;
      case 9:
        fixed = 16;
        break;
      case 6:
      case 7: {
        if (h.size() - i < 2)
          return Status::error("upstream event stream message has a malformed header");
        const std::size_t len = readU16(h.data() + i);
        i += 2;
        if (h.size() - i < len)
          return Status::error("upstream event stream message has a malformed header");
        if (type == 7) {
          const std::string_view value = h.substr(i, len);
          if (name == ":message-type")
            out.message_type = value;
          else if (name == ":event-type")
            out.event_type = value;
          else if (name == ":exception-type")
            out.exception_type = value;
          else if (name == ":error-code")
            out.error_code = value;
          else if (name == ":error-message")
            out.error_message = value;
        }
        i += len;
        continue;
      }
      default:
        return Status::error("upstream event stream message has a header of unknown type " +
                             std::to_string(type));
    }
    if (h.size() - i < fixed)
      return Status::error("upstream event stream message has a malformed header");
    i += fixed;
  }
  return {};
}

// The text of an exception payload: {"message": "..."} (or "Message"), else the bytes.
std::string exceptionMessage(std::string_view payload) {
  nlohmann::json doc;
  if (json::parse(payload, doc) && doc.is_object()) {
    for (const char* key : {"message", "Message"}) {
      auto it = doc.find(key);
      if (it != doc.end() && it->is_string()) return it->get<std::string>();
    }
  }
  std::string text(payload.substr(0, 500));
  for (auto& c : text)
    if (static_cast<unsigned char>(c) < 0x20) c = ' ';
  return text;
}

class AwsEventStreamFramer : public Framer {
 public:
  Status feed(std::string_view bytes, const EventCallback& on_event) override {
    buf_.append(bytes);
    while (buf_.size() - pos_ >= kPreludeBytes) {
      const char* p = buf_.data() + pos_;
      const std::uint32_t total = readU32(p);
      const std::uint32_t headers_len = readU32(p + 4);
      // The prelude is checked before waiting for the rest, so garbage is refused at once
      // instead of being buffered up to the size it claims.
      if (crc32(std::string_view(p, 8)) != readU32(p + 8))
        return Status::error("upstream event stream prelude CRC mismatch");
      if (total < kMinMessage || total > kMaxEventStreamMessage)
        return Status::error("upstream event stream message length " + std::to_string(total) +
                             " is out of bounds");
      if (headers_len > total - kMinMessage)
        return Status::error("upstream event stream headers length exceeds the message");
      if (buf_.size() - pos_ < total) break;
      const std::string_view message(p, total);
      if (crc32(message.substr(0, total - 4)) != readU32(p + total - 4))
        return Status::error("upstream event stream message CRC mismatch");
      pos_ += total;
      Headers headers;
      if (Status s = parseHeaders(message.substr(kPreludeBytes, headers_len), headers); !s)
        return s;
      const std::string_view payload =
          message.substr(kPreludeBytes + headers_len, total - kMinMessage - headers_len);
      if (Status s = dispatch(headers, payload, on_event); !s) return s;
    }
    if (pos_ > 0 && pos_ >= buf_.size() / 2) {
      buf_.erase(0, pos_);
      pos_ = 0;
    }
    return {};
  }

  Status finish(const EventCallback&) override {
    if (pos_ < buf_.size())
      return Status::error("upstream event stream ended in the middle of a message");
    return {};
  }

 private:
  static Status dispatch(const Headers& h, std::string_view payload,
                         const EventCallback& on_event) {
    const std::string_view type = h.message_type.value_or("event");
    if (type == "event") {
      if (!h.event_type)
        return Status::error("upstream event stream event has no :event-type header");
      return on_event(*h.event_type, payload);
    }
    if (type == "exception") {
      return Status::error(
          "upstream error mid-stream: " + std::string(h.exception_type.value_or("exception")) +
          ": " + exceptionMessage(payload));
    }
    if (type == "error") {
      const std::string message =
          h.error_message ? std::string(*h.error_message) : exceptionMessage(payload);
      return Status::error("upstream error mid-stream: " +
                           std::string(h.error_code.value_or("error")) + ": " + message);
    }
    return {};  // other message types carry nothing for us
  }

  std::string buf_;
  std::size_t pos_ = 0;
};

}  // namespace

std::uint32_t crc32(std::string_view data, std::uint32_t crc) {
  crc = ~crc;
  for (unsigned char c : data) crc = kCrcTable[(crc ^ c) & 0xff] ^ (crc >> 8);
  return ~crc;
}

std::unique_ptr<Framer> newAwsEventStreamFramer() {
  return std::make_unique<AwsEventStreamFramer>();
}

}  // namespace aigw::proxy
