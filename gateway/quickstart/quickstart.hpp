// `aigw quickstart`: from nothing to a running gateway with one chat route per provider.
// Asks (or, with --yes, takes from the environment) which providers to enable and their keys,
// writes DIR/aigw.yaml, DIR/.env (0600) and DIR/README.md, then serves: in this process until
// Ctrl-C, or in the background (--detach), or not at all (--no-serve).
// Thread-safety: run() is the whole command; call it once, from the main thread.
#pragma once

#include <string>

#include "quickstart/generate.hpp"
#include "tty/tty.hpp"

namespace aigw::quickstart {

struct Options {
  std::string dir = "aigw-quickstart";
  bool yes = false;
  int port = 8000;
  int admin_port = 8001;
  bool detach = false;
  bool no_serve = false;
  // Non-empty: every route needs this gateway key (key-auth; kept in .env as AIGW_API_KEY).
  std::string api_key;
};

// The exit code (0 ok, 1 runtime failure, 2 refused or bad input).
int run(const Options& options);

// Interactive choice of providers and keys on the terminal (prompts.cpp). `known` holds the
// defaults (environment, then an earlier .env); `ollama_models` is empty when none answered.
Plan askPlan(const EnvLookup& known, const std::vector<std::string>& ollama_models,
             const std::string& ollama_url, const tty::Style& style);

struct ReadyInfo {
  std::string dir;  // absolute
  int port = 8000;
  int admin_port = 8001;
  bool detached = false;
  long pid = 0;
};
// The "ready" section printed once the gateway answers: routes, a curl and an `aigw chat` line
// for each, where the files are, how to stop.
std::string readySection(const Plan& plan, const ReadyInfo& info, const tty::Style& style);

}  // namespace aigw::quickstart
