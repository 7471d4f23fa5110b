#include "harness/run_watch.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>

#include "base/assert.h"

namespace fl::harness {

std::uint64_t physical_memory_bytes() {
  const long pages = ::sysconf(_SC_PHYS_PAGES);
  const long page = ::sysconf(_SC_PAGESIZE);
  if (pages <= 0 || page <= 0) return 0;
  return std::uint64_t(pages) * std::uint64_t(page);
}

std::uint64_t resident_bytes() {
  std::ifstream statm("/proc/self/statm");
  std::uint64_t size = 0, resident = 0;
  if (!(statm >> size >> resident)) return 0;
  const long page = ::sysconf(_SC_PAGESIZE);
  return page > 0 ? resident * std::uint64_t(page) : 0;
}

std::uint64_t default_max_memory() {
  const std::uint64_t physical = physical_memory_bytes();
  return physical > 0 ? physical / 2 : std::uint64_t(4) << 30;
}

std::optional<std::uint64_t> parse_size(std::string_view text) {
  std::size_t i = 0;
  std::uint64_t whole = 0;
  std::uint64_t frac = 0, frac_div = 1;
  bool digits = false;
  while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
    if (whole > (UINT64_MAX - 9) / 10) return std::nullopt;
    whole = whole * 10 + std::uint64_t(text[i++] - '0');
    digits = true;
  }
  if (i < text.size() && text[i] == '.') {
    ++i;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
      if (frac_div < 1'000'000) {
        frac = frac * 10 + std::uint64_t(text[i] - '0');
        frac_div *= 10;
      }
      ++i;
      digits = true;
    }
  }
  if (!digits) return std::nullopt;
  std::string_view unit = text.substr(i);
  while (!unit.empty() && unit.front() == ' ') unit.remove_prefix(1);
  int shift = 0;
  if (!unit.empty()) {
    switch (unit.front()) {
      case 'k': case 'K': shift = 10; break;
      case 'm': case 'M': shift = 20; break;
      case 'g': case 'G': shift = 30; break;
      case 't': case 'T': shift = 40; break;
      case 'b': case 'B': shift = 0; break;
      default: return std::nullopt;
    }
    if (shift != 0) unit.remove_prefix(1);
    if (!unit.empty() && unit.front() == 'i' && shift != 0) unit.remove_prefix(1);
    if (!unit.empty() && (unit.front() == 'B' || unit.front() == 'b')) unit.remove_prefix(1);
    if (!unit.empty()) return std::nullopt;
  }
  if (shift > 0 && whole > (UINT64_MAX >> shift)) return std::nullopt;
  return (whole << shift) + ((frac << shift) / frac_div);
}

std::string format_size(std::uint64_t bytes) {
  char buf[32];
  const double b = double(bytes);
  if (bytes >= (std::uint64_t(1) << 30)) std::snprintf(buf, sizeof buf, "%.1f GiB", b / double(1 << 30));
  else if (bytes >= (1u << 20)) std::snprintf(buf, sizeof buf, "%.0f MiB", b / double(1 << 20));
  else if (bytes >= 1024) std::snprintf(buf, sizeof buf, "%.0f KiB", b / 1024.0);
  else std::snprintf(buf, sizeof buf, "%llu bytes", static_cast<unsigned long long>(bytes));
  return buf;
}

namespace {
double steady_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}
std::string rate_text(double per_s) {
  char buf[32];
  if (per_s >= 1e9) std::snprintf(buf, sizeof buf, "%.2fG", per_s / 1e9);
  else if (per_s >= 1e6) std::snprintf(buf, sizeof buf, "%.2fM", per_s / 1e6);
  else if (per_s >= 1e3) std::snprintf(buf, sizeof buf, "%.1fk", per_s / 1e3);
  else std::snprintf(buf, sizeof buf, "%.0f", per_s);
  return buf;
}
std::string seconds_text(double s) {
  char buf[32];
  if (s >= 3600) std::snprintf(buf, sizeof buf, "%dh%02dm", int(s / 3600), int(std::fmod(s, 3600) / 60));
  else if (s >= 60) std::snprintf(buf, sizeof buf, "%dm%02ds", int(s / 60), int(std::fmod(s, 60)));
  else std::snprintf(buf, sizeof buf, "%.0fs", s);
  return buf;
}
}  // namespace

std::string progress_line(std::string_view label, Duration now, Duration end, std::uint64_t events,
                          double wall_seconds, std::uint64_t rss) {
  const double sim = std::chrono::duration<double>(now).count();
  const double total = std::chrono::duration<double>(end).count();
  const double wall = wall_seconds > 1e-9 ? wall_seconds : 1e-9;
  const double speedup = sim / wall;
  const int percent = total > 0 ? int(std::min(100.0, 100.0 * sim / total)) : 100;
  std::string line(label);
  line += ": sim " + format_duration(now) + " of " + format_duration(end) + " (" + std::to_string(percent) + "%), ";
  line += rate_text(double(events) / wall) + " events/s, " + rate_text(speedup) + "x, ";
  line += speedup > 0 ? seconds_text(std::max(0.0, total - sim) / speedup) + " left" : "? left";
  if (rss > 0) line += ", " + format_size(rss);
  return line;
}

RunWatch::RunWatch(std::ostream& err, std::string label, std::uint64_t max_memory, bool show_progress,
                   std::function<double()> wall_seconds, std::function<std::uint64_t()> rss)
    : err_(err),
      label_(std::move(label)),
      max_memory_(max_memory),
      show_(show_progress),
      wall_(wall_seconds ? std::move(wall_seconds) : std::function<double()>(steady_seconds)),
      rss_(rss ? std::move(rss) : std::function<std::uint64_t()>(resident_bytes)) {
  start_ = wall_();
}

std::string RunWatch::operator()(Time now, Time end, std::uint64_t events) {
  const std::uint64_t rss = rss_();
  if (max_memory_ > 0 && rss > max_memory_) {
    done();
    return "stopped: resident memory " + format_size(rss) + " went above the budget of " +
           format_size(max_memory_) + " at sim " + format_duration(now.time_since_epoch()) + " of " +
           format_duration(end.time_since_epoch()) + " (" + std::to_string(events) +
           " events); the scenario is too big for this machine's budget: raise --max-memory, or fewer clients "
           "or a shorter duration (docs/limits.md)";
  }
  if (!show_) return "";
  const double t = wall_();
  if (last_print_ >= 0 && t - last_print_ < kMinInterval) return "";
  if (last_print_ < 0 && t - start_ < kMinInterval) return "";  // short runs print nothing
  last_print_ = t;
  printed_ = true;
  err_ << "\r\033[K"
       << progress_line(label_, now.time_since_epoch(), end.time_since_epoch(), events, t - start_, rss)
       << std::flush;
  return "";
}

void RunWatch::done() {
  if (printed_) err_ << "\r\033[K" << std::flush;
  printed_ = false;
}

// ---- the estimate ------------------------------------------------------------
// Calibrated on `faultline-bench scenario` runs on a 2-core AMD EPYC VM (shared;
// docs/scaling.md): events per simulated second are
//   app servers: 1.5 x servers^2 + 10 (gossip between every pair, health, database)
//   clients:     0.09 per client (websocket pings, health of the session)
//   posts:       clients / post_interval posts per second from post_interval/2 on,
//                each 2 x (members of its channel) + 10 events (hub -> proxy -> client
//                per member, plus the post's own path), members = clients x 3 / channels
// (a client joins its home channel and each other with probability 2/(channels-1)).
// Speed: 1.2M events/s up to 2,000 clients, 700k beyond (cache misses grow);
// measured 1.7-2.4M and 1.0M on a quiet machine (29 Nov), halved under load.
// Memory: 8 MiB + 16 KiB per client (hub buffers, proxy, invariants) + 12 bytes
// per delivery (message_delivery's intervals, the database's rows) + a bit per
// client per post (the clients' store of shown posts, nodes/shown_posts.h).
// Measured against it (29 Nov): 10-20% low at 500 and 2,000 clients, within
// 2% on the reference hour, 40% high at 10,000 clients.
Estimate estimate(const Scenario& s) {
  const double t = std::chrono::duration<double>(s.duration + s.settle).count();
  const double servers = s.cluster.app_servers;
  const double clients = s.clients.count;
  const double channels = std::max<std::uint32_t>(1, s.clients.channels);
  const double per_client_channels = channels > 1 ? 1 + (channels - 1) * std::min(1.0, 2.0 / (channels - 1)) : 1;
  const double members = clients * per_client_channels / channels;
  const double interval = std::chrono::duration<double>(s.clients.post_interval).count();
  double posts = 0;
  if (interval > 0 && clients > 0) posts = clients / interval * std::max(0.0, t - interval / 2);
  const double deliveries = posts * members;
  Estimate e;
  e.events = t * (1.5 * servers * servers + 10 + 0.09 * clients) + posts * (2 * members + 10);
  e.wall_seconds = e.events / (clients <= 2000 ? 1.2e6 : 700e3);
  e.memory_bytes = 8.0 * (1 << 20) + clients * 16.0 * 1024 + deliveries * 12 + posts * clients / 8;
  return e;
}

bool worth_estimating(const Estimate& e) { return e.wall_seconds >= 5 || e.memory_bytes >= 256.0 * (1 << 20); }

std::string estimate_text(const Estimate& e) {
  char buf[160];
  std::snprintf(buf, sizeof buf, "estimate: about %s events, %s of wall time on a 2-core machine, %s peak memory",
                rate_text(e.events).c_str(), seconds_text(e.wall_seconds).c_str(),
                format_size(std::uint64_t(e.memory_bytes)).c_str());
  return buf;
}

}  // namespace fl::harness
