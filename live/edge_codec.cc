#include "live/edge_codec.h"

#include <nlohmann/json.hpp>

#include <initializer_list>
#include <memory>
#include <vector>

namespace fl::live {

namespace {

using nlohmann::json;

// Thrown inside decode only; decode_edge turns it into its error value.
struct Bad {
  std::string why;
};

json post_json(const PostEvent& p) {
  return json{{"id", p.id}, {"channel", p.channel}, {"author", p.author.value}, {"create_at", ns(p.create_at)}};
}

void only(const json& j, std::initializer_list<const char*> keys) {
  if (!j.is_object()) throw Bad{"not an object"};
  for (const auto& [key, value] : j.items()) {
    bool known = false;
    for (const char* k : keys) known = known || key == k;
    if (!known) throw Bad{"unknown field \"" + key + "\""};
  }
}
const json& field(const json& j, const char* key) {
  const auto it = j.find(key);
  if (it == j.end()) throw Bad{std::string("missing field \"") + key + "\""};
  return *it;
}
std::uint64_t u64(const json& j, const char* key) {
  const json& v = field(j, key);
  if (!v.is_number_unsigned()) throw Bad{std::string("field \"") + key + "\" is not an unsigned integer"};
  return v.get<std::uint64_t>();
}
std::uint32_t u32(const json& j, const char* key) {
  const std::uint64_t v = u64(j, key);
  if (v > UINT32_MAX) throw Bad{std::string("field \"") + key + "\" out of range"};
  return static_cast<std::uint32_t>(v);
}
std::int64_t i64(const json& j, const char* key) {
  const json& v = field(j, key);
  if (!v.is_number_integer()) throw Bad{std::string("field \"") + key + "\" is not an integer"};
  if (v.is_number_unsigned() && v.get<std::uint64_t>() > static_cast<std::uint64_t>(INT64_MAX))
    throw Bad{std::string("field \"") + key + "\" out of range"};
  return v.get<std::int64_t>();
}
std::string str(const json& j, const char* key) {
  const json& v = field(j, key);
  if (!v.is_string()) throw Bad{std::string("field \"") + key + "\" is not a string"};
  return v.get<std::string>();
}
Version version(const json& j, const char* key) {
  const auto v = parse_version(str(j, key));
  if (!v) throw Bad{std::string("field \"") + key + "\" is not a version"};
  return *v;
}
PostEvent post_of(const json& j) {
  only(j, {"id", "channel", "author", "create_at"});
  return PostEvent{u64(j, "id"), u32(j, "channel"), NodeId{u32(j, "author")}, time_from_ns(i64(j, "create_at"))};
}

// Enum names, both ways, from the alternatives' own name functions.
template <class E, class F>
E enum_of(const json& j, const char* key, E last, F name) {
  const std::string s = str(j, key);
  for (int i = 0; i <= static_cast<int>(last); ++i)
    if (s == name(static_cast<E>(i))) return static_cast<E>(i);
  throw Bad{std::string("field \"") + key + "\" has an unknown value \"" + s + "\""};
}
const char* event_kind_name(WsEventKind k) {
  switch (k) {
    case WsEventKind::hello: return "hello";
    case WsEventKind::posted: return "posted";
    case WsEventKind::user_added: return "user_added";
  }
  return "?";
}

json to_json(const Message& message) {
  if (const auto* m = message.get<WsConnect>())
    return json{{"type", "ws_connect"}, {"client", m->client.value}, {"conn_id", m->conn_id},
                {"next_seq", m->next_seq}, {"channel_mask", m->channel_mask}, {"session", m->session}};
  if (const auto* m = message.get<WsOpened>())
    return json{{"type", "ws_opened"}, {"client", m->client.value}, {"server", m->server.value},
                {"conn_id", m->conn_id}, {"server_version", m->server_version.str()}};
  if (const auto* m = message.get<WsEvent>())
    return json{{"type", "ws_event"},        {"client", m->client.value},
                {"conn_id", m->conn_id},     {"seq", m->seq},
                {"kind", event_kind_name(m->kind)}, {"post", post_json(m->post)},
                {"server_version", m->server_version.str()}, {"channel", m->channel},
                {"user", m->user.value}};
  if (const auto* m = message.get<WsPing>()) return json{{"type", "ws_ping"}, {"client", m->client.value}};
  if (const auto* m = message.get<WsClose>())
    return json{{"type", "ws_close"}, {"client", m->client.value}, {"reason", ws_close_reason_name(m->reason)},
                {"revocation", m->revocation}};
  if (const auto* m = message.get<ApiRequest>())
    return json{{"type", "api_request"},  {"client", m->client.value},
                {"req", m->req},          {"kind", api_kind_name(m->kind)},
                {"post", post_json(m->post)}, {"channel_mask", m->channel_mask},
                {"since", ns(m->since)},  {"page_version", m->page_version.str()},
                {"session", m->session}};
  if (const auto* m = message.get<ApiResponse>()) {
    json posts = nullptr;
    if (m->posts) {
      posts = json::array();
      for (const PostEvent& p : *m->posts) posts.push_back(post_json(p));
    }
    return json{{"type", "api_response"}, {"client", m->client.value}, {"req", m->req},
                {"status", api_status_name(m->status)}, {"server", m->server.value},
                {"posts", std::move(posts)}, {"revocation", m->revocation}};
  }
  return nullptr;
}

Message from_json(const json& j) {
  if (!j.is_object()) throw Bad{"not a JSON object"};
  const std::string type = str(j, "type");
  if (type == "ws_connect") {
    only(j, {"type", "client", "conn_id", "next_seq", "channel_mask", "session"});
    return Message{WsConnect{NodeId{u32(j, "client")}, u64(j, "conn_id"), u64(j, "next_seq"), u64(j, "channel_mask"),
                             u64(j, "session")}};
  }
  if (type == "ws_opened") {
    only(j, {"type", "client", "server", "conn_id", "server_version"});
    return Message{WsOpened{NodeId{u32(j, "client")}, NodeId{u32(j, "server")}, u64(j, "conn_id"),
                            version(j, "server_version")}};
  }
  if (type == "ws_event") {
    only(j, {"type", "client", "conn_id", "seq", "kind", "post", "server_version", "channel", "user"});
    WsEvent e;
    e.client = NodeId{u32(j, "client")};
    e.conn_id = u64(j, "conn_id");
    e.seq = u64(j, "seq");
    e.kind = enum_of(j, "kind", WsEventKind::user_added, event_kind_name);
    e.post = post_of(field(j, "post"));
    e.server_version = version(j, "server_version");
    e.channel = u32(j, "channel");
    e.user = NodeId{u32(j, "user")};
    return Message{e};
  }
  if (type == "ws_ping") {
    only(j, {"type", "client"});
    return Message{WsPing{NodeId{u32(j, "client")}}};
  }
  if (type == "ws_close") {
    only(j, {"type", "client", "reason", "revocation"});
    return Message{WsClose{NodeId{u32(j, "client")}, enum_of(j, "reason", WsCloseReason::unauthorized, ws_close_reason_name),
                           u64(j, "revocation")}};
  }
  if (type == "api_request") {
    only(j, {"type", "client", "req", "kind", "post", "channel_mask", "since", "page_version", "session"});
    ApiRequest r;
    r.client = NodeId{u32(j, "client")};
    r.req = u64(j, "req");
    r.kind = enum_of(j, "kind", ApiKind::posts_since, api_kind_name);
    r.post = post_of(field(j, "post"));
    r.channel_mask = u64(j, "channel_mask");
    r.since = time_from_ns(i64(j, "since"));
    r.page_version = version(j, "page_version");
    r.session = u64(j, "session");
    return Message{r};
  }
  if (type == "api_response") {
    only(j, {"type", "client", "req", "status", "server", "posts", "revocation"});
    ApiResponse r;
    r.client = NodeId{u32(j, "client")};
    r.req = u64(j, "req");
    r.status = enum_of(j, "status", ApiStatus::unauthorized, api_status_name);
    r.server = NodeId{u32(j, "server")};
    const json& posts = field(j, "posts");
    if (!posts.is_null()) {
      if (!posts.is_array()) throw Bad{"field \"posts\" is not an array"};
      auto list = std::make_shared<std::vector<PostEvent>>();
      for (const json& p : posts) list->push_back(post_of(p));
      r.posts = std::move(list);
    }
    r.revocation = u64(j, "revocation");
    return Message{r};
  }
  throw Bad{"unknown type \"" + type + "\""};
}

}  // namespace

bool edge_encodable(const Message& message) {
  return message.is<WsConnect>() || message.is<WsOpened>() || message.is<WsEvent>() || message.is<WsPing>() ||
         message.is<WsClose>() || message.is<ApiRequest>() || message.is<ApiResponse>();
}

std::string encode_edge(const Message& message) {
  if (!edge_encodable(message)) return {};
  return to_json(message).dump();
}

std::optional<Message> decode_edge(std::string_view text, std::string* why) {
  json j = json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) {
    if (why) *why = "not JSON";
    return std::nullopt;
  }
  try {
    return from_json(j);
  } catch (const Bad& bad) {
    if (why) *why = bad.why;
  } catch (const std::exception& e) {  // nlohmann's own (a conversion it refused)
    if (why) *why = e.what();
  }
  return std::nullopt;
}

}  // namespace fl::live
