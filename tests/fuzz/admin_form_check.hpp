// The property both the libFuzzer target (fuzz_admin_form.cpp) and its g++ replay
// (tests/unit/admin/form_test.cpp) check on a form body: the parser never throws, refuses with
// a short message, and its result is linear in the input; what it produces goes through the
// admin API's typing and validation without throwing either.
#pragma once

#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "admin/entities.hpp"
#include "admin/form.hpp"
#include "config/model.hpp"

namespace aigw::test {

struct FormOutcome {
  bool parsed = false;        // the form parser accepted the body
  bool valid_entity = false;  // and it is a valid service, route or plugin on its own
  std::string error;          // the parser's message when it refused
  nlohmann::json value;
};

inline FormOutcome checkAdminForm(std::string_view body) {
  FormOutcome out;
  try {
    auto fields = admin::parseUrlEncoded(body);
    auto parsed =
        fields ? admin::formFieldsToJson(*fields) : Result<nlohmann::json>::failure(fields.error());
    if (!parsed) {
      out.error = parsed.error();
      if (out.error.size() > 200) std::abort();  // a refusal never echoes the input
      return out;
    }
    out.parsed = true;
    out.value = *parsed;
    const std::string text =
        out.value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    if (text.size() > 8 * body.size() + 64) std::abort();  // memory linear in the input
    for (auto kind :
         {config::EntityKind::Service, config::EntityKind::Route, config::EntityKind::Plugin}) {
      nlohmann::json entity = out.value;
      admin::coerceEntity(entity, kind);
      nlohmann::json doc = {{"_format_version", "3.0"}};
      doc[config::entityInfo(kind).collection] = nlohmann::json::array({entity});
      auto built =
          config::build(doc, [](const std::string&) -> const char* { return "placeholder"; });
      if (built) out.valid_entity = true;
    }
  } catch (...) {
    std::abort();
  }
  return out;
}

}  // namespace aigw::test
