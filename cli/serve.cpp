#include <cstdlib>
#include <filesystem>
#include <iostream>

#include "commands.hpp"
#include "config/load.hpp"
#include "runner.hpp"
#include "server.hpp"

namespace aigw::cli {

namespace {

struct ServeOptions {
  std::string config_file;
  std::string listen = "0.0.0.0:8000";
  std::string admin_listen = "127.0.0.1:8001";
  std::string data_dir;
  std::size_t max_workers = 4096;
  std::string ca_file;
  std::string access_log;
};

std::string defaultDataDir() {
  if (const char* d = std::getenv("AIGW_DATA_DIR"); d && *d) return d;
  if (const char* home = std::getenv("HOME"); home && *home) return std::string(home) + "/.aigw";
  return ".aigw";
}

void runServe(const ServeOptions& opts) {
  GatewayOptions g;
  if (!parseListenAddress(opts.listen, g.proxy)) {
    std::cerr << "--listen: expected HOST:PORT, got \"" << opts.listen << "\"\n";
    throw Exit{kExitUsage};
  }
  if (!parseListenAddress(opts.admin_listen, g.admin)) {
    std::cerr << "--admin-listen: expected HOST:PORT, got \"" << opts.admin_listen << "\"\n";
    throw Exit{kExitUsage};
  }
  g.max_workers = opts.max_workers;
  g.ca_file = opts.ca_file;
  g.access_log = opts.access_log;
  g.data_dir = opts.data_dir;

  // With -c the file is the config at start (and is persisted); without it, the data dir's
  // last state, or nothing.
  config::ConfigPtr initial = config::emptyConfig();
  if (!opts.config_file.empty()) {
    auto cfg = config::loadFile(opts.config_file);
    if (!cfg) {
      std::cerr << cfg.error() << "\n";
      throw Exit{kExitUsage};
    }
    initial = *cfg;
  } else {
    config::ConfigStore scratch(initial);
    auto persisted = config::ConfigManager(scratch, opts.data_dir).loadPersisted();
    if (!persisted) {
      std::cerr << "aigw: the saved state in " << opts.data_dir << " is invalid:\n"
                << persisted.error() << "\n";
      throw Exit{kExitRuntime};
    }
    initial = *persisted;
  }

  RunOptions run{g, opts.config_file, !opts.config_file.empty()};
  if (int code = runUntilSignalled(run, initial); code != 0) throw Exit{code};
}

}  // namespace

void setupServe(CLI::App& app) {
  auto opts = std::make_shared<ServeOptions>();
  auto* cmd = app.add_subcommand(
      "serve", "Run the gateway: proxy (default :8000) and admin API (default 127.0.0.1:8001)");
  cmd->add_option("-c,--config", opts->config_file, "Declarative config file (Kong decK YAML/JSON)")
      ->envname("AIGW_CONFIG");
  cmd->add_option("--listen", opts->listen, "Proxy address HOST:PORT")
      ->capture_default_str()
      ->envname("AIGW_LISTEN");
  cmd->add_option("--admin-listen", opts->admin_listen, "Admin API address HOST:PORT")
      ->capture_default_str()
      ->envname("AIGW_ADMIN_LISTEN");
  cmd->add_option("--data-dir", opts->data_dir, "Directory for persisted state")
      ->envname("AIGW_DATA_DIR");
  cmd->add_option("--max-workers", opts->max_workers,
                  "Most concurrent client connections (threads start on demand)")
      ->capture_default_str()
      ->check(CLI::Range(1, 65536));
  cmd->add_option("--access-log", opts->access_log,
                  "JSON-lines access log with usage, cost and latency: a file, or - for stdout")
      ->envname("AIGW_ACCESS_LOG");
  cmd->add_option("--ca-file", opts->ca_file, "Extra CA bundle (PEM) trusted for upstream TLS")
      ->check(CLI::ExistingFile);
  cmd->callback([opts] {
    if (opts->data_dir.empty()) opts->data_dir = defaultDataDir();
    runServe(*opts);
  });
}

}  // namespace aigw::cli
