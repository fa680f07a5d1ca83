// aigw sync / diff / reset: decK's workflow against the admin API. As decK does, `${{ env }}`
// references are rendered here from the caller's environment, values that came from it are
// masked in the diff, `sync` applies without asking and `reset` asks unless -f/--force.
#include <unistd.h>

#include <iostream>

#include "admin/client.hpp"
#include "commands.hpp"
#include "config/diff.hpp"
#include "config/document.hpp"
#include "config/load.hpp"

namespace aigw::cli {

namespace {

struct SyncOptions {
  std::vector<std::string> files;
  std::string admin = admin::defaultAdminUrl();
  std::string token;
  std::string select_tag;
  bool dry_run = false;
  bool yes = false;
  bool no_mask = false;
};

nlohmann::json fetchFlat(const admin::AdminClient& client, const char* command) {
  auto reply = client.get("/config?flat=true");
  if (!reply) {
    std::cerr << "aigw " << command << ": " << reply.error() << "\n";
    throw Exit{kExitRuntime};
  }
  auto j = reply->json();
  if (reply->status == 401 || reply->status == 403) {
    std::cerr << "aigw " << command << ": the admin API at " << client.baseUrl() << " refused ("
              << reply->status << ": " << (j.is_object() ? j.value("message", "") : reply->body)
              << "); pass its token with --admin-token or AIGW_ADMIN_TOKEN\n";
    throw Exit{kExitRuntime};
  }
  if (reply->status != 200 || !j.is_object()) {
    std::cerr << "aigw " << command << ": unexpected answer from " << client.baseUrl() << " ("
              << reply->status << ")\n";
    throw Exit{kExitRuntime};
  }
  return j;
}

struct Plan {
  std::vector<config::EntityChange> changes;
  nlohmann::json document;  // what to POST to /config
  std::vector<std::string> env_values;
};

// Shared by diff and sync.
Plan plan(const SyncOptions& o, const admin::AdminClient& client, const char* command) {
  auto local = config::loadForSync(o.files, config::processEnv());
  if (!local) {
    std::cerr << local.error() << "\n";
    if (local.error().find("is not set") != std::string::npos)
      std::cerr << "aigw " << command
                << " renders ${{ env \"NAME\" }} from this shell's environment, as decK does: "
                   "export the variable, then run it again (nothing was sent)\n";
    throw Exit{kExitUsage};
  }
  std::string tag = o.select_tag;
  if (tag.empty() && !local->select_tags.empty()) tag = local->select_tags.front();
  // decK gives every entity of a file its select tag.
  if (!tag.empty()) local->flat = config::withTag(local->flat, tag);
  const auto current = fetchFlat(client, command);
  Plan p;
  p.changes = config::diffDocuments(current, local->flat, tag, local->env_values);
  p.document = config::mergeForSync(current, local->flat, tag);
  p.env_values = std::move(local->env_values);
  return p;
}

std::string shown(const SyncOptions& o, const Plan& p) {
  const std::string text = config::formatChanges(p.changes);
  return o.no_mask ? text : config::maskValues(text, p.env_values);
}

void addCommon(CLI::App* cmd, SyncOptions& o) {
  cmd->add_option("FILE", o.files, "decK files (YAML or JSON); several are merged")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--admin", o.admin, "Admin API URL (env AIGW_ADMIN_URL)")->capture_default_str();
  cmd->add_option("--admin-token", o.token, "Admin API token (env AIGW_ADMIN_TOKEN)");
  cmd->add_option("--select-tag", o.select_tag,
                  "Only entities with this tag take part (decK _info.select_tags also works)");
  cmd->add_flag("--no-mask-deck-env-vars-value", o.no_mask,
                "Show values rendered from ${{ env }} in the diff instead of [masked]");
}

void apply(const SyncOptions& o, const admin::AdminClient& client, const Plan& p) {
  auto reply = client.post(
      "/config", p.document.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  if (!reply) {
    std::cerr << "aigw sync: " << reply.error() << "\n";
    throw Exit{kExitRuntime};
  }
  if (reply->status != 201 && reply->status != 200) {
    auto j = reply->json();
    std::string why = j.is_object() ? j.value("message", reply->body) : reply->body;
    if (!o.no_mask) why = config::maskValues(why, p.env_values);
    std::cerr << "aigw sync: the gateway refused the configuration (" << reply->status
              << "): " << why << "\n";
    throw Exit{reply->status == 400 ? kExitUsage : kExitRuntime};
  }
}

}  // namespace

void setupDiff(CLI::App& app) {
  auto o = std::make_shared<SyncOptions>();
  auto* cmd =
      app.add_subcommand("diff", "Show what `aigw sync FILE` would change in the running gateway");
  addCommon(cmd, *o);
  cmd->callback([o] {
    admin::AdminClient client(o->admin, o->token);
    std::cout << shown(*o, plan(*o, client, "diff"));
  });
}

void setupSync(CLI::App& app) {
  auto o = std::make_shared<SyncOptions>();
  auto* cmd = app.add_subcommand(
      "sync", "Make the running gateway's configuration match FILE (as `deck gateway sync`)");
  addCommon(cmd, *o);
  cmd->add_flag("--dry-run", o->dry_run, "Only print the diff");
  cmd->add_flag("-y,--yes", o->yes, "Accepted for decK compatibility (sync never asks)");
  cmd->callback([o] {
    admin::AdminClient client(o->admin, o->token);
    const Plan p = plan(*o, client, "sync");
    std::cout << shown(*o, p);
    if (p.changes.empty()) {
      std::cout << "Already in sync.\n";
      return;
    }
    if (o->dry_run) return;
    apply(*o, client, p);
    std::cout << "Applied.\n";
  });
}

void setupReset(CLI::App& app) {
  struct Opts {
    std::string admin = admin::defaultAdminUrl();
    std::string token;
    std::string select_tag;
    bool force = false;
  };
  auto o = std::make_shared<Opts>();
  auto* cmd =
      app.add_subcommand("reset", "Delete all (or all tagged) entities from the running gateway");
  cmd->add_option("--admin", o->admin, "Admin API URL (env AIGW_ADMIN_URL)")->capture_default_str();
  cmd->add_option("--admin-token", o->token, "Admin API token (env AIGW_ADMIN_TOKEN)");
  cmd->add_option("--select-tag", o->select_tag, "Only delete entities with this tag");
  cmd->add_flag("-f,--force", o->force, "Do not ask for confirmation");
  cmd->callback([o] {
    admin::AdminClient client(o->admin, o->token);
    const auto current = fetchFlat(client, "reset");
    nlohmann::json empty = {{"_format_version", "3.0"}};
    auto changes = config::diffDocuments(current, empty, o->select_tag);
    std::cout << config::formatChanges(changes);
    if (changes.empty()) return;
    if (!o->force) {
      if (!isatty(STDIN_FILENO)) {
        std::cerr << "aigw reset: nothing deleted: there is no terminal to confirm on; pass "
                     "-f/--force to delete without asking\n";
        throw Exit{kExitUsage};
      }
      std::cerr << "This will delete all configuration"
                << (o->select_tag.empty() ? "" : " tagged " + o->select_tag) << " from the aigw at "
                << o->admin << ".\n> Are you sure? [y/N] " << std::flush;
      std::string answer;
      std::getline(std::cin, answer);
      if (answer != "y" && answer != "Y" && answer != "yes") {
        std::cerr << "aigw reset: nothing deleted\n";
        throw Exit{kExitUsage};
      }
    }
    auto reply = client.post("/config", config::mergeForSync(current, empty, o->select_tag).dump());
    if (!reply || (reply->status != 201 && reply->status != 200)) {
      std::cerr << "aigw reset: " << (reply ? reply->body : reply.error()) << "\n";
      throw Exit{kExitRuntime};
    }
    std::cout << "Reset.\n";
  });
}

}  // namespace aigw::cli
