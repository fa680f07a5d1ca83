// SigV4 against AWS's published test suite ("aws-sig-v4-test-suite",
// https://docs.aws.amazon.com/general/latest/gr/signature-v4-test-suite.html; the same vectors
// ship in awslabs/aws-c-auth tests/aws-signing-test-suite/v4). Every vector checks the three
// stages: canonical request, string to sign and signature. The suite's fixed context: key
// AKIDEXAMPLE / wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY, region us-east-1, service "service",
// time 20150830T123600Z.
#include <doctest/doctest.h>

#include <chrono>

#include "providers/sigv4.hpp"

using namespace aigw::providers::sigv4;

namespace {

const Credentials kSuite{"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", ""};
const char* kEmptyHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

// 2015-08-30T12:36:00Z
std::chrono::system_clock::time_point suiteTime() {
  return std::chrono::system_clock::time_point(std::chrono::seconds(1440938160));
}

struct Vector {
  const char* name;
  const char* method;
  const char* path;
  const char* query;
  aigw::http::Headers headers;  // besides Host
  const char* payload;
  std::string canonical_request;
  const char* string_to_sign_hash;  // the last line of the string to sign
  const char* signed_headers;
  const char* signature;
};

std::string creq(const char* method, const char* uri, const char* query, const std::string& headers,
                 const char* signed_headers, const char* hash) {
  return std::string(method) + "\n" + uri + "\n" + query + "\n" + headers + "\n" + signed_headers +
         "\n" + hash;
}

const std::string kHostDate = "host:example.amazonaws.com\nx-amz-date:20150830T123600Z\n";

std::vector<Vector> vectors() {
  return {
      {"get-vanilla",
       "GET",
       "/",
       "",
       {},
       "",
       creq("GET", "/", "", kHostDate, "host;x-amz-date", kEmptyHash),
       "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63",
       "host;x-amz-date",
       "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"},
      {"post-vanilla",
       "POST",
       "/",
       "",
       {},
       "",
       creq("POST", "/", "", kHostDate, "host;x-amz-date", kEmptyHash),
       "553f88c9e4d10fc9e109e2aeb65f030801b70c2f6468faca261d401ae622fc87",
       "host;x-amz-date",
       "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"},
      {"get-vanilla-query-order-key-case",
       "GET",
       "/",
       "Param2=value2&Param1=value1",
       {},
       "",
       creq("GET", "/", "Param1=value1&Param2=value2", kHostDate, "host;x-amz-date", kEmptyHash),
       "816cd5b414d056048ba4f7c5386d6e0533120fb1fcfa93762cf0fc39e2cf19e0",
       "host;x-amz-date",
       "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"},
      {"post-x-www-form-urlencoded",
       "POST",
       "/",
       "",
       {{"Content-Type", "application/x-www-form-urlencoded"}},
       "Param1=value1",
       creq("POST", "/", "", "content-type:application/x-www-form-urlencoded\n" + kHostDate,
            "content-type;host;x-amz-date",
            "9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e"),
       "42a5e5bb34198acb3e84da4f085bb7927f2bc277ca766e6d19c73c2154021281",
       "content-type;host;x-amz-date",
       "ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a"},
      {"get-utf8",
       "GET",
       "/\xE1\x88\xB4",
       "",
       {},
       "",
       creq("GET", "/%E1%88%B4", "", kHostDate, "host;x-amz-date", kEmptyHash),
       "2a0a97d02205e45ce2e994789806b19270cfbbb0921b278ccf58f5249ac42102",
       "host;x-amz-date",
       "8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85"},
      {"get-space-unnormalized",
       "GET",
       "/example space/",
       "",
       {},
       "",
       creq("GET", "/example%20space/", "", kHostDate, "host;x-amz-date", kEmptyHash),
       "63ee75631ed7234ae61b5f736dfc7754cdccfedbff4b5128a915706ee9390d86",
       "host;x-amz-date",
       "652487583200325589f1fba4c7e578f72c47cb61beeca81406b39ddec1366741"},
      {"get-vanilla-utf8-query",
       "GET",
       "/",
       "\xE1\x88\xB4=bar",
       {},
       "",
       creq("GET", "/", "%E1%88%B4=bar", kHostDate, "host;x-amz-date", kEmptyHash),
       "eb30c5bed55734080471a834cc727ae56beb50e5f39d1bff6d0d38cb192a7073",
       "host;x-amz-date",
       "2cdec8eed098649ff3a119c94853b13c643bcf08f8b0a1d91e12c9027818dd04"},
      {"get-header-value-trim",
       "GET",
       "/",
       "",
       {{"My-Header1", " value1"}, {"My-Header2", " \"a   b   c\""}},
       "",
       creq("GET", "/", "",
            "host:example.amazonaws.com\nmy-header1:value1\nmy-header2:\"a b c\"\n"
            "x-amz-date:20150830T123600Z\n",
            "host;my-header1;my-header2;x-amz-date", kEmptyHash),
       "a726db9b0df21c14f559d0a978e563112acb1b9e05476f0a6a1c7d68f28605c7",
       "host;my-header1;my-header2;x-amz-date",
       "acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736"},
      {"get-header-key-duplicate",
       "GET",
       "/",
       "",
       {{"My-Header1", "value2"}, {"My-Header1", "value2"}, {"My-Header1", "value1"}},
       "",
       creq("GET", "/", "",
            "host:example.amazonaws.com\nmy-header1:value2,value2,value1\n"
            "x-amz-date:20150830T123600Z\n",
            "host;my-header1;x-amz-date", kEmptyHash),
       "dc7f04a3abfde8d472b0ab1a418b741b7c67174dad1551b4117b15527fbe966c",
       "host;my-header1;x-amz-date",
       "c9d5ea9f3f72853aea855b47ea873832890dbdd183b4468f858259531a5138ea"},
  };
}

}  // namespace

TEST_CASE("sigv4: AWS test suite vectors, all three stages") {
  for (const auto& v : vectors()) {
    CAPTURE(v.name);
    Request r;
    r.method = v.method;
    r.path = v.path;
    r.query = v.query;
    r.headers = v.headers;
    r.headers.insert(r.headers.begin(), {"Host", "example.amazonaws.com"});
    r.payload = v.payload;
    const Signed s = sign(r, kSuite, "us-east-1", "service", suiteTime());
    CHECK(s.amz_date == "20150830T123600Z");
    CHECK(s.canonical_request == v.canonical_request);
    CHECK(s.string_to_sign == std::string("AWS4-HMAC-SHA256\n20150830T123600Z\n"
                                          "20150830/us-east-1/service/aws4_request\n") +
                                  v.string_to_sign_hash);
    CHECK(s.signature == v.signature);
    CHECK(s.authorization ==
          std::string("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/"
                      "aws4_request, SignedHeaders=") +
              v.signed_headers + ", Signature=" + v.signature);
    REQUIRE(s.headers.size() == 2);
    CHECK(s.headers[0].name == "X-Amz-Date");
    CHECK(s.headers[0].value == "20150830T123600Z");
    CHECK(s.headers[1].name == "Authorization");
    CHECK(s.headers[1].value == s.authorization);
  }
}

TEST_CASE("sigv4: the signing key of AWS's documented IAM example") {
  // https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html
  CHECK(
      hex(signingKey("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "20150830", "us-east-1", "iam")) ==
      "c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9");
  CHECK(sha256Hex("") == kEmptyHash);
}

TEST_CASE("sigv4: a session token is sent and signed") {
  Request r;
  r.headers = {{"Host", "example.amazonaws.com"}};
  Credentials c = kSuite;
  c.session_token = "TOKEN/with+chars";
  const Signed s = sign(r, c, "us-east-1", "service", suiteTime());
  CHECK(s.signed_headers == "host;x-amz-date;x-amz-security-token");
  CHECK(s.canonical_request.find("\nx-amz-security-token:TOKEN/with+chars\n") != std::string::npos);
  REQUIRE(s.headers.size() == 3);
  CHECK(s.headers[1].name == "X-Amz-Security-Token");
  CHECK(s.headers[1].value == "TOKEN/with+chars");
  // Same request without the token: a different signature.
  CHECK(sign(r, kSuite, "us-east-1", "service", suiteTime()).signature != s.signature);
}

TEST_CASE("sigv4: non-S3 services sign the wire path encoded a second time") {
  // Bedrock model ids contain ':' (encoded %3A on the wire); the canonical URI encodes the '%'.
  CHECK(canonicalUri("/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse") ==
        "/model/anthropic.claude-3-haiku-20240307-v1%253A0/converse");
  CHECK(canonicalUri("") == "/");
  CHECK(canonicalUri("a/b") == "/a/b");
  CHECK(uriEncode("arn:aws:bedrock:us-east-1:1:x/y") ==
        "arn%3Aaws%3Abedrock%3Aus-east-1%3A1%3Ax%2Fy");
  CHECK(uriEncode("-._~AZaz09") == "-._~AZaz09");
  CHECK(uriEncode("a b+c", false) == "a%20b%2Bc");
}

TEST_CASE("sigv4: canonical query: decoded, re-encoded, sorted; empty values keep '='") {
  CHECK(canonicalQuery("") == "");
  CHECK(canonicalQuery("b=2&a=1&a=0") == "a=0&a=1&b=2");
  CHECK(canonicalQuery("flag&x=a%20b") == "flag=&x=a%20b");
  CHECK(canonicalQuery("k=a+b") == "k=a%2Bb");
  CHECK(canonicalQuery("k=%zz") == "k=%25zz");
}

TEST_CASE("sigv4: amzDate formats UTC") {
  CHECK(amzDate(suiteTime()) == "20150830T123600Z");
  CHECK(amzDate(std::chrono::system_clock::time_point{}) == "19700101T000000Z");
}
