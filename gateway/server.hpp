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
  std::size_t max_workers = 4096;             // concurrent connections (threads on demand)
  std::size_t max_request_bytes = 64u << 20;  // hard cap before any route limit applies
  int client_read_timeout_s = 60;
  int client_write_timeout_s = 60;
  int keep_alive_timeout_s = 5;
  std::string ca_file;                        // extra CA bundle for upstream TLS
  std::string data_dir;                       // persisted config; empty = not persisted
  std::string access_log;                     // JSON lines: "-" = stdout, a path, empty = off
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
  // Stops accepting, lets in-flight requests finish, returns when both listeners are down.
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
