#include <iostream>

#include "commands.hpp"

namespace aigw::cli {

void setupVersion(CLI::App& app) {
  auto* cmd = app.add_subcommand("version", "Print the aigw version");
  cmd->callback([] { std::cout << "aigw " << AIGW_VERSION << "\n"; });
}

}  // namespace aigw::cli
