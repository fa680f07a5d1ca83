#include "quickstart/quickstart.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "config/load.hpp"
#include "config/persist.hpp"
#include "quickstart/process.hpp"
#include "runner.hpp"

namespace aigw::quickstart {

namespace fs = std::filesystem;

namespace {

constexpr int kOllamaProbeMs = 800;
constexpr int kReadyTimeoutMs = 15000;
constexpr int kStopTimeoutMs = 10000;

std::string readText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

bool confirmOverwrite(const std::string& dir, const tty::Style& style) {
  std::cout << style.warn() << " " << dir << " already holds a quickstart (aigw.yaml / .env). "
            << "Overwrite it? [y/N] " << std::flush;
  auto answer = tty::readLine();
  if (!answer) std::cout << "\n";
  const std::string a = answer.value_or("");
  return a == "y" || a == "Y" || a == "yes";
}

// The values offered as defaults: the environment first, then what an earlier run saved.
EnvLookup knownValues(const std::string& env_file) {
  std::map<std::string, std::string, std::less<>> saved;
  for (auto& [k, v] : parseEnvFile(readText(env_file))) saved[k] = v;
  return [saved](std::string_view name) {
    if (const char* v = std::getenv(std::string(name).c_str()); v && *v) return std::string(v);
    auto it = saved.find(name);
    return it == saved.end() ? std::string() : it->second;
  };
}

Status writeFiles(const std::string& dir, const Plan& plan, const Options& o) {
  std::error_code ec;
  fs::create_directories(dir + "/data", ec);
  if (ec) return Status::error("cannot create " + dir + "/data: " + ec.message());
  // .env first: it holds the keys and must never exist with a wider mode, even briefly.
  if (auto s = config::atomicWriteFile(dir + "/.env", renderEnvFile(plan), 0600); !s) return s;
  if (auto s = config::atomicWriteFile(dir + "/aigw.yaml", renderConfig(plan), 0644); !s) return s;
  const ReadmeInfo info{dir, o.port, o.admin_port};
  if (auto s = config::atomicWriteFile(dir + "/README.md", renderReadme(plan, info), 0644); !s)
    return s;
  return config::atomicWriteFile(dir + "/.gitignore", ".env\ndata/\naigw.log\naigw.pid\n", 0644);
}

// The gateway reads ${{ env }} from its own environment, so the keys go there first.
void loadEnvFile(const std::string& path) {
  for (const auto& [k, v] : parseEnvFile(readText(path))) ::setenv(k.c_str(), v.c_str(), 1);
}

void printPlan(const Plan& plan, const tty::Style& style) {
  if (plan.demo()) {
    std::cout << style.warn() << " No real provider configured: using aigw's built-in "
              << style.bold("mock") << " provider.\n"
              << "  It is a demo model: no real LLM is called, the answers are canned text.\n"
              << "  For a real model, set a key (e.g. export OPENAI_API_KEY=...) or start Ollama,\n"
              << "  then run `aigw quickstart` again.\n";
    return;
  }
  for (const auto& r : plan.routes)
    std::cout << style.ok() << " " << r.name() << ": " << r.provider << " / " << r.model << "\n";
}

int serveForeground(const std::string& dir, const Plan& plan, const Options& o,
                    config::ConfigPtr cfg, const tty::Style& style) {
  RunOptions run;
  run.gateway.proxy = {"127.0.0.1", o.port};
  run.gateway.admin = {"127.0.0.1", o.admin_port};
  run.gateway.data_dir = dir + "/data";
  run.config_file = dir + "/aigw.yaml";
  run.persist_initial = true;
  const int code = runUntilSignalled(run, cfg, [&](Gateway& gw) {
    ReadyInfo info{dir, gw.proxyPort(), gw.adminPort(), false, 0};
    if (!waitUntilAnswering(info.port, info.admin_port, kReadyTimeoutMs, {})) {
      std::cout << style.warn() << " the gateway started but does not answer yet\n";
    }
    std::cout << readySection(plan, info, style) << std::flush;
  });
  if (code != 0) {
    std::cerr << "aigw quickstart: the gateway did not start; is another one using port " << o.port
              << " or " << o.admin_port << "? Pass --port / --admin-port, or stop it.\n";
  }
  return code;
}

int serveDetached(const std::string& dir, const Plan& plan, const Options& o,
                  const tty::Style& style) {
  const std::vector<std::string> argv = {selfExecutable(),
                                         "serve",
                                         "-c",
                                         dir + "/aigw.yaml",
                                         "--listen",
                                         "127.0.0.1:" + std::to_string(o.port),
                                         "--admin-listen",
                                         "127.0.0.1:" + std::to_string(o.admin_port),
                                         "--data-dir",
                                         dir + "/data"};
  auto pid = spawnDetached(argv, dir + "/aigw.log");
  if (!pid) {
    std::cerr << "aigw quickstart: " << pid.error() << "\n";
    return 1;
  }
  if (auto s = config::atomicWriteFile(dir + "/aigw.pid", std::to_string(*pid) + "\n", 0644); !s) {
    std::cerr << "aigw quickstart: " << s.message() << "\n";
  }
  const pid_t child = *pid;
  if (!waitUntilAnswering(o.port, o.admin_port, kReadyTimeoutMs,
                          [child] { return childAlive(child); })) {
    const bool alive = childAlive(child);
    if (alive) stopProcess(child, kStopTimeoutMs);
    std::error_code ec;
    fs::remove(dir + "/aigw.pid", ec);
    std::cerr << "aigw quickstart: the gateway "
              << (alive ? "did not answer in time" : "exited at start") << "; the end of " << dir
              << "/aigw.log:\n"
              << tailFile(dir + "/aigw.log", 10);
    return 1;
  }
  std::cout << readySection(plan, {dir, o.port, o.admin_port, true, static_cast<long>(child)},
                            style)
            << std::flush;
  return 0;
}

}  // namespace

int run(const Options& o) {
  const tty::Style style(tty::wantsColor(STDOUT_FILENO));
  std::error_code ec;
  const std::string dir = fs::absolute(o.dir, ec).lexically_normal().string();
  if (fs::exists(dir, ec) && !fs::is_directory(dir, ec)) {
    std::cerr << "aigw quickstart: " << dir << " exists and is not a directory; pass -o DIR\n";
    return 2;
  }
  // A port already taken would only show once everything is written and the gateway fails
  // to start: check first, and name who holds it (the gateway started earlier from this
  // directory is fine, it is stopped before the new one starts).
  if (!o.no_serve) {
    const auto previous = runningGateway(dir + "/aigw.pid");
    for (const int port : {o.port, o.admin_port}) {
      const auto holder = portListener(port);
      if (!holder || (previous && holder->pid == *previous)) continue;
      std::cerr << "aigw quickstart: port " << port << " is already in use";
      if (holder->pid > 0) std::cerr << " by pid " << holder->pid << " (" << holder->command << ")";
      std::cerr << "; pass " << (port == o.port ? "--port" : "--admin-port")
                << " N, or stop it. Nothing was written.\n";
      return 1;
    }
  }
  const bool existing = fs::exists(dir + "/aigw.yaml", ec) || fs::exists(dir + "/.env", ec);
  std::cout << style.bold("aigw quickstart") << ": a local AI gateway in " << dir << "\n";
  if (existing && !o.yes && !confirmOverwrite(dir, style)) {
    std::cerr << "aigw quickstart: left " << dir << " as it is (answer y, pass --yes, or -o DIR)\n";
    return 2;
  }

  const char* ollama_host = std::getenv("OLLAMA_HOST");
  const std::string ollama_url = ollamaBaseUrl(ollama_host ? ollama_host : "");
  std::cout << "Looking for Ollama at " << ollama_url << " ... " << std::flush;
  const auto models = probeOllama(ollama_url, kOllamaProbeMs);
  if (!models)
    std::cout << "not running\n";
  else
    std::cout << "found, " << models->size() << " model(s)"
              << (models->empty() ? " (ollama pull llama3.2 to get one)" : "") << "\n";
  const std::vector<std::string> ollama_models = models.value_or(std::vector<std::string>{});

  const EnvLookup known = knownValues(dir + "/.env");
  Plan plan = o.yes ? planFromEnvironment(known, ollama_models, ollama_url)
                    : askPlan(known, ollama_models, ollama_url, style);
  if (plan.routes.empty()) plan.routes.push_back(mockRoute());
  if (!o.api_key.empty()) {
    plan.gateway_key = true;
    plan.addSecret("AIGW_API_KEY", o.api_key);
  }
  std::cout << "\n";
  printPlan(plan, style);

  if (auto s = writeFiles(dir, plan, o); !s) {
    std::cerr << "aigw quickstart: " << s.message() << "\n";
    return 1;
  }
  std::cout << style.ok() << " wrote " << dir << "/aigw.yaml, .env (mode 0600), README.md\n";

  loadEnvFile(dir + "/.env");
  auto cfg = config::loadFile(dir + "/aigw.yaml");
  if (!cfg) {
    std::cerr << "aigw quickstart: the generated config does not load (a bug; please report it):\n"
              << cfg.error() << "\n";
    return 1;
  }

  const auto previous = runningGateway(dir + "/aigw.pid");
  if (o.no_serve) {
    if (previous) {
      std::cout << style.warn() << " the gateway started earlier from " << dir << " (pid "
                << *previous << ") still runs the old config; stop it with kill " << *previous
                << "\n";
    }
    std::cout << "\nStart it with:\n  (set -a; . " << dir << "/.env; exec aigw serve -c " << dir
              << "/aigw.yaml --listen 127.0.0.1:" << o.port
              << " --admin-listen 127.0.0.1:" << o.admin_port << " --data-dir " << dir << "/data)\n"
              << "or run `aigw quickstart -o " << dir << "` again. Next steps: " << dir
              << "/README.md\n";
    return 0;
  }
  if (previous) {
    std::cout << "Stopping the gateway started earlier from " << dir << " (pid " << *previous
              << ")\n";
    if (!stopProcess(*previous, kStopTimeoutMs)) {
      std::cerr << "aigw quickstart: pid " << *previous << " did not stop; stop it and try again\n";
      return 1;
    }
    fs::remove(dir + "/aigw.pid", ec);
  }
  std::cout << "\nStarting the gateway ...\n" << std::flush;
  return o.detach ? serveDetached(dir, plan, o, style) : serveForeground(dir, plan, o, *cfg, style);
}

std::string readySection(const Plan& plan, const ReadyInfo& info, const tty::Style& style) {
  const std::string base = "http://127.0.0.1:" + std::to_string(info.port);
  std::ostringstream out;
  out << "\n"
      << style.ok() << " " << style.bold("aigw is ready") << ": proxy " << base
      << ", admin API http://127.0.0.1:" << info.admin_port << "\n";
  for (const auto& r : plan.routes) {
    out << "\n  " << style.bold(r.name()) << "  " << r.provider << " / " << r.model
        << (r.provider == "mock" ? style.dim("  (demo model, no real LLM)") : "") << "\n"
        << "    curl -s " << base << r.path()
        << (plan.gateway_key ? " -H \"apikey: $AIGW_API_KEY\"" : "")
        << " -H 'Content-Type: application/json' -d "
           "'{\"messages\":[{\"role\":\"user\",\"content\":\"Say hello\"}]}'\n"
        << "    aigw chat " << r.name() << chatFlags(info.port, info.admin_port)
        << (plan.gateway_key ? " --api-key \"$AIGW_API_KEY\"" : "") << "\n";
  }
  if (plan.gateway_key)
    out << "\n  Every route needs the gateway key AIGW_API_KEY (in " << info.dir
        << "/.env): set -a; . " << info.dir << "/.env\n";
  out << "\nFiles in " << info.dir << ":\n"
      << "  aigw.yaml   the config (keys appear only as ${{ env \"NAME\" }} references)\n"
      << "  .env        your keys (mode 0600)\n"
      << "  README.md   next steps\n";
  if (info.detached) {
    out << "\nRunning in the background: pid " << info.pid << ", log " << info.dir << "/aigw.log\n"
        << "Stop it with: kill $(cat " << info.dir << "/aigw.pid)\n";
  } else {
    out << "\n" << style.bold("Ctrl-C to stop.") << "\n";
  }
  return out.str();
}

}  // namespace aigw::quickstart
