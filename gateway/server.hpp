// Gateway: the proxy listener, the admin listener, the config store and the upstream client,
// wired together. No business logic here.
// Thread-safety: start()/stop() from one controlling thread; stop() may be called from a
// signal-watching thread.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "admin/access.hpp"
#include "config/persist.hpp"
#include "config/store.hpp"
#include "core/result.hpp"
#include "proxy/net/http_server.hpp"

namespace aigw {

struct ListenAddress {
  std::string host;
  int port = 0;
};
// "HOST:PORT", ":PORT" or "PORT"; IPv6 as "[::1]:8000".
bool parseListenAddress(const std::string& text, ListenAddress& out);

struct GatewayOptions {
  ListenAddress proxy{"0.0.0.0", 8000};
  ListenAddress admin{"127.0.0.1", 8001};
  std::size_t workers = 0;         // event-loop threads for the proxy; 0 = one per core
  net::ServerLimits proxy_limits;  // header/body/connection limits and client timeouts
  int drain_timeout_ms = 30000;    // on stop: how long requests in flight may take to finish
  std::string ca_file;             // extra CA bundle for upstream TLS
  std::string data_dir;            // persisted config; empty = not persisted
  std::string access_log;          // JSON lines: "-" = stdout, a path, empty = off
  admin::AdminAccessOptions admin_access;     // who may use the admin API
  std::vector<std::string> admin_env_allow;   // ${{ env }} names admin writes may add
  std::string admin_tls_cert, admin_tls_key;  // PEM files: the admin API speaks HTTPS
};

class Gateway {
 public:
  Gateway(GatewayOptions options, config::ConfigPtr initial);
  ~Gateway();

  // Opens the access log, binds both listeners; fails with a message naming what failed.
  Status start();
  // Stops accepting, lets in-flight requests finish (up to drain_timeout_ms), returns when both
  // listeners are down.
  void stop();
  // Blocks until stop() completes.
  void wait();

  config::ConfigStore& store();
  config::ConfigManager& manager();
  int proxyPort() const;
  int adminPort() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace aigw
