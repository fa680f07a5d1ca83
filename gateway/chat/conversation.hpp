// The state of one `aigw chat` session: system prompt, model override and the turns so far.
// Thread-safety: a plain value, used by the REPL thread only.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace aigw::chat {

class Conversation {
 public:
  std::string system;  // empty = none
  std::string model;   // empty = the route's model

  // The request body for the next call: the system message first, then the turns.
  nlohmann::json requestBody() const;
  void addUser(const std::string& text);
  void addAssistant(const std::string& text);
  // Takes back the last user turn (its answer failed, or was stopped before any token).
  void dropLastUser();
  // Forgets the turns; the system prompt and model stay.
  void reset() { turns_ = nlohmann::json::array(); }
  std::size_t size() const { return turns_.size(); }
  // What /save writes: {"url", "model", "system", "messages"} with messages as sent.
  nlohmann::json toJson(const std::string& url) const;

 private:
  nlohmann::json turns_ = nlohmann::json::array();
};

// A REPL line that starts with "/": the command word (without the slash) and the rest.
// "//text" is not a command (it sends "/text"); see isCommand.
struct SlashCommand {
  std::string name;
  std::string arg;
};
bool isCommand(const std::string& line);
SlashCommand parseCommand(const std::string& line);

}  // namespace aigw::chat
