#include "harness/history_jsonl.h"

#include <type_traits>

#include "base/assert.h"

namespace fl::harness {
namespace {

void json_string(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  for (char ch : s) {
    const unsigned char c = static_cast<unsigned char>(ch);
    switch (ch) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          out += "\\u00";
          out += kHex[c >> 4];
          out += kHex[c & 15];
        } else {
          out += ch;
        }
    }
  }
  out += '"';
}

}  // namespace

HistoryJsonl::~HistoryJsonl() { close(); }

bool HistoryJsonl::open(const std::string& path, std::string* error) {
  FL_ASSERT(file_ == nullptr);
  file_ = std::fopen(path.c_str(), "wb");
  if (!file_) {
    if (error) *error = "cannot write the history file " + path;
    return false;
  }
  failed_ = false;
  return true;
}

std::string HistoryJsonl::node_name(NodeId id) const {
  if (id == kNoNode) return "-";
  if (id.value < names_.size()) return names_[id.value];
  return "node#" + std::to_string(id.value);
}

std::string HistoryJsonl::line(const HistoryEvent& e) const {
  std::string out = "{\"seq\":" + std::to_string(e.seq) + ",\"at_ns\":" + std::to_string(ns(e.at)) +
                    ",\"local_ns\":" + std::to_string(ns(e.local)) + ",\"node\":";
  json_string(out, node_name(e.node));
  out += ",\"event\":";
  json_string(out, e.name());
  std::visit(
      [&](const auto& body) {
        body.fields([&](std::string_view key, const auto& value) {
          using V = std::decay_t<decltype(value)>;
          out += ',';
          json_string(out, key);
          out += ':';
          if constexpr (std::is_same_v<V, bool>) {
            out += value ? "true" : "false";
          } else if constexpr (std::is_same_v<V, NodeId>) {
            json_string(out, node_name(value));
          } else if constexpr (std::is_same_v<V, Duration>) {
            out += std::to_string(ns(value));
          } else if constexpr (std::is_same_v<V, Time>) {
            out += std::to_string(ns(value));
          } else if constexpr (std::is_same_v<V, std::string>) {
            json_string(out, value);
          } else {
            static_assert(std::is_integral_v<V>, "history fields are integers, bools, ids, times or strings");
            out += std::to_string(value);
          }
        });
      },
      e.body);
  out += '}';
  FL_ASSERT(out.back() == '}');
  return out;
}

void HistoryJsonl::write(const HistoryEvent& e) {
  if (!file_ || failed_) return;
  const std::string l = line(e) + "\n";
  if (std::fwrite(l.data(), 1, l.size(), file_) != l.size()) failed_ = true;
}

bool HistoryJsonl::close() {
  if (!file_) return !failed_;
  if (std::fclose(file_) != 0) failed_ = true;
  file_ = nullptr;
  return !failed_;
}

}  // namespace fl::harness
