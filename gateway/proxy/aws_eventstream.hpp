// The AWS event stream binary framing (application/vnd.amazon.eventstream), as Bedrock's
// ConverseStream sends it:
//   https://docs.aws.amazon.com/transcribe/latest/dg/event-stream.html  (message layout)
//   https://docs.aws.amazon.com/AmazonS3/latest/API/RESTSelectObjectAppendix.html  (header types)
// One message:
//   total length u32 BE | headers length u32 BE | prelude CRC32 (of the 8 bytes before) |
//   headers: name length u8, name, value type u8, value | payload | message CRC32 (of all before)
// The framer is incremental (any split of the bytes gives the same events), checks both CRCs,
// and bounds a message at kMaxEventStreamMessage. An `event` message is handed on with its
// `:event-type` header value as the event name and its payload as the data; an `exception` or
// `error` message ends the stream with an error carrying the exception type and message.
//
// Thread-safety: a framer belongs to one stream and one thread; crc32 is a pure function.
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>

#include "proxy/framing.hpp"

namespace aigw::proxy {

// AWS caps a message's payload at 16 MiB and its headers at 128 KiB.
inline constexpr std::size_t kMaxEventStreamMessage = (16u << 20) + (128u << 10) + 16;

std::unique_ptr<Framer> newAwsEventStreamFramer();

// CRC-32 (IEEE 802.3, reflected, the one zlib computes); `crc` continues a previous value.
std::uint32_t crc32(std::string_view data, std::uint32_t crc = 0);

}  // namespace aigw::proxy
