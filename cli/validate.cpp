#include <iostream>

#include "commands.hpp"
#include "config/load.hpp"

namespace aigw::cli {

void setupValidate(CLI::App& app) {
  auto file = std::make_shared<std::string>();
  auto* cmd = app.add_subcommand(
      "validate", "Check a declarative config file (YAML or JSON) without starting anything");
  cmd->add_option("FILE", *file, "Config file (Kong decK format)")->required();
  cmd->callback([file] {
    auto cfg = config::loadFile(*file);
    if (!cfg) {
      std::cerr << cfg.error() << "\n";
      throw Exit{kExitUsage};
    }
    for (const auto& notice : (*cfg)->notices) std::cerr << *file << ": notice: " << notice << "\n";
    std::cout << *file << ": OK (" << (*cfg)->services.size() << " services, "
              << (*cfg)->routes.size() << " routes, " << (*cfg)->enabledPluginCount()
              << " plugins)\n";
  });
}

}  // namespace aigw::cli
