// `aigw chat`: resolve the target (route name, URL, or a pick from the gateway's chat routes),
// then answer once (-m TEXT, or piped stdin) or run the REPL.
// One-shot prints only the answer on stdout; status and errors go to stderr.
// REPL: Ctrl-C during an answer stops it; what had arrived is kept in the conversation as the
// assistant's turn (an answer stopped before its first token is dropped with its question), so
// the next question has the context the user saw.
// Thread-safety: runChat() is the whole command; call it once, from the main thread.
#pragma once

#include <string>

namespace aigw::chat {

struct ChatOptions {
  std::string target;       // ROUTE name, http(s) URL, "/path", or empty
  std::string url;          // proxy base
  std::string admin;        // admin API base
  std::string admin_token;  // sent as Kong-Admin-Token when set (else AIGW_ADMIN_TOKEN)
  std::string model;
  std::string system;
  std::string message;
  bool has_message = false;
  bool no_stream = false;
  std::string key;
};

// The exit code: 0 ok, 1 runtime failure (gateway down, HTTP error, error event), 2 usage.
int runChat(const ChatOptions& options);

}  // namespace aigw::chat
