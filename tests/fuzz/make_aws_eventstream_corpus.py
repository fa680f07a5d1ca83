#!/usr/bin/env python3
"""Writes the seed corpus for fuzz_aws_eventstream (and for the unit test that replays it).

Files named ok-* are well-formed ConverseStream bodies that must decode to a complete answer;
err-* must be refused (by the framer or by the decoder), never crash. Run from anywhere:
    python3 tests/fuzz/make_aws_eventstream_corpus.py
"""
import base64
import json
import os
import struct
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "aws_eventstream_corpus")
KONG = os.path.join(HERE, "..", "fixtures", "kong")


def header(name, type_, value=b""):
    n = name.encode()
    return bytes([len(n)]) + n + bytes([type_]) + value


def string_header(name, value):
    v = value.encode()
    return header(name, 7, struct.pack(">H", len(v)) + v)


def message(headers, payload):
    total = 12 + len(headers) + len(payload) + 4
    prelude = struct.pack(">II", total, len(headers))
    prelude += struct.pack(">I", zlib.crc32(prelude))
    body = prelude + headers + payload
    return body + struct.pack(">I", zlib.crc32(body))


def event(event_type, payload):
    h = (string_header(":event-type", event_type) +
         string_header(":content-type", "application/json") +
         string_header(":message-type", "event"))
    return message(h, json.dumps(payload, separators=(",", ":")).encode())


def text_answer(text="Hello there"):
    return (event("messageStart", {"role": "assistant"}) +
            event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": text}}) +
            event("contentBlockStop", {"contentBlockIndex": 0}) +
            event("messageStop", {"stopReason": "end_turn"}) +
            event("metadata", {"usage": {"inputTokens": 3, "outputTokens": 2, "totalTokens": 5},
                               "metrics": {"latencyMs": 1}}))


def write(name, data):
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)


def main():
    os.makedirs(OUT, exist_ok=True)
    kong_tool = b"".join(
        base64.b64decode(open(os.path.join(KONG, "bedrock", "chunks", f"chunk-{i}.txt")).read())
        for i in (1, 2, 3))
    write("ok-kong-tool-call.bin", kong_tool)
    write("ok-kong-text.bin", open(os.path.join(
        KONG, "unit", "streaming-chunk-formats", "aws", "input.bin"), "rb").read())
    write("ok-text.bin", text_answer())
    # Every header value type, before the usual :event-type header.
    all_types = (header("t", 0) + header("f", 1) + header("b", 2, b"\x7f") +
                 header("s", 3, b"\x00\x01") + header("i", 4, b"\x00\x00\x00\x01") +
                 header("l", 5, b"\x00" * 8) + header("y", 6, b"\x00\x02ab") +
                 header("ts", 8, b"\x00" * 8) + header("u", 9, b"\x11" * 16) +
                 string_header(":event-type", "messageStart") +
                 string_header(":message-type", "event"))
    write("ok-all-header-types.bin", message(all_types, b'{"role":"assistant"}') +
          event("messageStop", {"stopReason": "max_tokens"}))
    good = text_answer()
    broken = bytearray(good)
    broken[9] ^= 0xFF  # prelude CRC
    write("err-prelude-crc.bin", bytes(broken))
    broken = bytearray(good)
    broken[40] ^= 0x01  # inside the first message's headers: message CRC
    write("err-message-crc.bin", bytes(broken))
    write("err-truncated.bin", good[: len(good) - 7])
    huge = struct.pack(">II", 1 << 30, 0)
    write("err-huge-length.bin", huge + struct.pack(">I", zlib.crc32(huge)) + b"\x00" * 32)
    write("err-bad-header-type.bin", message(header("x", 42, b"zz"), b"{}"))
    bad_len = struct.pack(">II", 32, 100)
    write("err-headers-overflow.bin",
          bad_len + struct.pack(">I", zlib.crc32(bad_len)) + b"\x00" * 20)
    exc = (string_header(":exception-type", "throttlingException") +
           string_header(":content-type", "application/json") +
           string_header(":message-type", "exception"))
    write("err-exception.bin", event("messageStart", {"role": "assistant"}) +
          message(exc, b'{"message":"Too many requests, please wait before trying again."}'))
    write("err-no-message-stop.bin", good[: good.find(event("contentBlockStop",
                                                             {"contentBlockIndex": 0}))])
    write("err-not-json.bin", message(string_header(":event-type", "contentBlockDelta") +
                                      string_header(":message-type", "event"), b"not json"))
    write("err-unknown-tool-block.bin", event("messageStart", {"role": "assistant"}) +
          event("contentBlockDelta", {"contentBlockIndex": 4,
                                      "delta": {"toolUse": {"input": "{}"}}}))


if __name__ == "__main__":
    main()
