// Live mode's wire format of the edge (client -> proxy -> app server and back):
// each message of base/msg_edge.h that crosses the proxy <-> server hop as one
// JSON object, a websocket text frame (WsConnect, WsPing, WsClose one way;
// WsOpened, WsEvent, WsClose the other) or an HTTP body (ApiRequest in,
// ApiResponse out). JSON because that is what Mattermost's websocket and REST
// API speak, and what a person debugging with curl or websocat can read.
//
// Kept true: decode(encode(m)) == m for every edge message it carries; any
// other input (not JSON, an unknown "type", a missing or mistyped field, a
// number out of range, an unknown field) is an error with a reason, never a
// crash and never a message. The header is light on purpose: no JSON library.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "base/message.h"

namespace fl::live {

// Whether the edge format carries this alternative.
bool edge_encodable(const Message& message);

// The JSON text of an edge message; "" when !edge_encodable(message).
std::string encode_edge(const Message& message);

// The message in `text`, or nullopt and *why.
std::optional<Message> decode_edge(std::string_view text, std::string* why);

}  // namespace fl::live
