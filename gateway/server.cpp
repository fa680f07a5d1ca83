#include "server.hpp"

#include <openssl/ssl.h>
#include <sys/resource.h>

#include <boost/asio/ssl/context.hpp>

#include "admin/admin_api.hpp"
#include "admin/admin_server.hpp"
#include "observability/access_log.hpp"
#include "observability/metrics.hpp"
#include "proxy/handler.hpp"
#include "proxy/upstream.hpp"

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
  // The admin API has a loop of its own: its writes fsync, which must never stall the proxy.
  net::EventLoops admin_loops{1, "aigw-admin"};
  std::unique_ptr<net::HttpServer> admin_server;
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
        proxy_loops(workerCount(options.workers), "aigw-proxy") {
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
    proxy_server->setDescriptorReclaimer([this](std::size_t loop) {
      return clients[2 * loop]->dropOneIdle() || clients[2 * loop + 1]->dropOneIdle();
    });
  }

  // HTTPS for the admin API when --admin-tls-cert/--admin-tls-key are given (the OpenSSL the
  // upstream client uses). Null when not configured or unusable (startup_error says why).
  std::shared_ptr<boost::asio::ssl::context> adminTls() {
    if (options.admin_tls_cert.empty()) return nullptr;
    auto ctx = std::make_shared<boost::asio::ssl::context>(boost::asio::ssl::context::tls_server);
    boost::system::error_code ec;
    ctx->set_options(boost::asio::ssl::context::default_workarounds |
                         boost::asio::ssl::context::no_sslv2 | boost::asio::ssl::context::no_sslv3 |
                         boost::asio::ssl::context::no_tlsv1 |
                         boost::asio::ssl::context::no_tlsv1_1,
                     ec);
    if (!ec) ctx->use_certificate_chain_file(options.admin_tls_cert, ec);
    if (!ec) ctx->use_private_key_file(options.admin_tls_key, boost::asio::ssl::context::pem, ec);
    if (!ec && SSL_CTX_check_private_key(ctx->native_handle()) != 1)
      ec = boost::asio::error::invalid_argument;
    if (ec) {
      startup_error = "cannot use --admin-tls-cert " + options.admin_tls_cert +
                      " with --admin-tls-key " + options.admin_tls_key +
                      " (unreadable, not PEM, or the key does not match the certificate)";
      return nullptr;
    }
    return ctx;
  }
};

Gateway::Gateway(GatewayOptions options, config::ConfigPtr initial)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(initial))) {
  admin::AdminApiOptions admin_options;
  admin_options.env_allow.patterns = impl_->options.admin_env_allow;
  admin_options.metrics = [this] {
    return impl_->metrics.render(impl_->access_log ? impl_->access_log->dropped() : 0);
  };
  auto handler = admin::makeAdminHandler(impl_->manager, std::move(admin_options));
  impl_->admin_server = std::make_unique<net::HttpServer>(
      impl_->admin_loops,
      admin::makeAdminNetHandler(std::move(handler), impl_->options.admin_access),
      admin::adminServerLimits(), "admin", impl_->adminTls());
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
  if (Status s = impl_->proxy_server->listen(o.proxy.host, o.proxy.port); !s) return s;
  if (Status s = impl_->admin_server->listen(o.admin.host, o.admin.port); !s) return s;
  impl_->proxy_server->start();
  impl_->admin_server->start();
  impl_->proxy_loops.start();
  impl_->admin_loops.start();
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
  impl_->admin_loops.stop();
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
  impl_->admin_loops.join();
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
  return impl_->admin_server->port();
}

}  // namespace aigw
