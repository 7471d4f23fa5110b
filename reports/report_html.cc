// report.html: one self-contained file (no network, no external scripts or
// fonts) with the violations and an SVG space-time diagram: a lane per node,
// the settle phase, faults and crashes shaded, pauses, leader terms and
// migrations as bars, the violations as red lines and their witnesses as red
// marks with arrows to the node they name. Zoom on the time axis by widening the
// SVG (a few lines of inline script). Every string is escaped.
#include <fmt/format.h>

#include <algorithm>
#include <map>

#include "base/assert.h"
#include "reports/escape.h"
#include "reports/report.h"

namespace fl::reports {
namespace {

constexpr int kLabelWidth = 130;   // px for lane names
constexpr int kPlotWidth = 1100;   // px for the time axis at zoom 1
constexpr int kLaneHeight = 26;
constexpr int kTop = 30;           // room for the time axis

// Lanes in reading order: app servers, the database (primary, replicas), then
// the proxy, storage, operator and any other node; every client is folded into
// one "clients" lane at the bottom (its events name the client on hover).
int lane_rank(const std::string& role) {
  static const char* kOrder[] = {"app_server", "db_primary", "db_replica", "proxy", "storage", "operator", "other"};
  for (int i = 0; i < int(std::size(kOrder)); ++i)
    if (role == kOrder[i]) return i;
  return int(std::size(kOrder));
}

struct Plot {
  const RunResult& run;
  std::int64_t span_ns;
  std::vector<int> row;          // by NodeId value
  std::vector<std::string> rows;  // the label of each row
  int clients_row = -1;
  std::size_t clients = 0;
  Plot(const RunResult& r, std::int64_t span) : run(r), span_ns(span), row(r.lanes.size(), -1) {
    std::vector<std::uint32_t> order;
    for (std::uint32_t i = 0; i < r.lanes.size(); ++i)
      if (r.lanes[i].role == "client") ++clients;
      else order.push_back(i);
    std::stable_sort(order.begin(), order.end(), [&](auto a, auto b) {
      return lane_rank(r.lanes[a].role) < lane_rank(r.lanes[b].role);
    });
    for (auto i : order) {
      row[i] = int(rows.size());
      rows.push_back(r.lanes[i].name);
    }
    if (clients > 0) {
      clients_row = int(rows.size());
      rows.push_back("clients (" + std::to_string(clients) + ")");
      for (std::uint32_t i = 0; i < r.lanes.size(); ++i)
        if (r.lanes[i].role == "client") row[i] = clients_row;
    }
  }
  double x(Time t) const {
    const double f = span_ns > 0 ? double(ns(t)) / double(span_ns) : 0.0;
    return kLabelWidth + std::clamp(f, 0.0, 1.0) * kPlotWidth;
  }
  int lane_y(NodeId id) const { return kTop + row.at(id.value) * kLaneHeight; }
  bool has_lane(NodeId id) const { return id != kNoNode && id.value < run.lanes.size(); }
  bool is_client(NodeId id) const { return has_lane(id) && row[id.value] == clients_row; }
};

// NodeIds a witness names in its fields (peer, server, client, leader, ...).
struct NodeFields {
  std::vector<NodeId> ids;
  void operator()(std::string_view, NodeId id) { ids.push_back(id); }
  template <class V>
  void operator()(std::string_view, const V&) {}
};

std::string rect(double x0, double x1, int y, int h, const char* cls, const std::string& title) {
  return fmt::format("<rect class=\"{}\" x=\"{:.1f}\" y=\"{}\" width=\"{:.1f}\" height=\"{}\"><title>{}</title></rect>\n",
                     cls, x0, y, std::max(1.0, x1 - x0), h, html_escape(title));
}

std::string svg(const RunResult& run) {
  const Plot p(run, std::max<std::int64_t>(1, ns(run.sim_end)));
  const int height = kTop + int(p.rows.size()) * kLaneHeight + 10;
  std::string s = fmt::format(
      "<svg id=\"st\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" viewBox=\"0 0 {} {}\" "
      "preserveAspectRatio=\"none\">\n",
      kLabelWidth + kPlotWidth + 10, height, kLabelWidth + kPlotWidth + 10, height);
  // Time axis: ten ticks.
  for (int i = 0; i <= 10; ++i) {
    const Time t = Time{Duration{p.span_ns / 10 * i}};
    s += fmt::format("<line class=\"tick\" x1=\"{0:.1f}\" x2=\"{0:.1f}\" y1=\"{1}\" y2=\"{2}\"/>"
                     "<text class=\"axis\" x=\"{0:.1f}\" y=\"{3}\">{4}</text>\n",
                     p.x(t), kTop - 4, height - 10, kTop - 10, html_escape(format_time(t)));
  }
  if (run.settle_begin > kTimeZero)
    s += rect(p.x(run.settle_begin), p.x(run.sim_end), kTop, height - kTop - 10, "settle", "settle phase");
  // Lanes.
  for (std::size_t i = 0; i < p.rows.size(); ++i) {
    const int y = kTop + int(i) * kLaneHeight;
    std::string title = p.rows[i];
    if (int(i) == p.clients_row) {
      title = "clients folded into this lane:";
      for (const auto& l : run.lanes)
        if (l.role == "client") title += " " + l.name;
    }
    s += fmt::format("<text class=\"lanename\" x=\"4\" y=\"{}\">{}<title>{}</title></text><line class=\"lane\" x1=\"{}\" x2=\"{}\" y1=\"{}\" y2=\"{}\"/>\n",
                     y + kLaneHeight / 2 + 4, html_escape(p.rows[i]), html_escape(title), kLabelWidth,
                     kLabelWidth + kPlotWidth, y + kLaneHeight / 2, y + kLaneHeight / 2);
  }
  // Faults: a band over the lanes they name (every lane when they name none).
  for (const auto& f : run.faults) {
    if (!f.applied) continue;  // its time never came
    const Time end = f.healed ? f.healed_at : run.sim_end;
    const std::string title = "fault #" + std::to_string(f.index) + " " + f.kind + " " + f.detail;
    bool drawn = false;
    for (const auto& name : f.nodes) {
      for (std::uint32_t i = 0; i < run.lanes.size(); ++i) {
        if (run.lanes[i].name != name) continue;
        s += rect(p.x(f.at), p.x(end), p.lane_y(NodeId{i}) + 2, kLaneHeight - 4, "fault", title);
        drawn = true;
      }
    }
    if (!drawn) s += rect(p.x(f.at), p.x(end), kTop, int(p.rows.size()) * kLaneHeight, "fault", title);
  }
  // Timeline: crashes and stops until the next start, pauses, leader terms, migrations.
  std::map<NodeId, const HistoryEvent*> down, leading, migrating;
  auto close = [&](std::map<NodeId, const HistoryEvent*>& open, NodeId n, Time t, const char* cls, int dy, int h,
                   const std::string& what) {
    auto it = open.find(n);
    if (it == open.end() || !p.has_lane(n)) return;
    s += rect(p.x(it->second->at), p.x(t), p.lane_y(n) + dy, h, cls,
              what + " " + lane_name(run, n) + " " + format_time(it->second->at) + ".." + format_time(t));
    open.erase(it);
  };
  for (const auto& e : run.timeline) {
    if (!p.has_lane(e.node)) continue;
    if (p.is_client(e.node)) {  // folded: a mark naming the client
      s += fmt::format("<circle class=\"mark\" cx=\"{:.1f}\" cy=\"{}\" r=\"2\"><title>{}</title></circle>\n", p.x(e.at),
                       p.lane_y(e.node) + kLaneHeight / 2,
                       html_escape(lane_name(run, e.node) + " " + std::string(e.name()) + " " + event_fields_text(run, e)));
      continue;
    }
    if (e.is<ProcessCrashed>() || e.is<ProcessStopped>() || e.is<DbCrashed>()) {
      close(leading, e.node, e.at, "leader", 9, 8, "leader");
      close(migrating, e.node, e.at, "migration", 4, 4, "migration");
      down.try_emplace(e.node, &e);
    } else if (e.is<ProcessStarted>()) {
      close(down, e.node, e.at, "down", 1, kLaneHeight - 2, "down");
    } else if (const auto* pz = e.get<ProcessPaused>()) {
      s += rect(p.x(e.at), p.x(e.at + pz->length), p.lane_y(e.node) + 1, kLaneHeight - 2, "paused",
                "paused " + lane_name(run, e.node) + " for " + format_duration(pz->length));
    } else if (e.is<LeaderBegin>()) {
      leading.try_emplace(e.node, &e);
    } else if (e.is<LeaderEnd>()) {
      close(leading, e.node, e.at, "leader", 9, 8, "leader");
    } else if (e.is<MigrationStarted>()) {
      migrating.try_emplace(e.node, &e);
    } else if (e.is<MigrationApplied>()) {
      close(migrating, e.node, e.at, "migration", 4, 4, "migration");
    } else {
      s += fmt::format("<circle class=\"mark\" cx=\"{:.1f}\" cy=\"{}\" r=\"2\"><title>{}</title></circle>\n", p.x(e.at),
                       p.lane_y(e.node) + kLaneHeight / 2,
                       html_escape(std::string(e.name()) + " " + event_fields_text(run, e)));
    }
  }
  for (auto* open : {&down, &leading, &migrating}) {
    std::vector<NodeId> ids;
    for (const auto& [n, e] : *open) ids.push_back(n);
    for (NodeId n : ids) {
      const char* cls = open == &down ? "down" : open == &leading ? "leader" : "migration";
      const int dy = open == &down ? 1 : open == &leading ? 9 : 4;
      const int h = open == &down ? kLaneHeight - 2 : open == &leading ? 8 : 4;
      close(*open, n, run.sim_end, cls, dy, h, cls);
    }
  }
  // Violations and witnesses, drawn last so they are on top.
  for (std::size_t vi = 0; vi < run.violations.size(); ++vi) {
    const auto& v = run.violations[vi];
    s += fmt::format("<line class=\"violation\" x1=\"{0:.1f}\" x2=\"{0:.1f}\" y1=\"{1}\" y2=\"{2}\"><title>{3}</title></line>\n",
                     p.x(v.at), kTop, height - 10, html_escape(v.invariant + " at " + format_time(v.at) + ": " + v.message));
    for (const auto& w : v.witnesses) {
      if (!p.has_lane(w.node)) continue;
      const double wx = p.x(w.at);
      const int wy = p.lane_y(w.node) + kLaneHeight / 2;
      NodeFields nf;
      std::visit([&](const auto& b) { b.fields(nf); }, w.body);
      for (NodeId to : nf.ids) {
        if (!p.has_lane(to) || to == w.node) continue;
        s += fmt::format("<line class=\"arrow\" x1=\"{:.1f}\" y1=\"{}\" x2=\"{:.1f}\" y2=\"{}\" marker-end=\"url(#head)\"/>\n",
                         wx, wy, wx, p.lane_y(to) + kLaneHeight / 2);
      }
      s += fmt::format("<circle class=\"witness\" cx=\"{:.1f}\" cy=\"{}\" r=\"5\"><title>{}</title></circle>\n", wx, wy,
                       html_escape("#" + std::to_string(w.seq) + " " + format_time(w.at) + " " +
                                   lane_name(run, w.node) + " " + std::string(w.name()) + " " +
                                   event_fields_text(run, w)));
    }
  }
  s += "<defs><marker id=\"head\" markerWidth=\"8\" markerHeight=\"8\" refX=\"6\" refY=\"3\" orient=\"auto\">"
       "<path d=\"M0,0 L6,3 L0,6 z\" fill=\"#c00\"/></marker></defs>\n</svg>\n";
  return s;
}

}  // namespace

std::string report_html(const RunResult& run) {
  std::string h = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
  h += "<title>" + html_escape(std::string(outcome_name(run.outcome)) + " " + run.scenario_path + " seed=" +
                               std::to_string(run.seed)) + "</title>\n";
  h += R"(<style>
body{font-family:system-ui,sans-serif;margin:1.5em;color:#222}
code,pre{font-family:ui-monospace,monospace;background:#f4f4f4;padding:1px 3px}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:2px 6px;font-size:13px;text-align:left}
#wrap{overflow-x:auto;border:1px solid #ccc}
svg text{font-size:11px;font-family:ui-monospace,monospace}
.axis{fill:#444;text-anchor:middle}.tick{stroke:#eee}.lane{stroke:#ccc}.lanename{fill:#111;font-weight:600}
.settle{fill:#eef3f8}.fault{fill:#f5a623;opacity:.25}.down{fill:#d0021b;opacity:.25}.paused{fill:#9013fe;opacity:.25}
.leader{fill:#2e7d32}.migration{fill:#1565c0}.mark{fill:#888}
.violation{stroke:#c00;stroke-width:2;stroke-dasharray:4 3}.witness{fill:#c00;stroke:#fff}.arrow{stroke:#c00;stroke-width:1.2}
.FAIL,.ERROR{color:#c00}.PASS{color:#2e7d32}
</style>
</head>
<body>
)";
  h += fmt::format("<h1><span class=\"{0}\">{0}</span> {1} <small>seed {2}</small></h1>\n", outcome_name(run.outcome),
                   html_escape(run.scenario_path), run.seed);
  if (!run.scenario_name.empty()) h += "<p><em>" + html_escape(run.scenario_name) + "</em></p>\n";
  h += fmt::format("<p>trace hash <code>{}</code> · scenario hash <code>{}</code> · simulated {} · {} events</p>\n",
                   hex64(run.trace_hash), hex64(run.scenario_hash), html_escape(format_time(run.sim_end)), run.events);
  h += "<p>Reproduce: <code>" + html_escape(run.reproduce) + "</code></p>\n";
  for (const auto& pr : run.problems) h += "<p class=\"FAIL\">" + html_escape(pr) + "</p>\n";
  const auto groups = groups_of(run);
  if (!groups.empty()) {
    h += "<h2>Causes</h2>\n<ul>\n";
    for (const auto& g : groups)
      h += fmt::format("<li><code>{}</code> &times; {} <small>{}</small>: {}</li>\n", html_escape(g.invariant),
                       g.members.size(), html_escape(g.kind),
                       html_escape(g.cause.empty() ? std::string("cause not shown by the history") : g.cause));
    h += "</ul>\n";
  }
  h += "<h2>Space-time diagram</h2>\n<p><button onclick=\"zoom(1.5)\">zoom in</button> "
       "<button onclick=\"zoom(1/1.5)\">zoom out</button> <button onclick=\"zoom(0)\">reset</button> "
       "· green: leader terms · blue: migrations · red band: down · purple: paused · orange: faults · "
       "blue background: settle · red: violations and their witnesses</p>\n<div id=\"wrap\">\n";
  h += svg(run);
  h += "</div>\n";
  h += fmt::format("<h2>Violations ({})</h2>\n", run.violations.size());
  for (const auto& v : run.violations) {
    h += fmt::format("<h3><code>{}</code> at {}</h3>\n<p>{}</p>\n", html_escape(v.invariant),
                     html_escape(format_time(v.at)), html_escape(v.message));
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
  h += R"(<script>
var base=null;function zoom(f){var s=document.getElementById('st');var w=parseFloat(s.getAttribute('width'));
if(base===null)base=w;s.setAttribute('width',f===0?base:Math.max(base/4,w*f));}
</script>
</body>
</html>
)";
  FL_ASSERT(h.find("http://", h.find("<script")) == std::string::npos);  // nothing fetched
  return h;
}

}  // namespace fl::reports
