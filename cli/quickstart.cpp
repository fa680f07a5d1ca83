// aigw quickstart: the command line of gateway/quickstart (the flow lives there).
#include "quickstart/quickstart.hpp"
#include "commands.hpp"

namespace aigw::cli {

void setupQuickstart(CLI::App& app) {
  auto o = std::make_shared<quickstart::Options>();
  auto* cmd = app.add_subcommand("quickstart",
                                 "Set up and start a local gateway: pick providers and keys, write "
                                 "DIR/aigw.yaml and DIR/.env");
  cmd->add_option("-o,--output", o->dir, "Directory for aigw.yaml, .env and README.md")
      ->capture_default_str();
  cmd->add_flag("-y,--yes", o->yes,
                "No prompts: the providers whose keys are in the environment and a local Ollama "
                "(the demo mock model when neither); overwrites DIR");
  cmd->add_option("--port", o->port, "Proxy port (on 127.0.0.1)")
      ->capture_default_str()
      ->check(CLI::Range(1, 65535));
  cmd->add_option("--admin-port", o->admin_port, "Admin API port (on 127.0.0.1)")
      ->capture_default_str()
      ->check(CLI::Range(1, 65535));
  auto* detach = cmd->add_flag("--detach", o->detach,
                               "Run the gateway in the background (pid and log in DIR)");
  cmd->add_flag("--no-serve", o->no_serve, "Only write the files")->excludes(detach);
  cmd->add_option("--api-key", o->api_key,
                  "Protect every route with this gateway key (key-auth; clients send it as "
                  "apikey or Authorization: Bearer; kept in DIR/.env as AIGW_API_KEY)")
      ->envname("AIGW_API_KEY");
  cmd->callback([o] {
    if (int code = quickstart::run(*o); code != 0) throw Exit{code};
  });
}

}  // namespace aigw::cli
