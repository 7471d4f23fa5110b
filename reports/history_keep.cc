#include "reports/history_keep.h"

#include <zlib.h>

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "base/assert.h"
#include "reports/explain.h"
#include "reports/messages.h"

namespace fl::reports {
namespace {

// The envelope of a line of sim/history_json.h: {"seq":N,"at_ns":N,...,"node":N|null,...,"event":"name",...}.
struct Envelope {
  std::uint64_t seq = 0;
  std::int64_t at_ns = 0;
  std::string_view event;
  bool ok = false;
};

template <class I>
bool number_after(std::string_view line, std::string_view key, I& out) {
  const auto k = line.find(key);
  if (k == std::string_view::npos) return false;
  const char* begin = line.data() + k + key.size();
  const auto [p, ec] = std::from_chars(begin, line.data() + line.size(), out);
  return ec == std::errc{} && p != begin;
}

Envelope envelope(std::string_view line) {
  Envelope e;
  if (!number_after(line, "{\"seq\":", e.seq) || !number_after(line, ",\"at_ns\":", e.at_ns)) return e;
  // The first "event":" is the envelope's key: inside an escaped string a quote
  // is always preceded by a backslash, so the sequence cannot occur there.
  constexpr std::string_view kEvent = "\"event\":\"";
  const auto k = line.find(kEvent);
  if (k == std::string_view::npos) return e;
  const auto end = line.find('"', k + kEvent.size());
  if (end == std::string_view::npos) return e;
  e.event = line.substr(k + kEvent.size(), end - k - kEvent.size());
  e.ok = true;
  return e;
}

// The events CauseFinder reads, back from their JSON line (the few types it
// wants; sim/history_json.h owns the full mapping, which reports may not use).
std::optional<HistoryEvent> parse_wanted(std::string_view line, std::string_view name) {
  const auto j = nlohmann::json::parse(line, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  HistoryEvent e;
  e.seq = j.value("seq", std::uint64_t{0});
  e.at = Time{Duration{j.value("at_ns", std::int64_t{0})}};
  e.local = Time{Duration{j.value("local_ns", std::int64_t{0})}};
  const auto& node = j.contains("node") ? j.at("node") : nlohmann::json();
  e.node = node.is_number_unsigned() ? NodeId{node.get<std::uint32_t>()} : kNoNode;
  const auto& f = j.contains("fields") ? j.at("fields") : nlohmann::json::object();
  auto u64 = [&](const char* k) { return f.contains(k) && f.at(k).is_number() ? f.at(k).get<std::uint64_t>() : 0; };
  auto i64 = [&](const char* k) { return f.contains(k) && f.at(k).is_number() ? f.at(k).get<std::int64_t>() : 0; };
  auto id = [&](const char* k) {
    return f.contains(k) && f.at(k).is_number_unsigned() ? NodeId{f.at(k).get<std::uint32_t>()} : kNoNode;
  };
  if (name == PostCommitted::kName) e.body = PostCommitted{u64("post"), std::uint32_t(u64("channel")), u64("lsn")};
  else if (name == ReplicaApplied::kName) e.body = ReplicaApplied{u64("lsn")};
  else if (name == ClientResync::kName) e.body = ClientResync{u64("since_post")};
  else if (name == PostDelivered::kName)
    e.body = PostDelivered{u64("post"), std::uint32_t(u64("channel")), f.value("via", std::string())};
  else if (name == ProcessPaused::kName) e.body = ProcessPaused{Duration{i64("length")}};
  else if (name == ProcessCrashed::kName) e.body = ProcessCrashed{};
  else if (name == ProcessStopped::kName) e.body = ProcessStopped{};
  else if (name == ProcessStarted::kName) e.body = ProcessStarted{};
  else if (name == SendFailed::kName) e.body = SendFailed{id("peer"), std::uint32_t(u64("attempt"))};
  else if (name == ClockChanged::kName)
    e.body = ClockChanged{Duration{i64("offset")}, i64("drift_ppm"), Duration{i64("step")}};
  else return std::nullopt;
  return e;
}

struct Windows {
  std::vector<std::pair<std::int64_t, std::int64_t>> spans;  // merged, sorted [lo, hi]
  void add(Time t, Duration before, Duration after) { spans.emplace_back(ns(t) - ns(Time{before}), ns(t) + ns(Time{after})); }
  void merge() {
    std::sort(spans.begin(), spans.end());
    std::vector<std::pair<std::int64_t, std::int64_t>> out;
    for (const auto& s : spans) {
      if (!out.empty() && s.first <= out.back().second) out.back().second = std::max(out.back().second, s.second);
      else out.push_back(s);
    }
    spans = std::move(out);
  }
  bool contains(std::int64_t t) const {
    auto it = std::upper_bound(spans.begin(), spans.end(), std::pair{t, INT64_MAX});
    return it != spans.begin() && t <= std::prev(it)->second;
  }
};

}  // namespace

bool always_kept(std::string_view n) {
  static constexpr std::string_view kAlways[] = {
      ProcessStarted::kName, ProcessCrashed::kName, ProcessStopped::kName, ProcessPaused::kName,
      ProcessResumed::kName, ClockChanged::kName, FaultInjected::kName, FaultHealed::kName, SettleBegin::kName,
      ServerStarting::kName, ServerServing::kName, ServerRefusedStart::kName, ServerStopping::kName,
      MigrationLockAcquired::kName, MigrationLockLost::kName, MigrationLockReleased::kName,
      MigrationStarted::kName, MigrationApplied::kName, PeerDown::kName, PeerUp::kName, ElectionWon::kName,
      LeaderBegin::kName, LeaderEnd::kName, DbCrashed::kName, Promoted::kName, CommitsLost::kName,
      SyncCommitsWaiting::kName, SyncRequirement::kName, ClientConnected::kName, ClientDisconnected::kName,
      UpstreamChanged::kName, PluginLoaded::kName, ConfigChanged::kName, OperatorStep::kName,
      JobCreated::kName, JobClaimed::kName, JobFinished::kName};
  return std::find(std::begin(kAlways), std::end(kAlways), n) != std::end(kAlways);
}

// ---- HistoryKeeper: the cut, one event at a time ------------------------------

struct HistoryKeeper::State {
  RunResult& run;
  Windows windows;
  CauseFinder finder;
  std::vector<std::pair<Time, Time>> message_spans;
  std::size_t per_window = 0;
  std::vector<std::size_t> window_events;
  std::vector<HistoryEvent> message_events;
  gzFile gz = nullptr;
  std::string kept_path;
  std::string error;
  bool write_failed = false;
  std::uint64_t kept = 0, windowed = 0;
  explicit State(RunResult& r) : run(r), finder(r) {}
};

HistoryKeeper::HistoryKeeper(const std::string& dir, RunResult& run) : s_(std::make_unique<State>(run)) {
  for (const auto& v : run.violations) {
    s_->windows.add(v.at, kWindowBefore, kWindowAfter);
    for (const auto& w : v.witnesses) s_->windows.add(w.at, kWitnessWindow, kWitnessWindow);
  }
  s_->windows.merge();
  // The messages around the violations (report.html's arrows). Each window
  // gets its share of kMaxMessageEvents, so the last violation's messages are
  // not crowded out by the first one's.
  s_->message_spans = message_windows(run);
  s_->per_window = s_->message_spans.empty()
                       ? 0
                       : std::max(kMinMessageEventsPerWindow, kMaxMessageEvents / s_->message_spans.size());
  s_->window_events.assign(s_->message_spans.size(), 0);
  if (!dir.empty()) {
    s_->kept_path = (std::filesystem::path(dir) / "history.jsonl.gz").string();
    s_->gz = gzopen(s_->kept_path.c_str(), "wb6");
    if (!s_->gz) s_->error = "cannot write " + s_->kept_path;
  }
}

HistoryKeeper::~HistoryKeeper() {
  if (s_ && s_->gz) gzclose(s_->gz);
}

bool HistoryKeeper::wants_for_causes(std::string_view name) const { return s_->finder.wants(name); }

bool HistoryKeeper::take_message(std::string_view name, Time at) {
  if (!message_event(name)) return false;
  const auto& spans = s_->message_spans;
  auto it = std::upper_bound(spans.begin(), spans.end(), at, [](Time x, const auto& sp) { return x < sp.first; });
  if (it == spans.begin() || at > std::prev(it)->second) return false;
  std::size_t& n = s_->window_events[std::size_t(std::prev(it) - spans.begin())];
  if (n >= s_->per_window) return false;
  ++n;
  return true;
}

void HistoryKeeper::cause_event(const HistoryEvent& e) { s_->finder.on_event(e); }

void HistoryKeeper::message(const HistoryEvent& e) { s_->message_events.push_back(e); }

void HistoryKeeper::on_event(const HistoryEvent& e) {
  const std::string_view name = e.name();
  if (wants_for_causes(name)) cause_event(e);
  if (take_message(name, e.at)) message(e);
}

bool HistoryKeeper::keep(std::string_view name, Time at) {
  if (!s_->gz) return false;
  if (always_kept(name)) return true;
  if (s_->windowed < kMaxWindowEvents && s_->windows.contains(ns(at))) {
    ++s_->windowed;
    return true;
  }
  return false;
}

void HistoryKeeper::write(std::string_view line) {
  if (!s_->gz) return;
  std::string l(line);
  l += '\n';
  if (gzwrite(s_->gz, l.data(), unsigned(l.size())) != int(l.size())) s_->write_failed = true;
  ++s_->kept;
}

void HistoryKeeper::count_kept() { ++s_->kept; }

std::string HistoryKeeper::finish() {
  RunResult& run = s_->run;
  run.groups = s_->finder.groups();
  run.history_kept = s_->kept;
  run.messages = infer_messages(s_->message_events, run.timeline);
  if (!s_->error.empty()) return s_->error;
  if (!s_->gz) return "";
  const int closed = gzclose(s_->gz);
  s_->gz = nullptr;
  if (closed != Z_OK || s_->write_failed) return "cannot write " + s_->kept_path;
  run.history_file = std::filesystem::path(s_->kept_path).filename().string();
  run.history_done = true;
  return "";
}

std::string keep_history(const std::string& dir, RunResult& run) {
  namespace fs = std::filesystem;
  if (run.history_done) return "";  // cut already, as the run happened (HistoryKeeper)
  const fs::path full = run.history_file.empty() ? fs::path() : fs::path(dir) / run.history_file;
  std::error_code ec;
  if (full.empty() || !fs::is_regular_file(full, ec)) {
    run.groups = group_violations(run);
    run.history_file.clear();
    run.history_kept = 0;
    return "";
  }
  const bool keep_all = run.history_keep == HistoryKeep::full;
  HistoryKeeper keeper(keep_all ? std::string() : dir, run);
  std::ifstream in(full, std::ios::binary);
  if (!in) return "cannot read " + full.string();
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    const Envelope env = envelope(line);
    if (!env.ok) continue;  // not ours to judge; the writer's tests pin the format
    // Deliveries are the bulk of a history: only resync deliveries matter to
    // the causes (and those in a message window to the arrows), so the others
    // are not parsed.
    const bool for_causes = keeper.wants_for_causes(env.event) &&
                            (env.event != PostDelivered::kName || line.find("\"via\":\"resync\"") != std::string::npos);
    const bool for_message = keeper.take_message(env.event, time_from_ns(env.at_ns));
    if (for_causes || for_message) {
      std::optional<HistoryEvent> e = message_event(env.event) ? parse_message_event(line) : parse_wanted(line, env.event);
      if (e && for_causes) keeper.cause_event(*e);
      if (e && for_message) keeper.message(*e);
    }
    if (keep_all) keeper.count_kept();
    else if (keeper.keep(env.event, time_from_ns(env.at_ns))) keeper.write(line);
  }
  const std::string error = keeper.finish();
  if (!error.empty() || keep_all) return error;  // --history full: the whole file stays, as it is
  fs::remove(full, ec);
  if (ec) return "cannot remove " + full.string() + ": " + ec.message();
  return "";
}

}  // namespace fl::reports
