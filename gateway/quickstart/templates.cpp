#include "quickstart/templates.hpp"

#include <array>
#include <utility>

// The table is generated with as many entries as templates/ has files; CMake passes the count.
namespace aigw_quickstart_templates {
extern const std::array<std::pair<std::string_view, std::string_view>, AIGW_TEMPLATE_COUNT> kFiles;
}

namespace aigw::quickstart {

std::string_view templateText(std::string_view name) {
  for (const auto& [file, text] : aigw_quickstart_templates::kFiles)
    if (file == name) return text;
  return {};
}

}  // namespace aigw::quickstart
