#include "server.hpp"

#include <httplib.h>
#include <netinet/in.h>
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
  proxy::UpstreamClient upstream;
  std::string access_log_error;  // set while access_log is opened; reported by start()
  std::unique_ptr<observability::AccessLog> access_log;
  observability::Metrics metrics;
  proxy::ProxyHandler handler;
  httplib::Server proxy_server;
  // HTTPS when --admin-tls-cert/--admin-tls-key are given (OpenSSL, as for upstream TLS).
  std::unique_ptr<httplib::Server> admin_server;
  std::thread proxy_thread, admin_thread;
  std::atomic<int> proxy_port{0}, admin_port{0};
  std::mutex stop_mu;
  bool stopped = false;

  Impl(GatewayOptions opts, config::ConfigPtr initial)
      : options(std::move(opts)),
        store(std::move(initial)),
        manager(store, options.data_dir),
        upstream(proxy::UpstreamClientOptions{true, options.ca_file, 64, 30000}),
        access_log(openAccessLog(options.access_log)),
        handler(store, upstream, metrics, access_log.get()),
        admin_server(options.admin_tls_cert.empty()
                         ? std::make_unique<httplib::Server>()
                         : std::make_unique<httplib::SSLServer>(options.admin_tls_cert.c_str(),
                                                                options.admin_tls_key.c_str())) {}

  std::unique_ptr<observability::AccessLog> openAccessLog(const std::string& path) {
    if (path.empty()) return nullptr;
    return observability::AccessLog::open(path, access_log_error);
  }

  void configure(httplib::Server& svr, std::size_t workers) {
    svr.new_task_queue = [workers] { return new ElasticThreadPool(workers); };
    svr.set_read_timeout(options.client_read_timeout_s, 0);
    svr.set_write_timeout(options.client_write_timeout_s, 0);
    svr.set_keep_alive_timeout(options.keep_alive_timeout_s);
    svr.set_keep_alive_max_count(10000);
    svr.set_payload_max_length(options.max_request_bytes);
    svr.set_tcp_nodelay(true);
  }
};

Gateway::Gateway(GatewayOptions options, config::ConfigPtr initial)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(initial))) {
  auto& s = impl_->proxy_server;
  impl_->configure(s, impl_->options.max_workers);
  auto handle = [this](const httplib::Request& req, httplib::Response& res) {
    impl_->handler.handle(req, res);
  };
  for (auto method : {&httplib::Server::Get, &httplib::Server::Post, &httplib::Server::Put,
                      &httplib::Server::Patch, &httplib::Server::Delete, &httplib::Server::Options})
    (s.*method)(".*", handle);
  s.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
    proxy::writeError(res, ApiError::internal("internal error while handling the request"));
  });
  s.set_error_handler([](const httplib::Request&, httplib::Response& res) {
    if (!res.body.empty()) return;
    if (res.status == 413)
      proxy::writeError(res, ApiError::payloadTooLarge("request body too large"));
    else if (res.status == 400)
      proxy::writeError(res, ApiError::badRequest("malformed HTTP request"));
  });
  impl_->configure(*impl_->admin_server, 64);
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

Status Gateway::start() {
  if (!impl_->access_log_error.empty()) return Status::error(impl_->access_log_error);
  auto bind = [](httplib::Server& svr, const ListenAddress& addr,
                 std::atomic<int>& port) -> Status {
    int bound = addr.port == 0 ? svr.bind_to_any_port(addr.host.c_str())
                               : (svr.bind_to_port(addr.host.c_str(), addr.port) ? addr.port : -1);
    if (bound <= 0)
      return Status::error(
          "cannot listen on " + addr.host + ":" + std::to_string(addr.port) +
          " (address in use or not permitted); choose another with --listen/--admin-listen");
    port = bound;
    widenBacklog(bound);
    return {};
  };
  if (Status s = bind(impl_->proxy_server, impl_->options.proxy, impl_->proxy_port); !s) return s;
  if (!impl_->admin_server->is_valid()) {
    impl_->proxy_server.stop();
    return Status::error("cannot use --admin-tls-cert " + impl_->options.admin_tls_cert +
                         " with --admin-tls-key " + impl_->options.admin_tls_key +
                         " (unreadable, not PEM, or the key does not match the certificate)");
  }
  if (Status s = bind(*impl_->admin_server, impl_->options.admin, impl_->admin_port); !s) {
    impl_->proxy_server.stop();
    return s;
  }
  impl_->proxy_thread = std::thread([this] { impl_->proxy_server.listen_after_bind(); });
  impl_->admin_thread = std::thread([this] { impl_->admin_server->listen_after_bind(); });
  return {};
}

void Gateway::stop() {
  std::lock_guard lock(impl_->stop_mu);
  if (impl_->stopped) return;
  impl_->stopped = true;
  impl_->proxy_server.stop();
  impl_->admin_server->stop();
}

void Gateway::wait() {
  if (impl_->proxy_thread.joinable()) impl_->proxy_thread.join();
  if (impl_->admin_thread.joinable()) impl_->admin_thread.join();
}

config::ConfigStore& Gateway::store() {
  return impl_->store;
}
config::ConfigManager& Gateway::manager() {
  return impl_->manager;
}
int Gateway::proxyPort() const {
  return impl_->proxy_port;
}
int Gateway::adminPort() const {
  return impl_->admin_port;
}

}  // namespace aigw
