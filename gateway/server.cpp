#include "server.hpp"

#include <httplib.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include "admin/admin_api.hpp"
#include "observability/access_log.hpp"
#include "observability/metrics.hpp"
#include "proxy/handler.hpp"
#include "proxy/upstream.hpp"
#include "thread_pool.hpp"

namespace aigw {

bool parseListenAddress(const std::string& text, ListenAddress& out) {
  std::string host, port;
  if (!text.empty() && text.front() == '[') {
    auto close = text.find(']');
    if (close == std::string::npos || close + 1 >= text.size() || text[close + 1] != ':')
      return false;
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else if (auto colon = text.rfind(':'); colon != std::string::npos) {
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
  } else {
    port = text;
  }
  if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos)
    return false;
  int p = std::stoi(port);
  if (p > 65535) return false;
  out.host = host.empty() ? "0.0.0.0" : host;
  out.port = p;
  return true;
}

// cpp-httplib 0.11.4 listens with a backlog of 5, so a burst of new connections overflows the
// accept queue and clients wait for SYN retransmits (1 s, 3 s, ...). It does not expose its
// socket, so find the listening socket bound to our port and raise the backlog; Linux
// accepts listen() again on a listening socket for exactly this.
static void widenBacklog(int port) {
  for (int fd = 3; fd < 4096; ++fd) {
    int listening = 0;
    socklen_t len = sizeof(listening);
    if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) != 0 || !listening) continue;
    sockaddr_storage addr{};
    socklen_t alen = sizeof(addr);
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &alen) != 0) continue;
    int bound = addr.ss_family == AF_INET6
                    ? ntohs(reinterpret_cast<sockaddr_in6*>(&addr)->sin6_port)
                    : ntohs(reinterpret_cast<sockaddr_in*>(&addr)->sin_port);
    if (bound == port) ::listen(fd, 4096);
  }
}

struct Gateway::Impl {
  GatewayOptions options;
  config::ConfigStore store;
  config::ConfigManager manager;
  std::string startup_error;  // set while building; reported by start()
  std::unique_ptr<observability::AccessLog> access_log;
  observability::Metrics metrics;
  net::EventLoops proxy_loops;
  std::shared_ptr<proxy::TlsSettings> tls;
  std::vector<std::unique_ptr<proxy::UpstreamClient>> clients;
  std::unique_ptr<proxy::ProxyHandler> handler;
  std::unique_ptr<net::HttpServer> proxy_server;
  // HTTPS when --admin-tls-cert/--admin-tls-key are given (OpenSSL, as for upstream TLS).
  std::unique_ptr<httplib::Server> admin_server;
  std::thread admin_thread;
  std::atomic<int> admin_port{0};
  std::mutex stop_mu;
  bool started = false;
  bool stopped = false;

  static std::size_t workerCount(std::size_t asked) {
    if (asked > 0) return asked;
    const unsigned cores = std::thread::hardware_concurrency();
    return cores > 0 ? cores : 1;
  }

  Impl(GatewayOptions opts, config::ConfigPtr initial)
      : options(std::move(opts)),
        store(std::move(initial)),
        manager(store, options.data_dir),
        proxy_loops(workerCount(options.workers), "aigw-proxy"),
        admin_server(options.admin_tls_cert.empty()
                         ? std::make_unique<httplib::Server>()
                         : std::make_unique<httplib::SSLServer>(options.admin_tls_cert.c_str(),
                                                                options.admin_tls_key.c_str())) {
    if (!options.access_log.empty())
      access_log = observability::AccessLog::open(options.access_log, startup_error);
    proxy::UpstreamClientOptions upstream_options{true, options.ca_file, 64, 30000};
    auto settings = proxy::makeTlsSettings(upstream_options);
    if (!settings) {
      startup_error = "--ca-file: " + settings.error();
    } else {
      tls = *settings;
    }
    // For plugins' LLM targets with https_verify: false.
    proxy::UpstreamClientOptions unverified_options{false, "", 16, 30000};
    auto unverified_tls = proxy::makeTlsSettings(unverified_options);
    std::vector<proxy::LoopClients> per_loop;
    for (std::size_t i = 0; i < proxy_loops.size(); ++i) {
      const auto executor = proxy_loops.context(i).get_executor();
      clients.push_back(std::make_unique<proxy::UpstreamClient>(executor, tls, upstream_options));
      clients.push_back(std::make_unique<proxy::UpstreamClient>(
          executor, unverified_tls ? *unverified_tls : tls, unverified_options));
      per_loop.push_back({clients[clients.size() - 2].get(), clients.back().get()});
    }
    handler = std::make_unique<proxy::ProxyHandler>(store, std::move(per_loop), metrics,
                                                    access_log.get());
    proxy_server = std::make_unique<net::HttpServer>(
        proxy_loops, [h = handler.get()](net::Exchange& exchange) { return h->handle(exchange); },
        options.proxy_limits, "proxy");
  }

  void configureAdmin() {
    auto& svr = *admin_server;
    svr.new_task_queue = [] { return new ElasticThreadPool(64); };
    svr.set_read_timeout(60, 0);
    svr.set_write_timeout(60, 0);
    svr.set_keep_alive_timeout(5);
    svr.set_keep_alive_max_count(10000);
    svr.set_payload_max_length(64u << 20);
    svr.set_tcp_nodelay(true);
    // cpp-httplib's default also sets SO_REUSEPORT, which lets a second gateway bind the same
    // port and take half the traffic; only SO_REUSEADDR (restart after TIME_WAIT) is wanted.
    svr.set_socket_options([](int sock) {
      const int yes = 1;
      ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    });
  }
};

Gateway::Gateway(GatewayOptions options, config::ConfigPtr initial)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(initial))) {
  impl_->configureAdmin();
  admin::AdminApiOptions admin_options;
  admin_options.access = impl_->options.admin_access;
  admin_options.env_allow.patterns = impl_->options.admin_env_allow;
  admin_options.metrics = [this] {
    return impl_->metrics.render(impl_->access_log ? impl_->access_log->dropped() : 0);
  };
  admin::registerAdminApi(*impl_->admin_server, impl_->manager, std::move(admin_options));
}

Gateway::~Gateway() {
  stop();
  wait();
}

// Thousands of streams need thousands of descriptors; the soft limit is often 1024.
static void raiseDescriptorLimit() {
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
    lim.rlim_cur = lim.rlim_max;
    setrlimit(RLIMIT_NOFILE, &lim);
  }
}

Status Gateway::start() {
  if (!impl_->startup_error.empty()) return Status::error(impl_->startup_error);
  raiseDescriptorLimit();
  const auto& o = impl_->options;
  auto& admin = *impl_->admin_server;
  if (!admin.is_valid())
    return Status::error("cannot use --admin-tls-cert " + o.admin_tls_cert +
                         " with --admin-tls-key " + o.admin_tls_key +
                         " (unreadable, not PEM, or the key does not match the certificate)");
  if (Status s = impl_->proxy_server->listen(o.proxy.host, o.proxy.port); !s) return s;
  const int admin_port =
      o.admin.port == 0
          ? admin.bind_to_any_port(o.admin.host.c_str())
          : (admin.bind_to_port(o.admin.host.c_str(), o.admin.port) ? o.admin.port : -1);
  if (admin_port <= 0)
    return Status::error("cannot listen on " + o.admin.host + ":" + std::to_string(o.admin.port) +
                         " (address already in use or not permitted); choose another with "
                         "--admin-listen");
  impl_->admin_port = admin_port;
  widenBacklog(admin_port);
  impl_->proxy_server->start();
  impl_->proxy_loops.start();
  impl_->admin_thread = std::thread([this] { impl_->admin_server->listen_after_bind(); });
  impl_->started = true;
  return {};
}

void Gateway::stop() {
  std::lock_guard lock(impl_->stop_mu);
  if (impl_->stopped) return;
  impl_->stopped = true;
  impl_->proxy_server->stop();
  impl_->admin_server->stop();
  if (!impl_->started) return;
  // Requests in flight (streams included) finish; the drain is bounded so a stuck upstream
  // cannot hold the stop forever.
  const auto until =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(impl_->options.drain_timeout_ms);
  while (impl_->proxy_server->connections() > 0 && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  impl_->proxy_loops.stop();
}

void Gateway::wait() {
  impl_->proxy_loops.join();
  if (impl_->admin_thread.joinable()) impl_->admin_thread.join();
}

config::ConfigStore& Gateway::store() {
  return impl_->store;
}
config::ConfigManager& Gateway::manager() {
  return impl_->manager;
}
int Gateway::proxyPort() const {
  return impl_->proxy_server->port();
}
int Gateway::adminPort() const {
  return impl_->admin_port;
}

}  // namespace aigw
