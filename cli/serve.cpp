#include <pthread.h>
#include <signal.h>

#include <cstdlib>
#include <filesystem>
#include <iostream>

#include "commands.hpp"
#include "config/load.hpp"
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
      std::cerr << "aigw: the saved state in " << opts.data_dir << " is invalid:\n" << persisted.error() << "\n";
      throw Exit{kExitRuntime};
    }
    initial = *persisted;
  }

  // Signals are taken by sigwait() on this thread only; workers never see them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  Gateway gateway(g, initial);
  if (!opts.config_file.empty()) {
    if (auto saved = gateway.manager().apply(*initial->source); !saved) {
      std::cerr << "aigw: " << saved.error().toString() << "\n";
      throw Exit{kExitRuntime};
    }
  }
  if (Status s = gateway.start(); !s) {
    std::cerr << "aigw: " << s.message() << "\n";
    throw Exit{kExitRuntime};
  }
  std::cerr << "aigw " << AIGW_VERSION << ": proxy on " << g.proxy.host << ":" << gateway.proxyPort()
            << ", admin on " << g.admin.host << ":" << gateway.adminPort() << " (" << initial->routes.size()
            << " routes)\n";
  while (true) {
    int sig = 0;
    if (sigwait(&signals, &sig) != 0) continue;
    if (sig == SIGHUP) {
      if (opts.config_file.empty()) {
        std::cerr << "aigw: SIGHUP ignored (no -c file to re-read)\n";
        continue;
      }
      auto cfg = config::loadFile(opts.config_file);
      if (!cfg) {
        std::cerr << "aigw: reload failed, keeping the running config:\n" << cfg.error() << "\n";
        continue;
      }
      if (auto applied = gateway.manager().apply(*(*cfg)->source); !applied) {
        std::cerr << "aigw: reload failed, keeping the running config:\n" << applied.error().toString() << "\n";
        continue;
      }
      std::cerr << "aigw: reloaded " << opts.config_file << " (" << (*cfg)->routes.size() << " routes)\n";
      continue;
    }
    std::cerr << "aigw: stopping (finishing in-flight requests)\n";
    gateway.stop();
    gateway.wait();
    std::cerr << "aigw: stopped\n";
    return;
  }
}

}  // namespace

void setupServe(CLI::App& app) {
  auto opts = std::make_shared<ServeOptions>();
  auto* cmd = app.add_subcommand("serve", "Run the gateway: proxy (default :8000) and admin API (default 127.0.0.1:8001)");
  cmd->add_option("-c,--config", opts->config_file, "Declarative config file (Kong decK YAML/JSON)")->envname("AIGW_CONFIG");
  cmd->add_option("--listen", opts->listen, "Proxy address HOST:PORT")->capture_default_str()->envname("AIGW_LISTEN");
  cmd->add_option("--admin-listen", opts->admin_listen, "Admin API address HOST:PORT")->capture_default_str()->envname("AIGW_ADMIN_LISTEN");
  cmd->add_option("--data-dir", opts->data_dir, "Directory for persisted state")->envname("AIGW_DATA_DIR");
  cmd->add_option("--max-workers", opts->max_workers, "Most concurrent client connections (threads start on demand)")
      ->capture_default_str()->check(CLI::Range(1, 65536));
  cmd->add_option("--ca-file", opts->ca_file, "Extra CA bundle (PEM) trusted for upstream TLS")->check(CLI::ExistingFile);
  cmd->callback([opts] {
    if (opts->data_dir.empty()) opts->data_dir = defaultDataDir();
    runServe(*opts);
  });
}

}  // namespace aigw::cli
