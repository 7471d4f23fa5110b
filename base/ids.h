// Strong ids for what must not be mixed up. All are plain integers underneath,
// ordered by value (never by address), so they can key ordered containers.
#pragma once

#include <compare>
#include <cstdint>
#include <functional>

namespace fl {

#define FL_DEFINE_ID(Name, Rep)                                          \
  struct Name {                                                          \
    Rep value = 0;                                                       \
    constexpr auto operator<=>(const Name&) const = default;            \
    constexpr bool operator==(const Name&) const = default;             \
  }

// A simulated process or machine: an app server, a database member, the proxy,
// a client, the operator. Assigned densely from 0 by the runtime in the order the
// scenario declares them, so it doubles as an index.
FL_DEFINE_ID(NodeId, std::uint32_t);
FL_DEFINE_ID(TimerId, std::uint64_t);
FL_DEFINE_ID(RequestId, std::uint64_t);
FL_DEFINE_ID(ConnId, std::uint64_t);

#undef FL_DEFINE_ID

constexpr NodeId kNoNode{UINT32_MAX};

}  // namespace fl

template <>
struct std::hash<fl::NodeId> {
  std::size_t operator()(const fl::NodeId& id) const noexcept { return id.value; }
};
