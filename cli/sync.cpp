// aigw sync / diff: decK's workflow against the admin API.
#include <unistd.h>

#include <iostream>

#include "admin/client.hpp"
#include "commands.hpp"
#include "config/diff.hpp"
#include "config/load.hpp"

namespace aigw::cli {

namespace {

struct SyncOptions {
  std::vector<std::string> files;
  std::string admin = admin::defaultAdminUrl();
  std::string select_tag;
  bool dry_run = false;
  bool yes = false;
};

nlohmann::json fetchFlat(const admin::AdminClient& client, const char* command) {
  auto reply = client.get("/config?flat=true");
  if (!reply) {
    std::cerr << "aigw " << command << ": " << reply.error() << "\n";
    throw Exit{kExitRuntime};
  }
  auto j = reply->json();
  if (reply->status != 200 || !j.is_object()) {
    std::cerr << "aigw " << command << ": unexpected answer from " << client.baseUrl() << " ("
              << reply->status << ")\n";
    throw Exit{kExitRuntime};
  }
  return j;
}

// Shared by diff and sync: returns the changes and the document to apply.
std::pair<std::vector<config::EntityChange>, nlohmann::json> plan(const SyncOptions& o,
                                                                  const admin::AdminClient& client,
                                                                  const char* command) {
  auto local = config::loadForSync(o.files);
  if (!local) {
    std::cerr << local.error() << "\n";
    throw Exit{kExitUsage};
  }
  std::string tag = o.select_tag;
  if (tag.empty() && !local->select_tags.empty()) tag = local->select_tags.front();
  // decK gives every entity of a file its select tag.
  if (!tag.empty()) local->flat = config::withTag(local->flat, tag);
  const auto current = fetchFlat(client, command);
  auto changes = config::diffDocuments(current, local->flat, tag);
  return {std::move(changes), config::mergeForSync(current, local->flat, tag)};
}

bool confirm(const std::string& question) {
  if (!isatty(STDIN_FILENO)) return false;
  std::cerr << question << " [y/N] " << std::flush;
  std::string answer;
  std::getline(std::cin, answer);
  return answer == "y" || answer == "Y" || answer == "yes";
}

void addCommon(CLI::App* cmd, SyncOptions& o) {
  cmd->add_option("FILE", o.files, "decK files (YAML or JSON); several are merged")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--admin", o.admin, "Admin API URL (env AIGW_ADMIN_URL)")->capture_default_str();
  cmd->add_option("--select-tag", o.select_tag,
                  "Only entities with this tag take part (decK _info.select_tags also works)");
}

}  // namespace

void setupDiff(CLI::App& app) {
  auto o = std::make_shared<SyncOptions>();
  auto* cmd =
      app.add_subcommand("diff", "Show what `aigw sync FILE` would change in the running gateway");
  addCommon(cmd, *o);
  cmd->callback([o] {
    admin::AdminClient client(o->admin);
    auto [changes, doc] = plan(*o, client, "diff");
    std::cout << config::formatChanges(changes);
  });
}

void setupSync(CLI::App& app) {
  auto o = std::make_shared<SyncOptions>();
  auto* cmd = app.add_subcommand(
      "sync", "Make the running gateway's configuration match FILE (diff, confirm, apply)");
  addCommon(cmd, *o);
  cmd->add_flag("--dry-run", o->dry_run, "Only print the diff");
  cmd->add_flag("-y,--yes", o->yes, "Apply without asking");
  cmd->callback([o] {
    admin::AdminClient client(o->admin);
    auto [changes, doc] = plan(*o, client, "sync");
    std::cout << config::formatChanges(changes);
    if (changes.empty()) {
      std::cout << "Already in sync.\n";
      return;
    }
    if (o->dry_run) return;
    if (!o->yes && !confirm("Apply these changes to " + o->admin + "?")) {
      std::cerr << "aigw sync: not applied (answer y, or pass --yes)\n";
      throw Exit{kExitUsage};
    }
    auto reply = client.post("/config", doc.dump());
    if (!reply) {
      std::cerr << "aigw sync: " << reply.error() << "\n";
      throw Exit{kExitRuntime};
    }
    if (reply->status != 201 && reply->status != 200) {
      auto j = reply->json();
      std::cerr << "aigw sync: the gateway refused the configuration: "
                << (j.is_object() ? j.value("message", reply->body) : reply->body) << "\n";
      throw Exit{reply->status == 400 ? kExitUsage : kExitRuntime};
    }
    std::cout << "Applied.\n";
  });
}

void setupReset(CLI::App& app) {
  struct Opts {
    std::string admin = admin::defaultAdminUrl();
    std::string select_tag;
    bool force = false;
  };
  auto o = std::make_shared<Opts>();
  auto* cmd =
      app.add_subcommand("reset", "Delete all (or all tagged) entities from the running gateway");
  cmd->add_option("--admin", o->admin, "Admin API URL (env AIGW_ADMIN_URL)")->capture_default_str();
  cmd->add_option("--select-tag", o->select_tag, "Only delete entities with this tag");
  cmd->add_flag("-f,--force", o->force, "Do not ask for confirmation");
  cmd->callback([o] {
    admin::AdminClient client(o->admin);
    const auto current = fetchFlat(client, "reset");
    nlohmann::json empty = {{"_format_version", "3.0"}};
    auto changes = config::diffDocuments(current, empty, o->select_tag);
    std::cout << config::formatChanges(changes);
    if (changes.empty()) return;
    if (!o->force && !confirm("Delete these entities from " + o->admin + "?")) {
      std::cerr << "aigw reset: nothing deleted (answer y, or pass --force)\n";
      throw Exit{kExitUsage};
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
