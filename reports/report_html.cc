// report.html: one self-contained file (no network, no external scripts,
// styles or fonts). The text parts (causes, violations, faults, operator) are
// HTML written here, every string through html_escape. The space-time diagram
// is drawn in the browser from the run's data, embedded as JSON inside
// <script type="application/json"> (never as HTML): the script reads it with
// JSON.parse and puts every string into the page with textContent, so a node or
// scenario named <script>...</script> shows as text. Inside the JSON, < > & are
// written as \u003c \u003e \u0026, so the data can never close its <script>
// element, and every string has its control characters escaped (a bidi
// override cannot reorder the page).
//
// The diagram: one lane per server, database member, proxy, storage and
// operator, in that order; clients folded into one lane per server they were
// connected to (click to open); the messages around each violation as arrows
// (reports/messages.h); faults, crashes and pauses shaded; clock offsets on
// their lanes; leader terms and migrations as bars; the violations and their
// witnesses in red; zoom (wheel, buttons, keys) and pan (drag, keys) on the
// time axis; details on hover.
#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>

#include "base/assert.h"
#include "reports/escape.h"
#include "reports/report.h"

namespace fl::reports {
namespace {

using nlohmann::json;

// Caps on what the page carries, so a long run's page stays small and quick.
constexpr std::size_t kMaxMarks = 8'000;  // single events drawn as dots

// Lanes in reading order: app servers, the database (primary, replicas), then
// the proxy, storage, operator and any other node; clients come last, folded.
int lane_rank(const std::string& role) {
  static const char* kOrder[] = {"app_server", "db_primary", "db_replica", "proxy", "storage", "operator", "other"};
  for (int i = 0; i < int(std::size(kOrder)); ++i)
    if (role == kOrder[i]) return i;
  return int(std::size(kOrder));
}

// Every string that reaches the page's data: controls made visible.
std::string txt(std::string_view s) { return escape_controls(s); }

// JSON that may sit inside <script>: < > & as \u escapes (valid JSON: they only
// occur inside strings), non-ASCII as \u escapes, bytes that are not UTF-8
// replaced.
std::string script_json(const json& j) {
  const std::string raw = j.dump(-1, ' ', true, json::error_handler_t::replace);
  std::string out;
  out.reserve(raw.size() + raw.size() / 16);
  for (char c : raw) {
    if (c == '<') out += "\\u003c";
    else if (c == '>') out += "\\u003e";
    else if (c == '&') out += "\\u0026";
    else out += c;
  }
  return out;
}

std::int64_t tns(Time t) { return ns(t); }

// NodeIds a witness names in its fields (peer, server, client, leader, ...).
struct NodeFields {
  std::vector<NodeId> ids;
  void operator()(std::string_view, NodeId id) { ids.push_back(id); }
  template <class V>
  void operator()(std::string_view, const V&) {}
};

std::string event_tip(const RunResult& run, const HistoryEvent& e) {
  std::string fields = event_fields_text(run, e);
  return txt("#" + std::to_string(e.seq) + " " + format_time(e.at) + " " + lane_name(run, e.node) + " " +
             std::string(e.name()) + (fields.empty() ? "" : " " + fields) +
             (e.local != e.at ? " (local clock " + format_time(e.local) + ")" : ""));
}

std::string signed_duration(Duration d) { return (d.count() >= 0 ? "+" : "") + format_duration(d); }

// The server each client lane folds under: the one it was connected to at
// `at` (the first violation), else the first it ever connected to.
std::map<std::uint32_t, NodeId> client_servers(const RunResult& run, Time at) {
  std::map<std::uint32_t, NodeId> before, first;
  for (const auto& e : run.timeline) {
    const auto* c = e.get<ClientConnected>();
    if (!c || e.node == kNoNode) continue;
    first.try_emplace(e.node.value, c->server);
    if (e.at <= at) before[e.node.value] = c->server;
  }
  for (const auto& [k, v] : first) before.try_emplace(k, v);
  return before;
}

json diagram_data(const RunResult& run) {
  const Time focus = run.violations.empty() ? run.sim_end : run.violations.front().at;
  json d;
  d["end"] = std::max<std::int64_t>(1, tns(run.sim_end));
  d["settle"] = run.settle_begin > kTimeZero ? json(tns(run.settle_begin)) : json();
  d["title"] = txt(run.scenario_name.empty() ? run.scenario_path : run.scenario_name);
  json nodes = json::array();
  for (const auto& l : run.lanes) nodes.push_back({{"name", txt(l.name)}, {"role", txt(l.role)}});
  d["nodes"] = nodes;

  // Rows: every node that is not a client, by role; then one folded row per
  // server for the clients connected to it, and one for clients never connected.
  std::vector<std::uint32_t> order;
  for (std::uint32_t i = 0; i < run.lanes.size(); ++i)
    if (run.lanes[i].role != "client") order.push_back(i);
  std::stable_sort(order.begin(), order.end(),
                   [&](auto a, auto b) { return lane_rank(run.lanes[a].role) < lane_rank(run.lanes[b].role); });
  json rows = json::array();
  for (auto i : order) rows.push_back({{"label", txt(run.lanes[i].name)}, {"nodes", {i}}, {"group", false}});
  const auto servers = client_servers(run, focus);
  std::map<std::uint32_t, std::vector<std::uint32_t>> by_server;  // kNoNode.value: never connected
  for (std::uint32_t i = 0; i < run.lanes.size(); ++i) {
    if (run.lanes[i].role != "client") continue;
    auto it = servers.find(i);
    by_server[it == servers.end() ? kNoNode.value : it->second.value].push_back(i);
  }
  auto group_row = [&](std::uint32_t server, const std::vector<std::uint32_t>& clients) {
    const std::string label = server == kNoNode.value ? "clients, not connected" : "clients of " + lane_name(run, NodeId{server});
    rows.push_back({{"label", txt(label + " (" + std::to_string(clients.size()) + ")")},
                    {"nodes", clients},
                    {"group", true}});
  };
  for (auto i : order)  // in the servers' order
    if (auto it = by_server.find(i); it != by_server.end()) group_row(i, it->second);
  for (const auto& [server, clients] : by_server)
    if (std::find(order.begin(), order.end(), server) == order.end()) group_row(server, clients);
  d["rows"] = rows;

  json bands = json::array(), marks = json::array(), clocks = json::array();
  auto band = [&](NodeId n, Time from, Time to, const char* cls, const std::string& tip) {
    bands.push_back({{"node", n == kNoNode ? -1 : std::int64_t(n.value)},
                     {"from", tns(from)},
                     {"to", tns(std::max(from, to))},
                     {"cls", cls},
                     {"tip", txt(tip)}});
  };
  // Faults: network faults as bands over the nodes they name (every lane when
  // none); node faults as a mark at their start (the crash, pause or clock they
  // caused is drawn from the timeline below).
  for (const auto& f : run.faults) {
    if (!f.applied) continue;
    const Time end = f.healed ? f.healed_at : run.sim_end;
    std::string tip = "fault #" + std::to_string(f.index) + " " + f.kind + ": " + f.detail + " (" + format_time(f.at) +
                      " until " + fault_until(f) + ")";
    if (const std::string e = fault_effect(f); !e.empty()) tip += "; " + e;
    else if (f.effect_count > 0) tip += "; " + std::to_string(f.effect_count) + " messages affected";
    const bool network = f.kind == "partition" || f.kind == "one_way" || f.kind == "gossip_send_failure" ||
                         f.kind == "loss" || f.kind == "duplicate" || f.kind == "reorder" || f.kind == "delay" ||
                         f.kind == "storage_outage" || f.kind == "replica_lag";
    const char* cls = !f.effective           ? "fault-none"
                      : f.kind == "partition" || f.kind == "one_way" || f.kind == "gossip_send_failure" ? "cut"
                      : network              ? "net"
                                             : "fault-mark";
    std::vector<NodeId> ids;
    for (const auto& name : f.nodes)
      for (std::uint32_t i = 0; i < run.lanes.size(); ++i)
        if (run.lanes[i].name == name) ids.push_back(NodeId{i});
    if (ids.empty())  // a partition or a cut names its groups (nodes not named keep their links)
      for (const auto& e : run.timeline)
        if (const auto* fi = e.get<FaultInjected>(); fi && fi->index == f.index) {
          for (const auto& g : fi->groups)
            for (NodeId n : g)
              if (n.value < run.lanes.size() && std::find(ids.begin(), ids.end(), n) == ids.end()) ids.push_back(n);
          break;
        }
    if (!network || std::string_view(cls) == "fault-none") {
      for (NodeId n : ids)
        marks.push_back({{"node", n.value}, {"at", tns(f.at)}, {"cls", "fault"}, {"tip", txt(tip)}});
      if (ids.empty()) band(kNoNode, f.at, f.at, "fault-mark", tip);
      continue;
    }
    if (ids.empty()) band(kNoNode, f.at, end, cls, tip);
    for (NodeId n : ids) band(n, f.at, end, cls, tip);
  }
  // The timeline: down (crash or stop until the next start), paused, leader
  // terms, migrations, the migration lock, clocks; every other event a mark.
  std::map<std::uint32_t, const HistoryEvent*> down, leading, migrating, locked;
  auto close = [&](std::map<std::uint32_t, const HistoryEvent*>& open, NodeId n, Time t, const char* cls,
                   const std::string& what) {
    auto it = open.find(n.value);
    if (it == open.end()) return;
    band(n, it->second->at, t, cls,
         what + " " + lane_name(run, n) + " " + format_time(it->second->at) + " .. " + format_time(t));
    open.erase(it);
  };
  std::size_t mark_count = 0;
  for (const auto& e : run.timeline) {
    if (e.node == kNoNode || e.node.value >= run.lanes.size()) continue;
    if (e.is<ProcessCrashed>() || e.is<ProcessStopped>() || e.is<DbCrashed>()) {
      close(leading, e.node, e.at, "leader", "leader");
      close(migrating, e.node, e.at, "migration", "migration (interrupted)");
      close(locked, e.node, e.at, "lock", "migration lock");
      down.try_emplace(e.node.value, &e);
      continue;
    }
    if (e.is<ProcessStarted>()) {
      close(down, e.node, e.at, "down", "down");
      continue;
    }
    if (const auto* p = e.get<ProcessPaused>()) {
      band(e.node, e.at, e.at + p->length, "paused",
           "paused " + lane_name(run, e.node) + " " + format_time(e.at) + " for " + format_duration(p->length));
      continue;
    }
    if (e.is<LeaderBegin>()) {
      leading.try_emplace(e.node.value, &e);
      continue;
    }
    if (e.is<LeaderEnd>()) {
      close(leading, e.node, e.at, "leader", "leader");
      continue;
    }
    if (e.is<MigrationStarted>()) {
      migrating.try_emplace(e.node.value, &e);
      continue;
    }
    if (e.is<MigrationApplied>()) {
      close(migrating, e.node, e.at, "migration", "migration " + event_fields_text(run, e));
      continue;
    }
    if (e.is<MigrationLockAcquired>()) {
      locked.try_emplace(e.node.value, &e);
      continue;
    }
    if (e.is<MigrationLockReleased>() || e.is<MigrationLockLost>()) {
      close(locked, e.node, e.at, "lock", e.is<MigrationLockLost>() ? "migration lock (lost)" : "migration lock");
      continue;
    }
    if (const auto* c = e.get<ClockChanged>()) {
      std::string tip = lane_name(run, e.node) + " clock at " + format_time(e.at) + ": offset " +
                        signed_duration(c->offset) + ", drift " + std::to_string(c->drift_ppm) + " ppm";
      if (c->step.count() != 0) tip += ", stepped " + signed_duration(c->step);
      clocks.push_back({{"node", e.node.value},
                        {"at", tns(e.at)},
                        {"offset", ns(c->offset)},
                        {"drift", c->drift_ppm},
                        {"label", txt(signed_duration(c->offset) + (c->drift_ppm ? " " + std::to_string(c->drift_ppm) + "ppm" : ""))},
                        {"tip", txt(tip)}});
      continue;
    }
    if (mark_count >= kMaxMarks) continue;
    ++mark_count;
    const char* cls = e.is<Promoted>() || e.is<ElectionWon>() ? "key"
                      : e.is<CommitsLost>() || e.is<PeerDown>() || e.is<ServerRefusedStart>() ? "bad"
                      : e.is<OperatorStep>() || e.is<ConfigChanged>() ? "op"
                                                                      : "event";
    marks.push_back({{"node", e.node.value}, {"at", tns(e.at)}, {"cls", cls}, {"tip", event_tip(run, e)}});
  }
  for (auto* open : {&down, &leading, &migrating, &locked}) {
    std::vector<std::uint32_t> ids;
    for (const auto& [n, e] : *open) ids.push_back(n);
    for (auto n : ids) {
      const char* cls = open == &down ? "down" : open == &leading ? "leader" : open == &migrating ? "migration" : "lock";
      close(*open, NodeId{n}, run.sim_end, cls, std::string(open == &down ? "down" : cls) + " (to the end of the run)");
    }
  }
  d["bands"] = bands;
  d["marks"] = marks;
  d["clocks"] = clocks;

  json messages = json::array();
  for (const auto& m : run.messages) {
    if (m.from.value >= run.lanes.size() || m.to.value >= run.lanes.size()) continue;
    std::string tip = m.kind + ": " + lane_name(run, m.from) + " -> " + lane_name(run, m.to) + ", " + m.what + ", " +
                      format_time(m.sent) + (m.lost ? " (not delivered)" : " .. " + format_time(m.received));
    if (m.relay != kNoNode) tip += ", relayed by " + lane_name(run, m.relay);
    tip += " (history #" + std::to_string(m.from_seq) + (m.to_seq != m.from_seq ? " -> #" + std::to_string(m.to_seq) : "") + ")";
    messages.push_back({{"from", m.from.value},
                        {"to", m.to.value},
                        {"sent", tns(m.sent)},
                        {"recv", tns(m.received)},
                        {"kind", m.kind},
                        {"lost", m.lost},
                        {"tip", txt(tip)}});
  }
  d["messages"] = messages;

  json violations = json::array();
  for (std::size_t vi = 0; vi < run.violations.size(); ++vi) {
    const auto& v = run.violations[vi];
    json witnesses = json::array();
    for (const auto& w : v.witnesses) {
      if (w.node == kNoNode || w.node.value >= run.lanes.size()) continue;
      NodeFields nf;
      std::visit([&](const auto& b) { b.fields(nf); }, w.body);
      json to = json::array();
      for (NodeId n : nf.ids)
        if (n != kNoNode && n.value < run.lanes.size() && n != w.node) to.push_back(n.value);
      witnesses.push_back({{"node", w.node.value}, {"at", tns(w.at)}, {"to", to}, {"tip", "witness " + event_tip(run, w)}});
    }
    json vnodes = json::array();
    for (NodeId n : v.nodes)
      if (n != kNoNode && n.value < run.lanes.size()) vnodes.push_back(n.value);
    violations.push_back({{"invariant", txt(v.invariant)},
                          {"at", tns(v.at)},
                          {"nodes", vnodes},
                          {"from", tns(v.at - std::min(kMessagesBefore, v.at.time_since_epoch()))},
                          {"to", tns(v.at + kMessagesAfter)},
                          {"tip", txt("violation " + std::to_string(vi + 1) + ": " + v.invariant + " at " +
                                      format_time(v.at) + ": " + v.message)},
                          {"witnesses", witnesses}});
  }
  d["violations"] = violations;

  // The causes (reports/explain.h): when the cause acted, and the events that show it.
  json causes = json::array();
  for (const auto& g : groups_of(run)) {
    if (g.cause.empty()) continue;
    json evidence = json::array();
    for (const auto& e : g.evidence)
      if (e.node != kNoNode && e.node.value < run.lanes.size())
        evidence.push_back({{"node", e.node.value}, {"at", tns(e.at)}, {"tip", "evidence " + event_tip(run, e)}});
    causes.push_back({{"invariant", txt(g.invariant)},
                      {"kind", txt(g.kind)},
                      {"at", tns(g.at)},
                      {"from", tns(g.at - std::min(kMessagesBefore, g.at.time_since_epoch()))},
                      {"to", tns(g.at + kMessagesAfter)},
                      {"tip", txt("cause of " + std::to_string(g.members.size()) + " " + g.invariant + " (" + g.kind +
                                  ") at " + format_time(g.at) + ": " + g.cause)},
                      {"evidence", evidence}});
  }
  d["causes"] = causes;
  return d;
}

// The diagram's script: reads #fl-data, draws into #diagram, keeps #fl-status
// up to date (the browser test reads it). Plain ES5-ish, no libraries.
constexpr const char* kScript = R"JS(
(function () {
'use strict';
var D = JSON.parse(document.getElementById('fl-data').textContent);
var NS = 'http://www.w3.org/2000/svg';
var LABEL = 230, LANE = 28, TOP = 34, BOTTOM = 12;
var svg = document.getElementById('diagram');
var tip = document.getElementById('tip');
var status = document.getElementById('fl-status');
var open = {};                      // row index -> clients shown one by one
var view = {t0: 0, t1: D.end};      // the visible time range, ns
var MIN_SPAN = 1e5;                 // 0.1 ms: the deepest zoom

function el(name, attrs, parent) {
  var e = document.createElementNS(NS, name);
  for (var k in attrs) if (Object.prototype.hasOwnProperty.call(attrs, k)) e.setAttribute(k, attrs[k]);
  if (parent) parent.appendChild(e);
  return e;
}
function withTip(e, text) {
  e.setAttribute('data-tip', text);  // an attribute value: never parsed as HTML; #tip shows it on hover
  return e;
}
function fmt(ns, step) {
  var neg = ns < 0; if (neg) ns = -ns;
  var s = ns / 1e9, h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
  var digits = step >= 1e9 ? 0 : step >= 1e8 ? 1 : step >= 1e7 ? 2 : step >= 1e6 ? 3 : 6;
  var secText = sec.toFixed(digits);
  if ((h || m) && sec < 10) secText = '0' + secText;  // 2m03.5s, as the reports write it
  var out = (h ? h + 'h' : '') + (h || m ? m + 'm' : '') + secText + 's';
  return (neg ? '-' : '') + out;
}

// Layout: the y of each node's lane, given which folded rows are open.
function layout() {
  var rows = [], y = {};
  D.rows.forEach(function (r, i) {
    var row = {label: r.label, group: r.group, index: i, nodes: r.nodes, y: TOP + rows.length * LANE};
    rows.push(row);
    r.nodes.forEach(function (n) { y[n] = row.y; });
    if (r.group && open[i]) r.nodes.forEach(function (n) {
      var sub = {label: D.nodes[n].name, sub: true, nodes: [n], y: TOP + rows.length * LANE};
      rows.push(sub);
      y[n] = sub.y;
    });
  });
  return {rows: rows, y: y};
}
function clockAt(node, t) {
  var c = null;
  D.clocks.forEach(function (k) { if (k.node === node && k.at <= t) c = k; });
  return c;
}

function render() {
  while (svg.firstChild) svg.removeChild(svg.firstChild);
  var L = layout();
  var width = Math.max(700, document.getElementById('wrap').clientWidth - 2);
  var plot = width - LABEL - 10;
  var height = TOP + L.rows.length * LANE + BOTTOM;
  svg.setAttribute('width', width); svg.setAttribute('height', height);
  svg.setAttribute('viewBox', '0 0 ' + width + ' ' + height);
  var span = view.t1 - view.t0;
  function X(t) { return LABEL + (t - view.t0) / span * plot; }
  function vis(a, b) { return b >= view.t0 && a <= view.t1; }
  function clampX(t) { return Math.max(LABEL - 4, Math.min(LABEL + plot + 4, X(t))); }
  var defs = el('defs', {}, svg);
  ['ok', 'bad', 'red'].forEach(function (k) {
    var m = el('marker', {id: 'head-' + k, markerWidth: 8, markerHeight: 8, refX: 7, refY: 3, orient: 'auto'}, defs);
    el('path', {d: 'M0,0 L7,3 L0,6 z', 'class': 'head-' + k}, m);
  });
  var clip = el('clipPath', {id: 'plotclip'}, defs);
  el('rect', {x: LABEL, y: 0, width: plot, height: height}, clip);

  var back = el('g', {}, svg), plotg = el('g', {'clip-path': 'url(#plotclip)'}, svg), front = el('g', {}, svg);
  // Lanes and their names (the folded client rows open on click).
  L.rows.forEach(function (r, i) {
    if (i % 2) el('rect', {x: 0, y: r.y, width: width, height: LANE, 'class': 'stripe'}, back);
    el('line', {x1: LABEL, x2: LABEL + plot, y1: r.y + LANE / 2, y2: r.y + LANE / 2, 'class': 'lane'}, back);
    var label = el('text', {x: r.sub ? 22 : 6, y: r.y + LANE / 2 + 4,
                            'class': 'lane-label' + (r.group ? ' group' : '') + (r.sub ? ' sub' : ''),
                            'data-lane': r.label}, front);
    label.textContent = (r.group ? (open[r.index] ? '\u25be ' : '\u25b8 ') : '') + r.label;
    var tipText = r.group ? 'click to ' + (open[r.index] ? 'fold' : 'show') + ' these clients: ' +
                  r.nodes.map(function (n) { return D.nodes[n].name; }).join(' ') : r.label + ' (' + D.nodes[r.nodes[0]].role + ')';
    if (!r.group) {
      var c = clockAt(r.nodes[0], (view.t0 + view.t1) / 2);
      if (c && (c.offset !== 0 || c.drift !== 0)) {
        var ct = el('text', {x: LABEL - 6, y: r.y + LANE / 2 + 4, 'class': 'clock-label'}, front);
        ct.textContent = '\u23f1 ' + c.label;
        withTip(ct, c.tip);
        tipText += '; ' + c.tip;
      }
    }
    withTip(label, tipText);
    if (r.group) label.addEventListener('click', function () { open[r.index] = !open[r.index]; render(); });
  });
  // Time axis.
  var raw = span / 8, p10 = Math.pow(10, Math.floor(Math.log10(raw))), step = p10;
  [1, 2, 5, 10].some(function (m) { step = m * p10; return m * p10 >= raw; });
  for (var t = Math.ceil(view.t0 / step) * step; t <= view.t1; t += step) {
    el('line', {x1: X(t), x2: X(t), y1: TOP - 4, y2: height - BOTTOM, 'class': 'tick'}, back);
    el('text', {x: X(t), y: TOP - 10, 'class': 'axis'}, back).textContent = fmt(t, step);
  }
  var y = L.y;
  function laneY(n) { return y[n] === undefined ? null : y[n]; }
  // Settle, bands (faults, down, paused, leader terms, migrations, lock).
  if (D.settle !== null && vis(D.settle, D.end))
    withTip(el('rect', {x: clampX(D.settle), y: TOP, width: Math.max(1, clampX(D.end) - clampX(D.settle)),
                        height: L.rows.length * LANE, 'class': 'settle'}, plotg), 'settle: faults healed, crashed nodes restarting');
  var THIN = {leader: [LANE - 9, 6], migration: [3, 5], lock: [9, 3]};
  D.bands.forEach(function (b) {
    if (!vis(b.from, b.to)) return;
    var x0 = clampX(b.from), x1 = clampX(b.to), w = Math.max(b.cls === 'fault-mark' ? 2 : 1.5, x1 - x0);
    var targets = b.node < 0 ? [TOP] : [laneY(b.node)];
    targets.forEach(function (ty) {
      if (ty === null) return;
      var h = b.node < 0 ? L.rows.length * LANE : LANE - 2, dy = 1;
      if (THIN[b.cls]) { dy = THIN[b.cls][0]; h = THIN[b.cls][1]; }
      withTip(el('rect', {x: x0, y: ty + dy, width: w, height: h, 'class': 'band ' + b.cls}, plotg), b.tip);
    });
  });
  // Clock offsets: a line along the top of the lane while the clock is off.
  D.clocks.forEach(function (c, i) {
    var ty = laneY(c.node); if (ty === null) return;
    var next = D.end;
    for (var j = i + 1; j < D.clocks.length; ++j) if (D.clocks[j].node === c.node) { next = D.clocks[j].at; break; }
    if ((c.offset === 0 && c.drift === 0) || !vis(c.at, next)) return;
    withTip(el('rect', {x: clampX(c.at), y: ty + 1, width: Math.max(1, clampX(next) - clampX(c.at)), height: 2,
                        'class': 'clock'}, plotg), c.tip);
    if (c.at >= view.t0) el('text', {x: X(c.at) + 3, y: ty + 10, 'class': 'clock-text'}, plotg).textContent = c.label;
  });
  D.marks.forEach(function (m) {
    var my = laneY(m.node); if (my === null || m.at < view.t0 || m.at > view.t1) return;
    withTip(el('circle', {cx: X(m.at), cy: my + LANE / 2, r: m.cls === 'event' ? 2.2 : 3.5, 'class': 'mark ' + m.cls}, plotg), m.tip);
  });
  // Messages as arrows (one per pixel: a post to the folded clients of one
  // server draws one arrow, its copies merge).
  var arrows = 0, drawn = {};
  D.messages.forEach(function (m) {
    if (!vis(m.sent, m.recv)) return;
    var fy = laneY(m.from), ty = laneY(m.to);
    if (fy === null || ty === null || fy === ty) return;
    var x0 = X(m.sent), y0 = fy + LANE / 2, x1 = X(m.recv), y1 = ty + LANE / 2;
    var key = m.kind + '|' + fy + '|' + ty + '|' + Math.round(x0) + '|' + Math.round(x1);
    if (drawn[key]) return;
    drawn[key] = true;
    var cls = 'msg ' + m.kind + (m.lost ? ' lost' : '');
    if (m.lost) { x1 = x0 + 10; y1 = y0 + (y1 - y0) / 2; }
    var line = el('line', {x1: x0, y1: y0, x2: x1, y2: y1, 'class': cls,
                           'marker-end': m.lost ? '' : 'url(#head-' + (m.kind === 'failed' ? 'bad' : 'ok') + ')'}, plotg);
    withTip(line, m.tip);
    if (m.lost) withTip(el('path', {d: 'M' + (x1 - 4) + ',' + (y1 - 4) + ' l8,8 m0,-8 l-8,8', 'class': 'cross'}, plotg), m.tip);
    ++arrows;
  });
  // Causes: when each acted, and the events that show it.
  D.causes.forEach(function (c) {
    if (c.at >= view.t0 && c.at <= view.t1) {
      var cx = X(c.at);
      withTip(el('line', {x1: cx, x2: cx, y1: TOP - 2, y2: height - BOTTOM, 'class': 'cause-marker',
                          'data-kind': c.kind}, front), c.tip);
      withTip(el('text', {x: cx + 3, y: TOP + 10, 'class': 'cause-label'}, front), c.tip).textContent = 'cause: ' + c.kind;
    }
    c.evidence.forEach(function (e) {
      var ey = laneY(e.node); if (ey === null || e.at < view.t0 || e.at > view.t1) return;
      withTip(el('circle', {cx: X(e.at), cy: ey + LANE / 2, r: 6, 'class': 'evidence'}, front), e.tip);
    });
  });
  // Violations and their witnesses, on top.
  D.violations.forEach(function (v, vi) {
    if (v.at >= view.t0 && v.at <= view.t1) {
      var vx = X(v.at);
      withTip(el('line', {x1: vx, x2: vx, y1: TOP - 2, y2: height - BOTTOM, 'class': 'violation-marker',
                          'data-invariant': v.invariant, 'data-index': vi}, front), v.tip);
      var flag = el('text', {x: vx + 3, y: height - 2, 'class': 'violation-label'}, front);
      flag.textContent = '\u26a0 ' + v.invariant;
      withTip(flag, v.tip);
      v.nodes.forEach(function (n) {
        var ny = laneY(n); if (ny !== null) el('rect', {x: vx - 6, y: ny + 2, width: 12, height: LANE - 4, 'class': 'violated'}, front);
      });
    }
    v.witnesses.forEach(function (w) {
      var wy = laneY(w.node); if (wy === null || w.at < view.t0 || w.at > view.t1) return;
      var wx = X(w.at);
      w.to.forEach(function (n) {
        var ty = laneY(n); if (ty === null || ty === wy) return;
        el('line', {x1: wx, y1: wy + LANE / 2, x2: wx, y2: ty + LANE / 2, 'class': 'witness-link', 'marker-end': 'url(#head-red)'}, front);
      });
      withTip(el('circle', {cx: wx, cy: wy + LANE / 2, r: 5.5, 'class': 'witness'}, front), w.tip);
    });
  });
  // The frame: the range shown, for a person and for the browser test.
  document.getElementById('range').textContent = fmt(view.t0, span / 8) + ' .. ' + fmt(view.t1, span / 8) +
      ' (' + fmt(span, span / 8) + ' shown)';
  status.setAttribute('data-state', 'ok');
  status.setAttribute('data-rows', L.rows.length);
  status.setAttribute('data-arrows', arrows);
  status.setAttribute('data-violations', svg.querySelectorAll('.violation-marker').length);
}

function setView(t0, t1) {
  var span = Math.min(D.end * 1.2, Math.max(MIN_SPAN, t1 - t0));
  var mid = (t0 + t1) / 2;
  t0 = mid - span / 2; t1 = mid + span / 2;
  var lo = -D.end * 0.1, hi = D.end * 1.1;
  if (t0 < lo) { t1 += lo - t0; t0 = lo; }
  if (t1 > hi) { t0 -= t1 - hi; t1 = hi; }
  view.t0 = t0; view.t1 = t1;
  render();
}
function zoomAt(factor, t) {
  if (t === undefined) t = (view.t0 + view.t1) / 2;
  setView(t - (t - view.t0) * factor, t + (view.t1 - t) * factor);
}
function pan(fraction) { var d = (view.t1 - view.t0) * fraction; setView(view.t0 + d, view.t1 + d); }
function whole() { setView(0, D.end); }
function focusViolation(i) { var v = D.violations[i]; if (v) setView(v.from, v.to); }
function timeAtX(clientX) {
  var r = svg.getBoundingClientRect(), plot = r.width - LABEL - 10;
  return view.t0 + (clientX - r.left - LABEL) / plot * (view.t1 - view.t0);
}

svg.addEventListener('wheel', function (e) {
  e.preventDefault();
  if (e.shiftKey || Math.abs(e.deltaX) > Math.abs(e.deltaY)) pan((e.deltaX || e.deltaY) / 1000);
  else zoomAt(e.deltaY > 0 ? 1.25 : 0.8, timeAtX(e.clientX));
}, {passive: false});
var drag = null;
svg.addEventListener('mousedown', function (e) { drag = {x: e.clientX, t0: view.t0, t1: view.t1}; });
window.addEventListener('mouseup', function () { drag = null; svg.classList.remove('dragging'); });
window.addEventListener('mousemove', function (e) {
  if (!drag) return;
  var plot = svg.getBoundingClientRect().width - LABEL - 10;
  var dt = (drag.x - e.clientX) / plot * (drag.t1 - drag.t0);
  if (Math.abs(drag.x - e.clientX) > 2) svg.classList.add('dragging');
  setView(drag.t0 + dt, drag.t1 + dt);
});
svg.addEventListener('mouseover', function (e) {
  var t = e.target.getAttribute && e.target.getAttribute('data-tip');
  if (!t) return;
  tip.textContent = t;
  tip.hidden = false;
});
svg.addEventListener('mousemove', function (e) {
  if (tip.hidden) return;
  tip.style.left = Math.min(window.innerWidth - 420, e.clientX + 14) + 'px';
  tip.style.top = (e.clientY + 16) + 'px';
});
svg.addEventListener('mouseout', function () { tip.hidden = true; });
document.addEventListener('keydown', function (e) {
  if (e.target && e.target.tagName === 'INPUT') return;
  if (e.key === '+' || e.key === '=') zoomAt(0.8);
  else if (e.key === '-') zoomAt(1.25);
  else if (e.key === 'ArrowLeft') pan(-0.2);
  else if (e.key === 'ArrowRight') pan(0.2);
  else if (e.key === '0') whole();
});
document.getElementById('zoom-in').addEventListener('click', function () { zoomAt(0.5); });
document.getElementById('zoom-out').addEventListener('click', function () { zoomAt(2); });
document.getElementById('pan-left').addEventListener('click', function () { pan(-0.5); });
document.getElementById('pan-right').addEventListener('click', function () { pan(0.5); });
document.getElementById('whole').addEventListener('click', whole);
// Focus: the whole run, each cause, each violation (the window whose messages are drawn).
var focus = document.getElementById('focus');
function option(value, text) {
  var o = document.createElement('option');
  o.value = value; o.textContent = text;
  focus.appendChild(o);
}
option('', 'whole run');
D.causes.forEach(function (c, i) { option('#c' + i, 'cause: ' + c.kind + ' at ' + fmt(c.at, 1e6)); });
D.violations.forEach(function (v, i) { option('#v' + i, '\u26a0 ' + (i + 1) + ' ' + v.invariant + ' at ' + fmt(v.at, 1e6)); });
focus.addEventListener('change', function () {
  if (location.hash === focus.value || (!focus.value && location.hash === '')) fromHash();
  else location.hash = focus.value;  // hashchange draws it
});
function fromHash() {
  var m = /^#([vc])(\d+)$/.exec(location.hash);
  var list = m ? (m[1] === 'v' ? D.violations : D.causes) : [];
  if (m && list[+m[2]]) { setView(list[+m[2]].from, list[+m[2]].to); focus.value = location.hash; }
  else { whole(); focus.value = ''; }
}
window.addEventListener('hashchange', fromHash);
window.addEventListener('resize', render);
fromHash();

// ?selftest (the browser test): drive the page as a person would (open a
// folded lane, zoom with the button and the wheel, pan, hover a witness) and
// record in #fl-status what worked; then show the view the address asked for.
if (/[?&]selftest\b/.test(location.search)) {
  var failed = [];
  function check(name, ok) { if (!ok) failed.push(name); }
  var rows0 = +status.getAttribute('data-rows');
  var group = svg.querySelector('.lane-label.group');
  if (group) {
    group.dispatchEvent(new MouseEvent('click', {bubbles: true}));
    check('open', +status.getAttribute('data-rows') > rows0 && svg.querySelector('.lane-label.sub') !== null);
  }
  var span0 = view.t1 - view.t0;
  document.getElementById('zoom-in').click();
  check('zoom-in', Math.abs((view.t1 - view.t0) - span0 / 2) <= span0 * 1e-9);
  var t0 = view.t0;
  document.getElementById('pan-left').click();
  check('pan', view.t0 < t0);
  var r = svg.getBoundingClientRect(), span1 = view.t1 - view.t0;
  svg.dispatchEvent(new WheelEvent('wheel', {deltaY: -100, clientX: r.left + r.width / 2, clientY: r.top + 40,
                                             bubbles: true, cancelable: true}));
  check('wheel', view.t1 - view.t0 < span1);
  fromHash();
  var w = svg.querySelector('.witness');
  if (w) {
    w.dispatchEvent(new MouseEvent('mouseover', {bubbles: true}));
    check('hover', !tip.hidden && tip.textContent.indexOf('witness') === 0);
  }
  status.setAttribute('data-selftest', failed.length ? 'failed: ' + failed.join(' ') : 'ok');
}
})();
)JS";

constexpr const char* kStyle = R"CSS(
body{font-family:system-ui,sans-serif;margin:1.2em 1.5em;color:#1a1a1a;background:#fff}
code,pre{font-family:ui-monospace,monospace;background:#f3f3f3;padding:1px 3px}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:2px 6px;font-size:13px;text-align:left;vertical-align:top}
h1{font-size:1.4em}h2{font-size:1.15em;margin-top:1.4em}
#wrap{border:1px solid #bbb;position:relative;user-select:none}
#diagram{display:block;cursor:grab}#diagram.dragging{cursor:grabbing}
#diagram text{font-size:12px;font-family:ui-monospace,monospace}
.controls button{font-size:13px;margin:0 2px 4px 0}
.legend span{display:inline-block;margin-right:1em;font-size:12px}
.legend i{display:inline-block;width:14px;height:10px;margin-right:4px;vertical-align:middle}
.stripe{fill:#f7f7f9}.lane{stroke:#d5d5d5}.tick{stroke:#ececec}.axis{fill:#333;text-anchor:middle}
.lane-label{fill:#111;font-weight:700}.lane-label.group{fill:#1f4e96;cursor:pointer;text-decoration:underline}
.lane-label.sub{font-weight:400;fill:#333}
.clock-label{fill:#00796b;text-anchor:end;font-size:11px!important}.clock{fill:#00897b}.clock-text{fill:#00695c;font-size:10px!important}
.settle{fill:#e8f0fb}.band{opacity:.9}
.cut{fill:#f5a623;opacity:.35}.net{fill:#f8e71c;opacity:.35}.fault-none{fill:#aaa;opacity:.3}.fault-mark{fill:#f5a623}
.down{fill:#d0021b;opacity:.28}.paused{fill:#8e24aa;opacity:.3}
.leader{fill:#2e7d32;opacity:1}.migration{fill:#1565c0;opacity:1}.lock{fill:#64b5f6;opacity:1}
.mark.event{fill:#8a8a8a}.mark.key{fill:#2e7d32}.mark.bad{fill:#e65100}.mark.op{fill:#1565c0}.mark.fault{fill:#f5a623;stroke:#a86500}
.msg{stroke:#5c6bc0;stroke-width:1;opacity:.75}.msg.wal{stroke:#0097a7}.msg.realtime{stroke:#7e57c2}.msg.commit{stroke:#00838f}
.msg.health,.msg.connect{stroke:#9e9e9e}.msg.failed,.msg.lost{stroke:#e53935;stroke-dasharray:3 2}
.cross{stroke:#e53935;stroke-width:1.6;fill:none}
.head-ok{fill:#5c6bc0}.head-bad{fill:#e53935}.head-red{fill:#c00}
.violation-marker{stroke:#c00;stroke-width:2.5;stroke-dasharray:5 3}.violation-label{fill:#c00;font-weight:700}
.violated{fill:none;stroke:#c00;stroke-width:2}
.witness{fill:#c00;stroke:#fff;stroke-width:1.5}
.cause-marker{stroke:#ef6c00;stroke-width:2;stroke-dasharray:2 3}.cause-label{fill:#ef6c00;font-weight:700}
.evidence{fill:none;stroke:#ef6c00;stroke-width:2.5}.witness-link{stroke:#c00;stroke-width:1.5}
#tip{position:fixed;max-width:400px;background:#222;color:#fff;font:12px ui-monospace,monospace;padding:4px 6px;
border-radius:3px;pointer-events:none;white-space:pre-wrap;z-index:9}
#script-error{background:#c00;color:#fff;padding:.5em;font-weight:700}
.FAIL,.ERROR{color:#c00}.PASS{color:#2e7d32}
)CSS";

}  // namespace

std::string report_html(const RunResult& run) {
  std::string h = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
  // No network: nothing may be fetched, not even by a crafted string.
  h += "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; script-src 'unsafe-inline'; "
       "style-src 'unsafe-inline'; img-src data:\">\n";
  h += "<title>" + html_escape(std::string(outcome_name(run.outcome)) + " " + run.scenario_path + " seed=" +
                               std::to_string(run.seed)) + "</title>\n";
  // First of all: a script error anywhere shows on the page (and the browser test sees it).
  h += "<script>window.onerror=function(m,s,l,c){var d=document.createElement('div');d.id='script-error';"
       "d.textContent='script error: '+m+' (line '+l+':'+c+')';(document.body||document.documentElement)"
       ".insertBefore(d,(document.body||document.documentElement).firstChild);};</script>\n";
  h += std::string("<style>") + kStyle + "</style>\n</head>\n<body>\n";
  h += fmt::format("<h1><span class=\"{0}\">{0}</span> {1} <small>seed {2}</small></h1>\n", outcome_name(run.outcome),
                   html_escape(run.scenario_path), run.seed);
  if (!run.scenario_name.empty()) h += "<p><em>" + html_escape(run.scenario_name) + "</em></p>\n";
  h += fmt::format("<p>trace hash <code>{}</code> · scenario hash <code>{}</code> · {} {} · {} events</p>\n",
                   html_escape(trace_hash_text(run)), hex64(run.scenario_hash), run_kind(run),
                   html_escape(format_time(run.sim_end)), run.events);
  h += "<p>Reproduce: <code>" + html_escape(run.reproduce) + "</code></p>\n";
  // The first problem here; all of them below the diagram (a run with many
  // violations would push the diagram off the first screen).
  if (!run.problems.empty())
    h += "<p class=\"FAIL\">" + html_escape(run.problems.front()) +
         (run.problems.size() > 1 ? " <small>(+" + std::to_string(run.problems.size() - 1) + " more below)</small>" : "") +
         "</p>\n";
  const auto groups = groups_of(run);
  if (!groups.empty()) {
    h += "<h2>Causes</h2>\n<ul>\n";
    for (const auto& g : groups)
      h += fmt::format("<li><code>{}</code> &times; {} <small>{}</small>: {}</li>\n", html_escape(g.invariant),
                       g.members.size(), html_escape(g.kind),
                       html_escape(g.cause.empty() ? std::string("cause not shown by the history") : g.cause));
    h += "</ul>\n";
  }
  h += "<h2>Space-time diagram</h2>\n"
       "<div class=\"controls\"><button id=\"whole\">whole run</button> <button id=\"zoom-in\">zoom in</button>"
       "<button id=\"zoom-out\">zoom out</button> <button id=\"pan-left\">&larr;</button><button id=\"pan-right\">&rarr;</button>"
       " <label>focus <select id=\"focus\"></select></label> <small>shown: <span id=\"range\"></span> · wheel: zoom · drag or shift+wheel: pan "
       "· keys + - &larr; &rarr; 0</small></div>\n"
       "<div class=\"legend\"><span><i style=\"background:#2e7d32\"></i>leader term</span>"
       "<span><i style=\"background:#1565c0\"></i>migration</span><span><i style=\"background:#64b5f6\"></i>migration lock</span>"
       "<span><i style=\"background:#f5a623;opacity:.5\"></i>partition / cut</span>"
       "<span><i style=\"background:#f8e71c;opacity:.5\"></i>loss, delay, outage</span>"
       "<span><i style=\"background:#d0021b;opacity:.4\"></i>down</span><span><i style=\"background:#8e24aa;opacity:.4\"></i>paused</span>"
       "<span><i style=\"background:#00897b\"></i>clock off</span><span><i style=\"background:#e8f0fb\"></i>settle</span>"
       "<span><i style=\"background:#5c6bc0\"></i>message</span><span><i style=\"background:#e53935\"></i>lost message</span>"
       "<span><i style=\"background:#c00\"></i>violation, witnesses</span>"
       "<span><i style=\"background:#ef6c00\"></i>cause, its evidence</span></div>\n"
       "<div id=\"wrap\"><svg id=\"diagram\" xmlns=\"http://www.w3.org/2000/svg\" width=\"1100\" height=\"100\"></svg></div>\n"
       "<noscript><p>The diagram needs JavaScript; the tables below have everything it shows.</p></noscript>\n"
       "<div id=\"tip\" hidden></div>\n<div id=\"fl-status\" data-state=\"loading\" hidden></div>\n";
  h += fmt::format("<p><small>{} messages drawn as arrows: the {} before and {} after each violation and {} around each "
                   "witness, inferred from the history's events (reports/messages.h). Click a folded clients lane to open "
                   "it.</small></p>\n",
                   run.messages.size(), format_duration(kMessagesBefore), format_duration(kMessagesAfter),
                   format_duration(kMessagesAroundWitness));
  if (run.problems.size() > 1) {
    h += "<h2>Why the run failed</h2>\n<ul>\n";
    for (const auto& pr : run.problems) h += "<li class=\"FAIL\">" + html_escape(pr) + "</li>\n";
    h += "</ul>\n";
  }
  h += fmt::format("<h2>Violations ({})</h2>\n", run.violations.size());
  for (std::size_t vi = 0; vi < run.violations.size(); ++vi) {
    const auto& v = run.violations[vi];
    h += fmt::format("<h3><code>{}</code> at {} <small><a href=\"#v{}\">show in the diagram</a></small></h3>\n<p>{}</p>\n",
                     html_escape(v.invariant), html_escape(format_time(v.at)), vi, html_escape(v.message));
    h += "<table><tr><th>seq</th><th>time</th><th>node</th><th>event</th><th>fields</th></tr>\n";
    for (const auto& w : v.witnesses)
      h += fmt::format("<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n", w.seq,
                       html_escape(format_time(w.at)), html_escape(lane_name(run, w.node)),
                       html_escape(std::string(w.name())), html_escape(event_fields_text(run, w)));
    h += "</table>\n";
  }
  h += "<h2>Faults</h2>\n<table><tr><th>#</th><th>from</th><th>until</th><th>kind</th><th>detail</th><th>effect</th></tr>\n";
  for (const auto& f : run.faults)
    h += fmt::format("<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n", f.index,
                     html_escape(format_time(f.at)), html_escape(fault_until(f)), html_escape(f.kind),
                     html_escape(f.detail), html_escape(fault_effect(f)));
  h += "</table>\n";
  const auto steps = operator_steps(run);
  if (!steps.empty()) {
    h += "<h2>Operator</h2>\n<table><tr><th>time</th><th>step</th></tr>\n";
    for (const auto& [at, text] : steps)
      h += fmt::format("<tr><td>{}</td><td>{}</td></tr>\n", html_escape(format_time(at)), html_escape(text));
    h += "</table>\n";
  }
  h += "<script type=\"application/json\" id=\"fl-data\">" + script_json(diagram_data(run)) + "</script>\n";
  h += std::string("<script>") + kScript + "</script>\n</body>\n</html>\n";
  return h;
}

}  // namespace fl::reports
