#include "proxy/framing.hpp"

#include "proxy/aws_eventstream.hpp"

namespace aigw::proxy {

namespace {

// https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation
class SseFramer : public Framer {
 public:
  Status feed(std::string_view bytes, const EventCallback& on_event) override {
    buf_.append(bytes);
    while (true) {
      const auto nl = buf_.find('\n', pos_);
      if (nl == std::string::npos) break;
      std::string_view line(buf_.data() + pos_, nl - pos_);
      pos_ = nl + 1;
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      if (Status s = onLine(line, on_event); !s) return s;
    }
    compact();
    if (buf_.size() - pos_ + data_.size() > kMaxEventBytes)
      return Status::error("upstream stream event too large");
    return {};
  }

  Status finish(const EventCallback& on_event) override {
    if (pos_ < buf_.size()) {
      std::string_view line(buf_.data() + pos_, buf_.size() - pos_);
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      if (Status s = onLine(line, on_event); !s) return s;
      pos_ = buf_.size();
    }
    return dispatch(on_event);
  }

 private:
  Status onLine(std::string_view line, const EventCallback& on_event) {
    if (line.empty()) return dispatch(on_event);
    if (line.front() == ':') return {};  // comment / keep-alive
    std::string_view field = line, value;
    if (auto colon = line.find(':'); colon != std::string_view::npos) {
      field = line.substr(0, colon);
      value = line.substr(colon + 1);
      if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    }
    if (field == "data") {
      if (has_data_) data_ += '\n';
      data_.append(value);
      has_data_ = true;
    } else if (field == "event") {
      event_.assign(value);
    }
    return {};
  }

  Status dispatch(const EventCallback& on_event) {
    Status s;
    if (has_data_) s = on_event(event_, data_);
    data_.clear();
    event_.clear();
    has_data_ = false;
    return s;
  }

  void compact() {
    if (pos_ > 0 && pos_ >= buf_.size() / 2) {
      buf_.erase(0, pos_);
      pos_ = 0;
    }
  }

  std::string buf_;
  std::size_t pos_ = 0;
  std::string event_, data_;
  bool has_data_ = false;
};

// One JSON value per line (Ollama, Cohere v1); blank lines are skipped.
class NdJsonFramer : public Framer {
 public:
  Status feed(std::string_view bytes, const EventCallback& on_event) override {
    buf_.append(bytes);
    while (true) {
      const auto nl = buf_.find('\n', pos_);
      if (nl == std::string::npos) break;
      std::string_view line(buf_.data() + pos_, nl - pos_);
      pos_ = nl + 1;
      if (Status s = emit(line, on_event); !s) return s;
    }
    if (pos_ > 0 && pos_ >= buf_.size() / 2) {
      buf_.erase(0, pos_);
      pos_ = 0;
    }
    if (buf_.size() - pos_ > kMaxEventBytes) return Status::error("upstream stream line too large");
    return {};
  }
  Status finish(const EventCallback& on_event) override {
    std::string_view rest(buf_.data() + pos_, buf_.size() - pos_);
    pos_ = buf_.size();
    return emit(rest, on_event);
  }

 private:
  static Status emit(std::string_view line, const EventCallback& on_event) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.remove_suffix(1);
    while (!line.empty() && line.front() == ' ') line.remove_prefix(1);
    if (line.empty()) return {};
    return on_event({}, line);
  }
  std::string buf_;
  std::size_t pos_ = 0;
};

}  // namespace

std::unique_ptr<Framer> newFramer(providers::Framing framing) {
  switch (framing) {
    case providers::Framing::NdJson:
      return std::make_unique<NdJsonFramer>();
    case providers::Framing::AwsEventStream:
      return newAwsEventStreamFramer();
    case providers::Framing::Sse:
    default:
      return std::make_unique<SseFramer>();
  }
}

}  // namespace aigw::proxy
