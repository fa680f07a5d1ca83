// One line per subcommand; each lives in its own file.
#pragma once

#include <CLI/CLI.hpp>

namespace aigw::cli {

void setupServe(CLI::App& app);
void setupValidate(CLI::App& app);
void setupVersion(CLI::App& app);
void setupSync(CLI::App& app);
void setupDiff(CLI::App& app);
void setupReset(CLI::App& app);
void setupDump(CLI::App& app);
void setupQuickstart(CLI::App& app);
void setupChat(CLI::App& app);

// Exit codes (BRIEF §2): 0 success, 1 runtime failure, 2 usage or validation error.
inline constexpr int kExitOk = 0;
inline constexpr int kExitRuntime = 1;
inline constexpr int kExitUsage = 2;

// Thrown by a command to end with a code after printing its own message.
struct Exit {
  int code;
};

}  // namespace aigw::cli
