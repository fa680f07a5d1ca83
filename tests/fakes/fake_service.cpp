// An ordinary (non-AI) HTTP service under /svc, for routes without ai-proxy: what the gateway
// forwards is echoed back so tests can assert on it.
//   ANY  /svc/...                 200 JSON {"method","path","query","headers","body"} (header
//                                 names lower-case); ?status=N answers N instead; ?set=Name:Value
//                                 adds a response header
//   GET  /svc/stream/<n>?pace=ms  n chunks "piece <i>\n", each written on its own, then the end
//   GET  /svc/cut/<n>             n chunks, then the connection is dropped (no last chunk)
//   GET  /svc/bytes/<n>           n bytes of 'x' (Content-Length)
//   ANY  /svc/nocontent           204
#include <httplib.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

namespace aigw::fake {

namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

std::size_t tailNumber(const std::string& path) {
  const auto slash = path.rfind('/');
  try {
    return std::min<std::size_t>(std::stoul(path.substr(slash + 1)), 64u << 20);
  } catch (...) {
    return 0;
  }
}

void echo(const httplib::Request& req, httplib::Response& res) {
  if (req.path == "/svc/nocontent") {
    res.status = 204;
    return;
  }
  if (req.path.rfind("/svc/bytes/", 0) == 0) {
    res.set_content(std::string(tailNumber(req.path), 'x'), "application/octet-stream");
    return;
  }
  if (req.path.rfind("/svc/stream/", 0) == 0 || req.path.rfind("/svc/cut/", 0) == 0) {
    const std::size_t n = tailNumber(req.path);
    const bool cut = req.path.rfind("/svc/cut/", 0) == 0;
    const int pace = req.has_param("pace") ? std::stoi(req.get_param_value("pace")) : 0;
    res.set_chunked_content_provider(
        "text/plain",
        [n, cut, pace, i = std::size_t{0}](std::size_t, httplib::DataSink& sink) mutable {
          if (i == n) {
            if (cut) return false;  // drops the connection without the last chunk
            sink.done();
            return true;
          }
          if (pace > 0 && i > 0) std::this_thread::sleep_for(std::chrono::milliseconds(pace));
          const std::string piece = "piece " + std::to_string(i++) + "\n";
          return sink.write(piece.data(), piece.size());
        });
    return;
  }
  nlohmann::json headers = nlohmann::json::object();
  for (const auto& [name, value] : req.headers) {
    auto& slot = headers[lower(name)];
    slot = slot.is_string() ? nlohmann::json(slot.get<std::string>() + ", " + value)
                            : nlohmann::json(value);
  }
  const auto q = req.target.find('?');
  nlohmann::json out = {{"method", req.method},
                        {"path", req.target.substr(0, q)},
                        {"query", q == std::string::npos ? "" : req.target.substr(q + 1)},
                        {"headers", headers},
                        {"body", req.body}};
  if (req.has_param("status")) res.status = std::stoi(req.get_param_value("status"));
  if (req.has_param("set")) {
    const std::string set = req.get_param_value("set");
    const auto colon = set.find(':');
    if (colon != std::string::npos) res.set_header(set.substr(0, colon), set.substr(colon + 1));
  }
  res.set_content(out.dump(), "application/json");
}

}  // namespace

void registerOrdinaryService(httplib::Server& svr) {
  const std::string pattern = "/svc(/.*)?";
  svr.Get(pattern, echo);
  svr.Post(pattern, echo);
  svr.Put(pattern, echo);
  svr.Patch(pattern, echo);
  svr.Delete(pattern, echo);
  svr.Options(pattern, echo);
}

}  // namespace aigw::fake
