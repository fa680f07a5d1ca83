#include <doctest/doctest.h>

#include "admin/multipart.hpp"

using namespace aigw::admin;

TEST_CASE("multipart: curl -F fields and files, in order") {
  CHECK(multipartBoundary("multipart/form-data; boundary=------abc") == "------abc");
  CHECK(multipartBoundary("multipart/form-data; charset=x; boundary=\"q b\"") == "q b");
  CHECK(multipartBoundary("application/json").empty());
  const std::string body =
      "--XyZ\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\nai-proxy\r\n"
      "--XyZ\r\nContent-Disposition: form-data; name=\"config\"; filename=\"kong.yaml\"\r\n"
      "Content-Type: application/octet-stream\r\n\r\n_format_version: \"3.0\"\r\nroutes: []\n"
      "\r\n--XyZ--\r\n";
  auto parts = parseMultipart(body, "XyZ");
  REQUIRE_MESSAGE(parts, parts.error());
  REQUIRE(parts->size() == 2);
  CHECK((*parts)[0].name == "name");
  CHECK((*parts)[0].content == "ai-proxy");
  CHECK((*parts)[1].name == "config");
  CHECK((*parts)[1].filename == "kong.yaml");
  CHECK((*parts)[1].content == "_format_version: \"3.0\"\r\nroutes: []\n");
}

TEST_CASE("multipart: malformed bodies are errors, never a crash") {
  const char* bad[] = {"",
                       "--XyZ",
                       "--XyZ\r\n",
                       "--XyZ\r\nContent-Disposition: form-data\r\n\r\nx",
                       "--XyZ\r\nno colon\r\n\r\nx\r\n--XyZ--",
                       "--XyZ\r\nContent-Disposition: form-data\r\n\r\nx\r\n--XyZ--",
                       "--XyZ garbage"};
  for (const char* b : bad) {
    CAPTURE(b);
    CHECK_FALSE(parseMultipart(b, "XyZ"));
  }
  CHECK_FALSE(parseMultipart("x", ""));
  std::string many;
  for (int i = 0; i < 1001; ++i)
    many += "--B\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nv\r\n";
  many += "--B--";
  auto r = parseMultipart(many, "B");
  REQUIRE_FALSE(r);
  CHECK(r.error() == "more than 1000 multipart parts");
}
