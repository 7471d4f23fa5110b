// The app server's edge (websocket hub, HTTP handling): owned by the edge
// helper, who replaces this file. These trivial definitions let the core build
// and run without an edge.
#include "nodes/app_server.h"

namespace fl {

struct AppServer::EdgeState {};

void AppServer::EdgeStateDeleter::operator()(EdgeState* state) const { delete state; }

void AppServer::handle_edge_serving(Env& env) { (void)env; }
void AppServer::handle_edge_stop(Env& env) { (void)env; }
void AppServer::handle_edge_db_reply(Env& env, RequestId id, const DbReply& reply) {
  (void)env, (void)id, (void)reply;
}
void AppServer::handle_edge_message(Env& env, NodeId from, const Message& message) {
  (void)env, (void)from, (void)message;
}
void AppServer::handle_edge_timer(Env& env, TimerId id, TimerTag tag) {
  (void)env, (void)id, (void)tag;
}
bool AppServer::handle_edge_control(Env& env, const ControlOp& op) {
  (void)env, (void)op;
  return false;
}

}  // namespace fl
