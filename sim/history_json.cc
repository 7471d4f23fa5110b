#include "sim/history_json.h"

#include <charconv>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <type_traits>
#include <utility>

#include "base/assert.h"

namespace fl::sim {
namespace {

using nlohmann::json;

struct FieldWriter {
  json* out;
  template <class V>
  void operator()(std::string_view name, const V& value) const {
    using T = std::decay_t<V>;
    json& slot = (*out)[std::string(name)];
    if constexpr (std::is_same_v<T, NodeId>) {
      slot = value == kNoNode ? json(nullptr) : json(value.value);
    } else if constexpr (std::is_same_v<T, Duration>) {
      slot = value.count();
    } else if constexpr (std::is_same_v<T, Time>) {
      slot = ns(value);
    } else if constexpr (std::is_enum_v<T>) {
      slot = static_cast<std::underlying_type_t<T>>(value);
    } else if constexpr (std::is_same_v<T, NodeGroups>) {
      slot = json::array();
      for (const auto& group : value) {
        json g = json::array();
        for (NodeId n : group) g.push_back(n.value);
        slot.push_back(std::move(g));
      }
    } else {
      slot = value;  // integers, bool, std::string
    }
  }
};

// Writes a history line straight into a reused buffer. The history is the
// simulator's largest output (millions of lines an hour), and building an
// nlohmann::json object per event (a std::map of keys, an allocation per
// value) was a quarter of a whole run's time. nlohmann still escapes every
// string that needs escaping; keys and event names are ASCII constants.
void append_string(std::string& out, std::string_view value) {
  bool plain = true;
  for (unsigned char c : value)
    if (c < 0x20 || c == '"' || c == '\\' || c >= 0x80) {
      plain = false;
      break;
    }
  if (plain) {
    out += '"';
    out += value;
    out += '"';
  } else {
    out += json(std::string(value)).dump();
  }
}

void append_int(std::string& out, std::int64_t v) {
  char buf[24];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  FL_ASSERT(ec == std::errc{});
  out.append(buf, end);
}
void append_uint(std::string& out, std::uint64_t v) {
  char buf[24];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  FL_ASSERT(ec == std::errc{});
  out.append(buf, end);
}

struct FieldAppender {
  std::string* out;
  bool* first;
  template <class V>
  void operator()(std::string_view name, const V& value) const {
    using T = std::decay_t<V>;
    if (!*first) *out += ',';
    *first = false;
    *out += '"';
    *out += name;
    *out += "\":";
    if constexpr (std::is_same_v<T, NodeId>) {
      if (value == kNoNode) *out += "null";
      else append_uint(*out, value.value);
    } else if constexpr (std::is_same_v<T, Duration>) {
      append_int(*out, value.count());
    } else if constexpr (std::is_same_v<T, Time>) {
      append_int(*out, ns(value));
    } else if constexpr (std::is_enum_v<T>) {
      append_int(*out, static_cast<std::int64_t>(value));
    } else if constexpr (std::is_same_v<T, bool>) {
      *out += value ? "true" : "false";
    } else if constexpr (std::is_same_v<T, std::string>) {
      append_string(*out, value);
    } else if constexpr (std::is_same_v<T, NodeGroups>) {
      *out += '[';
      for (std::size_t g = 0; g < value.size(); ++g) {
        if (g) *out += ',';
        *out += '[';
        for (std::size_t i = 0; i < value[g].size(); ++i) {
          if (i) *out += ',';
          append_uint(*out, value[g][i].value);
        }
        *out += ']';
      }
      *out += ']';
    } else if constexpr (std::is_signed_v<T>) {
      append_int(*out, value);
    } else {
      append_uint(*out, value);
    }
  }
};

// Reads fields back into an event. The visitor hands out const references to
// the members of a non-const object we own, so writing through them is sound.
struct FieldReader {
  const json* in;
  std::string* error;
  bool* ok;
  template <class V>
  void operator()(std::string_view name, const V& value) const {
    if (!*ok) return;
    using T = std::decay_t<V>;
    T& target = const_cast<T&>(value);
    const auto it = in->find(std::string(name));
    if (it == in->end()) {
      *ok = false;
      *error = "missing field \"" + std::string(name) + "\"";
      return;
    }
    const json& j = *it;
    try {
      if constexpr (std::is_same_v<T, NodeId>) {
        target = j.is_null() ? kNoNode : NodeId{j.get<std::uint32_t>()};
      } else if constexpr (std::is_same_v<T, Duration>) {
        target = Duration{j.get<std::int64_t>()};
      } else if constexpr (std::is_same_v<T, Time>) {
        target = time_from_ns(j.get<std::int64_t>());
      } else if constexpr (std::is_enum_v<T>) {
        target = static_cast<T>(j.get<std::underlying_type_t<T>>());
      } else if constexpr (std::is_same_v<T, bool>) {
        if (!j.is_boolean()) throw std::runtime_error("not a bool");
        target = j.get<bool>();
      } else if constexpr (std::is_same_v<T, std::string>) {
        if (!j.is_string()) throw std::runtime_error("not a string");
        target = j.get<std::string>();
      } else if constexpr (std::is_same_v<T, NodeGroups>) {
        if (!j.is_array()) throw std::runtime_error("not a list of node lists");
        target.clear();
        for (const json& g : j) {
          if (!g.is_array()) throw std::runtime_error("not a list of node lists");
          auto& group = target.emplace_back();
          for (const json& n : g) group.push_back(NodeId{n.get<std::uint32_t>()});
        }
      } else {
        if (!j.is_number_integer()) throw std::runtime_error("not an integer");
        target = j.get<T>();
      }
    } catch (const std::exception& e) {
      *ok = false;
      *error = "field \"" + std::string(name) + "\": " + e.what();
    }
  }
};

// Builds the event body named `name` from its fields, trying each alternative of
// EventBody in turn (there are a few dozen; this runs for replay, not hot).
template <std::size_t... I>
bool body_from_json(std::string_view name, const json& fields, EventBody* out, std::string* error,
                    std::index_sequence<I...>) {
  bool found = false, ok = true;
  const auto try_one = [&](auto tag) {
    using T = std::variant_alternative_t<decltype(tag)::value, EventBody>;
    if (found || T::kName != name) return;
    found = true;
    T body{};
    body.fields(FieldReader{&fields, error, &ok});
    if (ok) *out = std::move(body);
  };
  (try_one(std::integral_constant<std::size_t, I>{}), ...);
  if (!found) *error = "unknown event \"" + std::string(name) + "\"";
  return found && ok;
}

}  // namespace

void append_history_event_json(std::string& out, const HistoryEvent& event,
                               const std::vector<std::string>* node_names) {
  out += "{\"seq\":";
  append_uint(out, event.seq);
  out += ",\"at_ns\":";
  append_int(out, ns(event.at));
  out += ",\"at\":";
  append_string(out, format_time(event.at));
  out += ",\"local_ns\":";
  append_int(out, ns(event.local));
  out += ",\"local\":";
  append_string(out, format_time(event.local));
  out += ",\"node\":";
  if (event.node == kNoNode) {
    out += "null";
  } else {
    append_uint(out, event.node.value);
    if (node_names && event.node.value < node_names->size()) {
      out += ",\"node_name\":";
      append_string(out, (*node_names)[event.node.value]);
    }
  }
  out += ",\"event\":\"";
  out += event.name();
  out += "\",\"fields\":{";
  bool first = true;
  std::visit([&](const auto& body) { body.fields(FieldAppender{&out, &first}); }, event.body);
  out += "}}";
}

std::string history_event_to_json(const HistoryEvent& event, const std::vector<std::string>* node_names) {
  std::string out;
  append_history_event_json(out, event, node_names);
  return out;
}

std::optional<HistoryEvent> history_event_from_json(std::string_view line, std::string* error) {
  FL_ASSERT(error != nullptr);
  const json j = json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    *error = "not a JSON object";
    return std::nullopt;
  }
  try {
    HistoryEvent e;
    e.seq = j.at("seq").get<std::uint64_t>();
    e.at = time_from_ns(j.at("at_ns").get<std::int64_t>());
    e.local = time_from_ns(j.at("local_ns").get<std::int64_t>());
    const json& node = j.at("node");
    e.node = node.is_null() ? kNoNode : NodeId{node.get<std::uint32_t>()};
    const std::string name = j.at("event").get<std::string>();
    const json& fields = j.at("fields");
    if (!fields.is_object()) {
      *error = "\"fields\" is not an object";
      return std::nullopt;
    }
    if (!body_from_json(name, fields, &e.body, error,
                        std::make_index_sequence<std::variant_size_v<EventBody>>{})) {
      return std::nullopt;
    }
    return e;
  } catch (const std::exception& ex) {
    *error = ex.what();
    return std::nullopt;
  }
}

std::optional<std::vector<HistoryEvent>> read_history_file(const std::string& path, std::string* error) {
  FL_ASSERT(error != nullptr);
  std::ifstream in(path);
  if (!in) {
    *error = "cannot open " + path;
    return std::nullopt;
  }
  std::vector<HistoryEvent> events;
  std::string line;
  std::size_t number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    std::string why;
    auto e = history_event_from_json(line, &why);
    if (!e) {
      *error = path + ":" + std::to_string(number) + ": " + why;
      return std::nullopt;
    }
    events.push_back(std::move(*e));
  }
  return events;
}

std::unique_ptr<HistoryWriter> HistoryWriter::open(const std::string& path, std::vector<std::string> node_names,
                                                   std::string* error) {
  FL_ASSERT(error != nullptr);
  std::FILE* f = std::fopen(path.c_str(), "w");
  if (!f) {
    *error = "cannot write " + path;
    return nullptr;
  }
  return std::unique_ptr<HistoryWriter>(new HistoryWriter(f, std::move(node_names)));
}

HistoryWriter::~HistoryWriter() {
  if (file_) std::fclose(file_);
}

void HistoryWriter::write(const HistoryEvent& event) {
  FL_ASSERT(file_ != nullptr);
  line_.clear();  // reused: no allocation per event once it has grown
  append_history_event_json(line_, event, &names_);
  line_ += '\n';
  if (std::fwrite(line_.data(), 1, line_.size(), file_) != line_.size()) failed_ = true;
  ++written_;
}

std::function<void(const HistoryEvent&)> HistoryWriter::listener() {
  return [this](const HistoryEvent& e) { write(e); };
}

bool HistoryWriter::close(std::string* error) {
  FL_ASSERT(error != nullptr);
  if (!file_) return !failed_;
  const bool closed = std::fclose(file_) == 0;
  file_ = nullptr;
  if (failed_ || !closed) {
    *error = "writing the history file failed (disk full?)";
    return false;
  }
  return true;
}

}  // namespace fl::sim
