#include "proxy/framing.hpp"

#include "proxy/aws_eventstream.hpp"

#include <utility>

namespace aigw::proxy {

namespace {

// https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation
class SseFramer : public Framer {
 public:
  // Lines are read where they lie: in the bytes handed in, or in buf_ only for a line that
  // came in pieces; an event's one data line is handed on as it lies too. (Stream events
  // are most of a stream's bytes: each copy of them costs.) What must outlive this call, an
  // unfinished line or the data of an unfinished event, is copied before it returns.
  Status feed(std::string_view bytes, const EventCallback& on_event) override {
    std::string_view rest = bytes;
    if (!buf_.empty()) {
      // The end of a line begun in an earlier piece.
      const auto nl = bytes.find('\n');
      if (nl == std::string_view::npos) {
        buf_.append(bytes);
        return checkSize();
      }
      buf_.append(bytes.substr(0, nl));
      rest = bytes.substr(nl + 1);
      if (Status s = onLine(trimCr(buf_), on_event); !s) return s;
    }
    for (;;) {
      const auto nl = rest.find('\n');
      if (nl == std::string_view::npos) break;
      const std::string_view line = rest.substr(0, nl);
      rest.remove_prefix(nl + 1);
      if (Status s = onLine(trimCr(line), on_event); !s) return s;
    }
    keepData();  // before buf_ changes: the data may lie in it
    buf_.assign(rest);
    return checkSize();
  }

  Status finish(const EventCallback& on_event) override {
    const std::string line = std::exchange(buf_, {});  // the event's data may lie in it
    if (!line.empty())
      if (Status s = onLine(trimCr(line), on_event); !s) return s;
    return dispatch(on_event);
  }

 private:
  static std::string_view trimCr(std::string_view line) {
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    return line;
  }

  Status checkSize() const {
    if (buf_.size() + data_.size() > kMaxEventBytes)
      return Status::error("upstream stream event too large");
    return {};
  }

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
      if (!has_data_) {
        data_view_ = value;  // the usual event: one data line, read where it lies
        viewing_ = true;
      } else {
        keepData();
        data_ += '\n';
        data_.append(value);
      }
      has_data_ = true;
    } else if (field == "event") {
      event_.assign(value);
    }
    return {};
  }

  // The event's data as a string of its own: before a second data line, or when the bytes it
  // lies in are about to go away.
  void keepData() {
    if (!viewing_) return;
    data_.assign(data_view_);
    viewing_ = false;
  }

  Status dispatch(const EventCallback& on_event) {
    Status s;
    if (has_data_) s = on_event(event_, viewing_ ? data_view_ : std::string_view(data_));
    data_.clear();
    event_.clear();
    has_data_ = false;
    viewing_ = false;
    return s;
  }

  std::string buf_;  // the start of a line whose end has not come yet
  std::string event_, data_;
  std::string_view data_view_;  // the data while `viewing_`
  bool viewing_ = false;
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
