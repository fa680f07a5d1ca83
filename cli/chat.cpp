// aigw chat: the command line of gateway/chat (the REPL and the client live there).
#include <cstdlib>

#include "admin/client.hpp"
#include "chat/repl.hpp"
#include "commands.hpp"

namespace aigw::cli {

void setupChat(CLI::App& app) {
  auto o = std::make_shared<chat::ChatOptions>();
  const char* url = std::getenv("AIGW_URL");
  o->url = url && *url ? url : "http://127.0.0.1:8000";
  o->admin = admin::defaultAdminUrl();
  auto* cmd = app.add_subcommand(
      "chat",
      "Chat with a route from the terminal (streaming REPL; -m or piped stdin answers once)");
  cmd->add_option("ROUTE", o->target,
                  "Route name (looked up through the admin API), a full http(s) URL, or a /path; "
                  "none = pick from the gateway's chat routes");
  cmd->add_option("--url", o->url, "Proxy base URL (env AIGW_URL)")->capture_default_str();
  cmd->add_option("--admin", o->admin, "Admin API URL (env AIGW_ADMIN_URL)")->capture_default_str();
  cmd->add_option("--admin-token", o->admin_token, "Admin API token (env AIGW_ADMIN_TOKEN)");
  cmd->add_option("--model", o->model,
                  "Model to ask for (routes with a fixed model refuse others)");
  cmd->add_option("--system", o->system, "System prompt");
  cmd->add_option("-m,--message", o->message, "Send TEXT, print the answer on stdout, exit");
  cmd->add_flag("--no-stream", o->no_stream, "Ask for the whole answer at once");
  cmd->add_option("--api-key,--key", o->key,
                  "The gateway key of a key-auth route: sent as apikey: KEY and Authorization: "
                  "Bearer KEY (env AIGW_API_KEY)")
      ->envname("AIGW_API_KEY");
  cmd->callback([o, cmd] {
    o->has_message = cmd->count("--message") > 0;
    while (!o->url.empty() && o->url.back() == '/') o->url.pop_back();
    if (int code = chat::runChat(*o); code != 0) throw Exit{code};
  });
}

}  // namespace aigw::cli
