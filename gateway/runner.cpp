#include "runner.hpp"

#include <pthread.h>
#include <signal.h>

#include <iostream>

#include "config/load.hpp"

namespace aigw {

namespace {

void reload(Gateway& gateway, const std::string& file) {
  if (file.empty()) {
    std::cerr << "aigw: SIGHUP ignored (no -c file to re-read)\n";
    return;
  }
  auto cfg = config::loadFile(file);
  if (!cfg) {
    std::cerr << "aigw: reload failed, keeping the running config:\n" << cfg.error() << "\n";
    return;
  }
  if (auto applied = gateway.manager().apply(*(*cfg)->source); !applied) {
    std::cerr << "aigw: reload failed, keeping the running config:\n"
              << applied.error().toString() << "\n";
    return;
  }
  std::cerr << "aigw: reloaded " << file << " (" << (*cfg)->routes.size() << " routes)\n";
}

}  // namespace

int runUntilSignalled(const RunOptions& options, config::ConfigPtr initial,
                      const std::function<void(Gateway&)>& on_started) {
  // Blocked before the gateway starts its threads, so they inherit the mask and only
  // sigwait() below ever sees these signals.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  const GatewayOptions& g = options.gateway;
  Gateway gateway(g, initial);
  if (options.persist_initial) {
    if (auto saved = gateway.manager().apply(*initial->source); !saved) {
      std::cerr << "aigw: " << saved.error().toString() << "\n";
      return 1;
    }
  }
  if (Status s = gateway.start(); !s) {
    std::cerr << "aigw: " << s.message() << "\n";
    return 1;
  }
  for (const auto& notice : initial->notices) std::cerr << "aigw: notice: " << notice << "\n";
  std::cerr << "aigw " << AIGW_VERSION << ": proxy on " << g.proxy.host << ":"
            << gateway.proxyPort() << ", admin on " << g.admin.host << ":" << gateway.adminPort()
            << " (" << initial->routes.size() << " routes)\n";
  if (on_started) on_started(gateway);
  while (true) {
    int sig = 0;
    if (sigwait(&signals, &sig) != 0) continue;
    if (sig == SIGHUP) {
      reload(gateway, options.config_file);
      continue;
    }
    std::cerr << "aigw: stopping (finishing in-flight requests)\n";
    gateway.stop();
    gateway.wait();
    std::cerr << "aigw: stopped\n";
    return 0;
  }
}

}  // namespace aigw
