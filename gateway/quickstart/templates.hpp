// The files of templates/ embedded in the binary at build time (cmake/embed_files.cmake), so
// `aigw quickstart` works from an installed binary with no source tree.
#pragma once

#include <string_view>

namespace aigw::quickstart {

// The content of templates/<name>, or an empty view when there is no such file.
std::string_view templateText(std::string_view name);

}  // namespace aigw::quickstart
