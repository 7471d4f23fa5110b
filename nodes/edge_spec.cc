// Names of the operator's actions, and the cluster's hosts file lookup.
#include "nodes/edge_spec.h"

#include "base/assert.h"
#include "nodes/spec.h"

namespace fl {

const char* operator_runbook_name(OperatorRunbook runbook) {
  switch (runbook) {
    case OperatorRunbook::none: return "";
    case OperatorRunbook::rolling_upgrade: return "rolling_upgrade";
    case OperatorRunbook::upgrade_with_schema_change: return "upgrade_with_schema_change";
    case OperatorRunbook::config_change_continuous: return "config_change_continuous";
    case OperatorRunbook::console_config_change: return "console_config_change";
    case OperatorRunbook::manual_failover: return "manual_failover";
    case OperatorRunbook::add_server: return "add_server";
    case OperatorRunbook::remove_server: return "remove_server";
    case OperatorRunbook::install_plugin: return "install_plugin";
  }
  FL_UNREACHABLE();
}

const char* operator_step_name(OperatorStepKind step) {
  switch (step) {
    case OperatorStepKind::none: return "";
    case OperatorStepKind::stop: return "stop";
    case OperatorStepKind::start: return "start";
    case OperatorStepKind::restart: return "restart";
    case OperatorStepKind::upgrade: return "upgrade";
    case OperatorStepKind::proxy_route: return "proxy_route";
    case OperatorStepKind::config_change: return "config_change";
    case OperatorStepKind::set_datasource: return "set_datasource";
    case OperatorStepKind::reload_config: return "reload_config";
    case OperatorStepKind::recycle_connections: return "recycle_connections";
    case OperatorStepKind::install_plugin: return "install_plugin";
    case OperatorStepKind::add_to_channel: return "add_to_channel";
    case OperatorStepKind::revoke_sessions: return "revoke_sessions";
  }
  FL_UNREACHABLE();
}

NodeId ClusterSpec::node_id(std::string_view name) const {
  const auto it = directory.find(std::string(name));
  return it == directory.end() ? kNoNode : it->second;
}

}  // namespace fl
