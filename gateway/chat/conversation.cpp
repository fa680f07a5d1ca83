#include "chat/conversation.hpp"

namespace aigw::chat {

using Json = nlohmann::json;

Json Conversation::requestBody() const {
  Json messages = Json::array();
  if (!system.empty()) messages.push_back({{"role", "system"}, {"content", system}});
  for (const auto& t : turns_) messages.push_back(t);
  Json body = {{"messages", std::move(messages)}};
  if (!model.empty()) body["model"] = model;
  return body;
}

void Conversation::addUser(const std::string& text) {
  turns_.push_back({{"role", "user"}, {"content", text}});
}

void Conversation::addAssistant(const std::string& text) {
  turns_.push_back({{"role", "assistant"}, {"content", text}});
}

void Conversation::dropLastUser() {
  if (!turns_.empty() && turns_.back().value("role", "") == "user") turns_.erase(turns_.size() - 1);
}

Json Conversation::toJson(const std::string& url) const {
  Json out = {{"url", url}, {"messages", requestBody()["messages"]}};
  out["model"] = model.empty() ? Json(nullptr) : Json(model);
  out["system"] = system.empty() ? Json(nullptr) : Json(system);
  return out;
}

bool isCommand(const std::string& line) {
  return line.size() > 1 && line[0] == '/' && line[1] != '/' && line[1] != ' ';
}

SlashCommand parseCommand(const std::string& line) {
  SlashCommand c;
  const std::size_t space = line.find_first_of(" \t");
  c.name = line.substr(1, space == std::string::npos ? std::string::npos : space - 1);
  if (space != std::string::npos) {
    const std::size_t start = line.find_first_not_of(" \t", space);
    if (start != std::string::npos) c.arg = line.substr(start);
  }
  while (!c.arg.empty() && (c.arg.back() == ' ' || c.arg.back() == '\t')) c.arg.pop_back();
  return c;
}

}  // namespace aigw::chat
