#include <csignal>
#include <iostream>

#include "commands.hpp"

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);
  CLI::App app{
      "aigw: an AI gateway in one binary. OpenAI-compatible API in front of every LLM provider."};
  app.require_subcommand(1);
  app.set_help_all_flag("--help-all", "Show help for every command");
  aigw::cli::setupQuickstart(app);
  aigw::cli::setupServe(app);
  aigw::cli::setupChat(app);
  aigw::cli::setupValidate(app);
  aigw::cli::setupSync(app);
  aigw::cli::setupDiff(app);
  aigw::cli::setupReset(app);
  aigw::cli::setupDump(app);
  aigw::cli::setupVersion(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : aigw::cli::kExitUsage;
  } catch (const aigw::cli::Exit& e) {
    return e.code;
  }
  return 0;
}
