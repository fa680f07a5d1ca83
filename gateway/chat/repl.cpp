#include "chat/repl.hpp"

#include <signal.h>
#include <termios.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <iostream>
#include <sstream>

#include "chat/client.hpp"
#include "chat/conversation.hpp"
#include "chat/line_editor.hpp"
#include "chat/routes.hpp"
#include "config/persist.hpp"
#include "tty/tty.hpp"

namespace aigw::chat {

namespace {

std::atomic<bool> g_interrupted{false};

void onSigint(int) {
  g_interrupted.store(true);
}

struct Target {
  Endpoint endpoint;
  std::string label;  // route name, or the URL
  std::string model;  // the route's fixed model, when known
};

struct Failure {
  int code;
};

void fail(int code, const std::string& message) {
  std::cerr << "aigw chat: " << message << "\n";
  throw Failure{code};
}

Target fromRoute(const ChatOptions& o, const ChatRoute& r) {
  auto path = requestPath(r.path);
  if (!path) {
    fail(2, "route " + r.name + " has the regex path \"" + r.path +
                "\", which names no single URL; pass the URL instead: aigw chat " + o.url + "/...");
  }
  auto endpoint = parseUrl(o.url + *path);
  if (!endpoint) fail(2, "--url: expected http(s)://HOST:PORT, got \"" + o.url + "\"");
  return {*endpoint, r.name, r.model};
}

std::vector<ChatRoute> listRoutes(const ChatOptions& o) {
  auto routes = fetchChatRoutes(o.admin, o.admin_token);
  if (!routes) fail(1, routes.error());
  return *routes;
}

void printRoutes(const std::vector<ChatRoute>& routes, const std::string& current,
                 std::ostream& out) {
  for (std::size_t i = 0; i < routes.size(); ++i) {
    const auto& r = routes[i];
    out << (r.name == current ? " * " : "   ") << i + 1 << "  " << r.name << "  " << r.path << "  ("
        << (r.provider.empty() ? "?" : r.provider) << (r.model.empty() ? "" : " / " + r.model)
        << ")\n";
  }
}

// A route by number or name from `routes`; nullopt when it matches none.
std::optional<ChatRoute> pick(const std::vector<ChatRoute>& routes, const std::string& answer) {
  if (!answer.empty() && answer.find_first_not_of("0123456789") == std::string::npos) {
    const std::size_t n = std::stoul(answer.substr(0, 6));
    if (n >= 1 && n <= routes.size()) return routes[n - 1];
    return std::nullopt;
  }
  for (const auto& r : routes)
    if (r.name == answer) return r;
  return std::nullopt;
}

Target resolve(const ChatOptions& o, bool interactive) {
  const std::string& t = o.target;
  if (t.rfind("http://", 0) == 0 || t.rfind("https://", 0) == 0) {
    auto e = parseUrl(t);
    if (!e) fail(2, "not a URL: " + t);
    return {*e, t, ""};
  }
  if (!t.empty() && t.front() == '/') {
    auto e = parseUrl(o.url + t);
    if (!e) fail(2, "--url: expected http(s)://HOST:PORT, got \"" + o.url + "\"");
    return {*e, t, ""};
  }
  const auto routes = listRoutes(o);
  if (!t.empty()) {
    for (const auto& r : routes)
      if (r.name == t) return fromRoute(o, r);
    std::string names;
    for (const auto& r : routes) names += (names.empty() ? "" : ", ") + r.name;
    fail(2, "no chat route named \"" + t + "\" on the gateway at " + o.admin +
                (names.empty() ? " (it has no chat routes)" : "; chat routes: " + names));
  }
  if (routes.empty()) {
    fail(1, "the gateway at " + o.admin +
                " has no chat routes (ai-proxy with route_type llm/v1/chat); add one "
                "(aigw quickstart), or pass a URL");
  }
  if (routes.size() == 1) return fromRoute(o, routes[0]);
  if (!interactive) {
    std::string names;
    for (const auto& r : routes) names += (names.empty() ? "" : ", ") + r.name;
    fail(2, "which route? pass one of: " + names);
  }
  std::cout << "Chat routes on " << o.admin << ":\n";
  printRoutes(routes, "", std::cout);
  while (true) {
    std::cout << "Route (number or name): " << std::flush;
    auto answer = tty::readLine();
    if (!answer) throw Failure{0};
    if (auto r = pick(routes, *answer)) return fromRoute(o, *r);
  }
}

std::string formatMs(double ms) {
  char buf[32];
  if (ms < 1000)
    std::snprintf(buf, sizeof buf, "%.0f ms", ms);
  else
    std::snprintf(buf, sizeof buf, "%.2f s", ms / 1000);
  return buf;
}

// "model · 12 in / 40 out tokens · first token 210 ms · 1.35 s"
std::string statsLine(const Reply& r, const tty::Style& style) {
  const std::string sep = style.color() ? " · " : " | ";
  std::string line = r.model.empty() ? "model ?" : r.model;
  auto count = [](const std::optional<long long>& n) {
    return n ? std::to_string(*n) : std::string("?");
  };
  line += sep + count(r.prompt_tokens) + " in / " + count(r.completion_tokens) + " out tokens";
  if (r.first_token_ms >= 0) line += sep + "first token " + formatMs(r.first_token_ms);
  line += sep + "total " + formatMs(r.total_ms);
  return style.color() ? style.dim(line) : "[" + line + "]";
}

std::string readAllStdin() {
  std::ostringstream s;
  s << std::cin.rdbuf();
  std::string text = s.str();
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  return text;
}

int oneShot(const ChatOptions& o, const Target& target, const std::string& text) {
  Conversation conv;
  conv.system = o.system;
  conv.model = o.model;
  conv.addUser(text);
  bool ended_with_newline = true;
  auto reply = complete(target.endpoint, conv.requestBody(), {!o.no_stream, o.key},
                        [&](std::string_view piece) {
                          std::cout << piece << std::flush;
                          ended_with_newline = piece.back() == '\n';
                        });
  if (!ended_with_newline) std::cout << "\n" << std::flush;
  if (reply.outcome != Reply::Outcome::kOk) {
    std::cerr << "aigw chat: " << reply.error << "\n";
    return 1;
  }
  if (tty::isTty(STDERR_FILENO))
    std::cerr << statsLine(reply, tty::Style(tty::wantsColor(STDERR_FILENO))) << "\n";
  return 0;
}

// Echo off while an answer streams (typing must not break into it); Ctrl-C still signals.
class QuietInput {
 public:
  QuietInput() {
    if (!tty::isTty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &saved_) != 0) return;
    termios quiet = saved_;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    quiet.c_lflag |= ISIG;
    active_ = tcsetattr(STDIN_FILENO, TCSANOW, &quiet) == 0;
  }
  ~QuietInput() {
    if (active_) tcsetattr(STDIN_FILENO, TCSANOW, &saved_);
  }

 private:
  termios saved_{};
  bool active_ = false;
};

class Repl {
 public:
  Repl(const ChatOptions& o, Target target)
      : o_(o), target_(std::move(target)), style_(tty::wantsColor(STDOUT_FILENO)) {
    conv_.system = o.system;
    conv_.model = o.model;
  }

  int run() {
    struct sigaction sa {};
    sa.sa_handler = onSigint;  // no SA_RESTART: a blocked read returns at once
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, nullptr);
    banner();
    while (true) {
      auto message = readMessage();
      if (!message) return 0;
      if (message->empty()) continue;
      if (isCommand(*message)) {
        if (!command(parseCommand(*message))) return 0;
        // A Ctrl-C while a command ran (a slow /routes) is spent; it must not end the REPL at
        // the next prompt.
        g_interrupted.store(false);
        continue;
      }
      send(message->rfind("//", 0) == 0 ? message->substr(1) : *message);
    }
  }

 private:
  void banner() {
    std::cout << style_.bold("aigw chat") << " " << target_.label << "  "
              << style_.dim(target_.endpoint.url())
              << (target_.model.empty() ? "" : "  (" + target_.model + ")") << "\n"
              << style_.dim(
                     "Enter sends; end a line with \\ to continue it; /help lists commands; "
                     "Ctrl-C stops an answer; Ctrl-D exits.")
              << "\n";
  }

  // The next message, lines joined while they end with "\" or come from a paste; nullopt = exit.
  std::optional<std::string> readMessage() {
    std::string message;
    bool more = false;
    while (true) {
      std::cout << std::flush;
      const std::string prompt = more ? style_.dim("... ") : style_.bold("> ");
      auto in = editor_.read(prompt);
      if (in.status == LineEditor::Status::kEof) {
        if (more) return message;  // what was typed so far is still sent
        return std::nullopt;
      }
      if (in.status == LineEditor::Status::kInterrupted) {
        g_interrupted.store(false);
        if (in.text.empty() && !more) return std::nullopt;  // Ctrl-C on an empty prompt exits
        message.clear();
        more = false;
        continue;
      }
      std::string line = in.text;
      const bool backslash = !line.empty() && line.back() == '\\';
      if (backslash) line.pop_back();
      message += (more ? "\n" : "") + line;
      more = backslash || in.continued;
      if (!more) break;
    }
    while (!message.empty() && (message.back() == '\n' || message.back() == ' '))
      message.pop_back();
    editor_.addHistory(message);
    return message;
  }

  void send(const std::string& text) {
    conv_.addUser(text);
    g_interrupted.store(false);
    QuietInput quiet;
    auto spinner =
        std::make_unique<tty::Spinner>(STDOUT_FILENO, tty::isTty(STDOUT_FILENO), style_.color());
    bool ended_with_newline = true;
    auto reply = complete(
        target_.endpoint, conv_.requestBody(), {!o_.no_stream, o_.key},
        [&](std::string_view piece) {
          if (spinner) spinner.reset();
          std::cout << piece << std::flush;
          ended_with_newline = piece.back() == '\n';
        },
        &g_interrupted);
    spinner.reset();
    if (!ended_with_newline) std::cout << "\n";
    switch (reply.outcome) {
      case Reply::Outcome::kOk:
        conv_.addAssistant(reply.content);
        std::cout << statsLine(reply, style_) << "\n";
        break;
      case Reply::Outcome::kCancelled:
        if (reply.content.empty())
          conv_.dropLastUser();
        else
          conv_.addAssistant(reply.content);
        std::cout << style_.yellow("[stopped]") << "\n";
        break;
      case Reply::Outcome::kError:
        conv_.dropLastUser();
        std::cout << std::flush;
        std::cerr << style_.fail() << " " << reply.error << "\n";
        break;
    }
    g_interrupted.store(false);
  }

  // false = leave the REPL.
  bool command(const SlashCommand& c) {
    if (c.name == "exit" || c.name == "quit" || c.name == "q") return false;
    if (c.name == "help" || c.name == "?") {
      std::cout << "  /reset          forget the conversation (system prompt and model stay)\n"
                   "  /system [TEXT]  show or set the system prompt (/system none clears it)\n"
                   "  /model [NAME]   show or set the model sent with each request\n"
                   "  /routes [N|NAME]  list the gateway's chat routes, or switch to one\n"
                   "  /save FILE      write the conversation as JSON\n"
                   "  /exit           leave (also Ctrl-D, or Ctrl-C on an empty prompt)\n"
                   "  A line ending in \\ continues on the next; //text sends /text.\n";
    } else if (c.name == "reset") {
      conv_.reset();
      std::cout << "conversation cleared\n";
    } else if (c.name == "system") {
      if (c.arg.empty()) {
        std::cout << (conv_.system.empty() ? "no system prompt" : "system: " + conv_.system)
                  << "\n";
      } else {
        conv_.system = c.arg == "none" ? "" : c.arg;
        std::cout << (conv_.system.empty() ? "system prompt cleared" : "system prompt set") << "\n";
      }
    } else if (c.name == "model") {
      if (!c.arg.empty()) conv_.model = c.arg == "none" ? "" : c.arg;
      std::cout << "model: "
                << (conv_.model.empty()
                        ? "the route's (" +
                              (target_.model.empty() ? std::string("not fixed") : target_.model) +
                              ")"
                        : conv_.model)
                << "\n";
    } else if (c.name == "routes" || c.name == "route") {
      routes(c.arg);
    } else if (c.name == "save") {
      save(c.arg);
    } else {
      std::cout << "unknown command /" << c.name << "; /help lists them\n";
    }
    return true;
  }

  void routes(const std::string& arg) {
    auto list = fetchChatRoutes(o_.admin, o_.admin_token);
    if (!list) {
      std::cerr << style_.fail() << " " << list.error() << "\n";
      return;
    }
    if (arg.empty()) {
      printRoutes(*list, target_.label, std::cout);
      std::cout << "/routes N switches (the conversation is kept)\n";
      return;
    }
    auto r = pick(*list, arg);
    if (!r) {
      std::cout << "no chat route " << arg << "\n";
      return;
    }
    try {
      target_ = fromRoute(o_, *r);
      std::cout << "now on " << target_.label << " " << style_.dim(target_.endpoint.url()) << "\n";
    } catch (const Failure&) {
    }
  }

  void save(const std::string& file) {
    if (file.empty()) {
      std::cout << "usage: /save FILE\n";
      return;
    }
    const std::string text = conv_.toJson(target_.endpoint.url()).dump(2) + "\n";
    if (auto s = config::atomicWriteFile(file, text, 0600); !s) {
      std::cerr << style_.fail() << " " << s.message() << "\n";
      return;
    }
    std::cout << "saved " << conv_.size() << " messages to " << file << "\n";
  }

  const ChatOptions& o_;
  Target target_;
  tty::Style style_;
  Conversation conv_;
  // Prompts go to the terminal even when the answers are piped on (aigw chat | tee log).
  LineEditor editor_{&g_interrupted, STDIN_FILENO,
                     tty::isTty(STDOUT_FILENO) ? STDOUT_FILENO : STDERR_FILENO};
};

}  // namespace

int runChat(const ChatOptions& o) {
  try {
    const bool piped = !tty::isTty(STDIN_FILENO);
    const bool one_shot = o.has_message || piped;
    Target target = resolve(o, !one_shot);
    if (!one_shot) return Repl(o, std::move(target)).run();
    const std::string text = o.has_message ? o.message : readAllStdin();
    if (text.empty()) fail(2, "nothing to send (-m TEXT, or text on stdin)");
    return oneShot(o, target, text);
  } catch (const Failure& f) {
    return f.code;
  }
}

}  // namespace aigw::chat
