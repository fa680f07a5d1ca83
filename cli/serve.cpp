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
  std::size_t workers = 0;
  std::size_t max_connections = 65536;
  std::size_t max_connections_per_client = 0;
  bool reuse_port = false;
  double header_timeout_s = 30, body_timeout_s = 60, keepalive_timeout_s = 60;
  std::string ca_file;
  std::string access_log;
  std::string admin_token;
  std::vector<std::string> admin_allow_origins, admin_allow_hosts;
  bool admin_insecure = false;
  std::vector<std::string> admin_env_allow;
  std::string admin_tls_cert, admin_tls_key;
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
  g.workers = opts.workers;
  g.proxy_limits.max_connections = opts.max_connections;
  g.proxy_limits.max_connections_per_client = opts.max_connections_per_client;
  g.proxy_limits.reuse_port = opts.reuse_port;
  g.proxy_limits.header_timeout_ms = static_cast<int>(opts.header_timeout_s * 1000);
  g.proxy_limits.body_timeout_ms = static_cast<int>(opts.body_timeout_s * 1000);
  g.proxy_limits.keepalive_timeout_ms = static_cast<int>(opts.keepalive_timeout_s * 1000);
  g.ca_file = opts.ca_file;
  g.access_log = opts.access_log;
  g.data_dir = opts.data_dir;
  g.admin_access.token = opts.admin_token;
  g.admin_access.allow_origins = opts.admin_allow_origins;
  g.admin_access.allow_hosts = opts.admin_allow_hosts;
  g.admin_access.insecure = opts.admin_insecure;
  g.admin_env_allow = opts.admin_env_allow;
  g.admin_tls_cert = opts.admin_tls_cert;
  g.admin_tls_key = opts.admin_tls_key;
  if (g.admin_tls_cert.empty() != g.admin_tls_key.empty()) {
    std::cerr << "aigw serve: --admin-tls-cert and --admin-tls-key go together\n";
    throw Exit{kExitUsage};
  }
  if (Status s = admin::checkAdminListen(g.admin.host, g.admin.port, g.admin_access); !s) {
    std::cerr << "aigw serve: " << s.message() << "\n";
    throw Exit{kExitUsage};
  }

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
  cmd->add_option("--workers", opts->workers,
                  "Event-loop threads for the proxy (default: one per core)")
      ->envname("AIGW_WORKERS")
      ->check(CLI::Range(0, 256));
  cmd->add_option("--max-connections", opts->max_connections,
                  "Most open client connections; at the cap the one idle longest is dropped")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000000));
  cmd->add_option("--max-connections-per-client", opts->max_connections_per_client,
                  "Most open connections per client address (0 = no cap)")
      ->capture_default_str();
  cmd->add_option("--client-header-timeout", opts->header_timeout_s,
                  "Seconds a new connection has to send its whole request head (then 408)")
      ->capture_default_str()
      ->check(CLI::Range(0.05, 3600.0));
  cmd->add_option("--client-body-timeout", opts->body_timeout_s,
                  "Longest pause, in seconds, while a client sends a request body (then 408)")
      ->capture_default_str()
      ->check(CLI::Range(0.05, 3600.0));
  cmd->add_option("--keepalive-timeout", opts->keepalive_timeout_s,
                  "Seconds an idle keep-alive connection stays open for its next request")
      ->capture_default_str()
      ->check(CLI::Range(0.05, 3600.0));
  cmd->add_flag("--reuse-port", opts->reuse_port,
                "Set SO_REUSEPORT on the proxy listener (lets several processes share the port)");
  cmd->add_option("--access-log", opts->access_log,
                  "JSON-lines access log with usage, cost and latency: a file, or - for stdout")
      ->envname("AIGW_ACCESS_LOG");
  cmd->add_option("--admin-token", opts->admin_token,
                  "Require this token on the admin API (header Kong-Admin-Token or "
                  "Authorization: Bearer)")
      ->envname("AIGW_ADMIN_TOKEN");
  cmd->add_option("--admin-allow-origin", opts->admin_allow_origins,
                  "Web origin allowed to call the admin API (repeatable; none by default)")
      ->delimiter(',');
  cmd->add_option("--admin-allow-host", opts->admin_allow_hosts,
                  "Host name the admin API answers to besides localhost and IP addresses "
                  "(repeatable)")
      ->delimiter(',');
  cmd->add_option("--admin-env-allow", opts->admin_env_allow,
                  "${{ env \"NAME\" }} references admin API writes may add: NAME or PREFIX_* "
                  "(comma-separated; none by default; -c files are not limited)")
      ->delimiter(',')
      ->envname("AIGW_ADMIN_ENV_ALLOW");
  cmd->add_option("--admin-tls-cert", opts->admin_tls_cert,
                  "Serve the admin API over HTTPS with this certificate (PEM)")
      ->check(CLI::ExistingFile)
      ->envname("AIGW_ADMIN_TLS_CERT");
  cmd->add_option("--admin-tls-key", opts->admin_tls_key,
                  "The private key (PEM) for --admin-tls-cert")
      ->check(CLI::ExistingFile)
      ->envname("AIGW_ADMIN_TLS_KEY");
  cmd->add_flag("--admin-insecure", opts->admin_insecure,
                "Allow the admin API on a non-loopback address without --admin-token");
  cmd->add_option("--ca-file", opts->ca_file, "Extra CA bundle (PEM) trusted for upstream TLS")
      ->check(CLI::ExistingFile);
  cmd->callback([opts] {
    if (opts->data_dir.empty()) opts->data_dir = defaultDataDir();
    runServe(*opts);
  });
}

}  // namespace aigw::cli
