#include <iostream>

#include "admin/client.hpp"
#include "commands.hpp"
#include "config/persist.hpp"

namespace aigw::cli {

void setupDump(CLI::App& app) {
  struct Opts {
    std::string admin = admin::defaultAdminUrl();
    std::string token;
    std::string output;
    std::string format = "yaml";
  };
  auto o = std::make_shared<Opts>();
  auto* cmd =
      app.add_subcommand("dump", "Print the running gateway's configuration as a decK file");
  cmd->add_option("--admin", o->admin, "Admin API URL (env AIGW_ADMIN_URL)")->capture_default_str();
  cmd->add_option("--admin-token", o->token, "Admin API token (env AIGW_ADMIN_TOKEN)");
  cmd->add_option("-o,--output", o->output, "Write to this file instead of stdout");
  cmd->add_option("--format", o->format, "yaml or json")
      ->check(CLI::IsMember({"yaml", "json"}))
      ->capture_default_str();
  cmd->callback([o] {
    auto reply = admin::AdminClient(o->admin, o->token)
                     .get(o->format == "yaml" ? "/config?format=yaml" : "/config");
    if (!reply) {
      std::cerr << "aigw dump: " << reply.error() << "\n";
      throw Exit{kExitRuntime};
    }
    if (reply->status != 200) {
      std::cerr << "aigw dump: the gateway answered " << reply->status << ": " << reply->body
                << "\n";
      throw Exit{kExitRuntime};
    }
    std::string text = reply->body;
    if (o->format == "json") text = reply->json().dump(2) + "\n";
    if (o->output.empty()) {
      std::cout << text;
      return;
    }
    if (Status s = config::atomicWriteFile(o->output, text, 0600); !s) {
      std::cerr << "aigw dump: " << s.message() << "\n";
      throw Exit{kExitRuntime};
    }
    std::cerr << "wrote " << o->output << "\n";
  });
}

}  // namespace aigw::cli
