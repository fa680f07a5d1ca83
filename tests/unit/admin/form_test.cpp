// Kong's form keys (admin/form.hpp): 1-based indices, appends, repeated keys, dotted and
// bracketed names, arrays of objects; malformed keys and hostile indices refused with a short
// message naming the key; and the fuzz seed corpus replayed with any compiler.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "admin/form.hpp"
#include "fuzz/admin_form_check.hpp"

using aigw::admin::formFieldsToJson;
using aigw::admin::parseUrlEncoded;
using Json = nlohmann::json;

namespace {

Json form(std::string_view body) {
  auto fields = parseUrlEncoded(body);
  REQUIRE(fields);
  auto j = formFieldsToJson(*fields);
  REQUIRE_MESSAGE(j, j.error());
  return *j;
}

std::string refusal(std::string_view body) {
  auto fields = parseUrlEncoded(body);
  if (!fields) return fields.error();
  auto j = formFieldsToJson(*fields);
  REQUIRE_MESSAGE(!j, body);
  return j.error();
}

}  // namespace

TEST_CASE("form: Kong's keys") {
  CHECK(form("paths[1]=/x") == Json{{"paths", {"/x"}}});
  CHECK(form("paths[1]=/x&paths[2]=/y") == Json{{"paths", {"/x", "/y"}}});
  CHECK(form("paths[2]=/y&paths[1]=/x") == Json{{"paths", {"/x", "/y"}}});
  CHECK(form("paths[]=/a&paths[]=/b") == Json{{"paths", {"/a", "/b"}}});
  CHECK(form("paths=/a&paths=/b&paths=/c") == Json{{"paths", {"/a", "/b", "/c"}}});
  CHECK(form("paths%5B%5D=~/openai-chat$") == Json{{"paths", {"~/openai-chat$"}}});
  CHECK(form("a=x+y%20z") == Json{{"a", "x y z"}});
  CHECK(form("config.model[options][max_tokens]=512&config[model].provider=openai") ==
        Json{{"config",
              {{"model", {{"options", {{"max_tokens", "512"}}}, {"provider", "openai"}}}}}});
  CHECK(form("config.prompts.prepend[1].role=system&config.prompts.prepend[1].content=Be+brief&"
             "config.prompts.prepend[2].role=user&config.prompts.prepend[2].content=Hi") ==
        Json{{"config",
              {{"prompts",
                {{"prepend",
                  {{{"role", "system"}, {"content", "Be brief"}},
                   {{"role", "user"}, {"content", "Hi"}}}}}}}}});
  // Ten or more elements sort numerically, not as text ("x[10]" < "x[2]").
  std::string ten;
  for (int i = 1; i <= 12; ++i) ten += "p[" + std::to_string(i) + "]=" + std::to_string(i) + "&";
  CHECK(form(ten)["p"].size() == 12);
  CHECK(form(ten)["p"][11] == "12");
  CHECK(form("a[x.y]=1") == Json{{"a", {{"x.y", "1"}}}});
  CHECK(form("flag") == Json{{"flag", ""}});
}

TEST_CASE("form: malformed keys are a short refusal naming the key") {
  CHECK(refusal("name[0]=x") == "invalid form key \"name[0]\": indices start at 1, as in Kong");
  CHECK(refusal("config..prompts=x") ==
        "invalid form key \"config..prompts\": empty name after \".\"");
  CHECK(refusal("paths[12345678901234567890]=/x") ==
        "invalid form key \"paths[12345678901234567890]\": index 123456... is too large");
  CHECK(refusal("config=x&config.route_type=y") ==
        "invalid form key \"config.route_type\": is used both as a value and as an object");
  CHECK(refusal("paths=/x&paths[1]=/y") ==
        "invalid form key \"paths[1]\": is used both as a value and as an array");
  CHECK(refusal("paths[1]=/x&paths[1]=/y") ==
        "invalid form key \"paths[1]\": is given more than once");
  CHECK(refusal("paths[1]=/x&paths[3]=/z") ==
        "invalid form key \"paths[3]\": index 3 is beyond the next free slot (2)");
  CHECK(refusal("paths[1=/x") == "invalid form key \"paths[1\": \"[\" without \"]\"");
  CHECK(refusal("paths]=/x") == "invalid form key \"paths]\": \"]\" without \"[\"");
  CHECK(refusal(".paths=/x") == "invalid form key \".paths\": expected a name before \".\"");
  CHECK(refusal("paths.=/x") == "invalid form key \"paths.\": empty name after \".\"");
  CHECK(refusal("[1]=x") == "invalid form key \"[1]\": expected a name before \"[\"");
  CHECK(refusal("a[].b=x") == "invalid form key \"a[].b\": [] (append) must end the key");
  CHECK(refusal("a[1]x=1") == "invalid form key \"a[1]x\": expected \".\" or \"[\" after \"]\"");
  CHECK(refusal("=x") == "invalid form key \"\": a key cannot be empty");
  CHECK(refusal("name=%FF") == "invalid form key \"name\": its value is not valid UTF-8");
}

TEST_CASE("form: an index never sizes memory; counts, depth and size are bounded") {
  for (const char* body : {"paths[100000]=/x", "paths[10000000]=/x", "paths[100000000]=/x",
                           "paths[2147483648]=/x", "paths[999999]=/x"}) {
    CAPTURE(body);
    const std::string why = refusal(body);
    CHECK(why.size() < 120);
    CHECK((why.find("beyond the next free slot (1)") != std::string::npos ||
           why.find("too large") != std::string::npos));
  }
  std::string many;
  for (int i = 0; i < 1001; ++i) many += "k" + std::to_string(i) + "=v&";
  CHECK(refusal(many) == "more than 1000 form fields");
  std::string deep = "a";
  for (int i = 0; i < 40; ++i) deep += ".b";
  CHECK(refusal(deep + "=x").find("nested deeper than 32 levels") != std::string::npos);
  const std::string long_key(600, 'k');
  const std::string why = refusal(long_key + "=x");
  CHECK(why.find("longer than 512 bytes") != std::string::npos);
  CHECK(why.size() < 120);  // the key is shortened in the message
  CHECK(refusal(std::string(2u << 20, 'a')) == "form body larger than 1048576 bytes");
}

// Files named ok-* parse and give a valid entity; err-* are refused by the parser or by the
// entity's validation; none throws (see admin_form_check.hpp).
TEST_CASE("form: the fuzz seed corpus replays") {
  const std::filesystem::path dir =
      std::filesystem::path(AIGW_SOURCE_DIR) / "tests/fuzz/admin_form_corpus";
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    CAPTURE(name);
    std::ifstream in(entry.path(), std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    const auto outcome = aigw::test::checkAdminForm(ss.str());
    if (name.rfind("ok-", 0) == 0) {
      CHECK_MESSAGE(outcome.parsed, outcome.error);
      CHECK(outcome.valid_entity);
    } else {
      REQUIRE(name.rfind("err-", 0) == 0);
      CHECK((!outcome.parsed || !outcome.valid_entity));
    }
    ++files;
  }
  CHECK(files >= 30);
}
