// The client edge on Boost.Beast: one live app server process (scenario
// live/basic.toml's app1) on a real PostgreSQL answers GET
// /api/v4/system/ping, plain and with get_server_status=true, as REFERENCE.md
// describes: 200 while it serves; with the database gone the plain ping still
// answers 200 (it does not touch the database) and the status ping 500
// UNHEALTHY; other paths 404, other methods 405; after the process ended the
// port refuses. The test stops what it started.
#include <gtest/gtest.h>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <thread>

#include "harness/live_run.h"
#include "harness/runner.h"
#include "harness/scenario_loader.h"
#include "live/node_runtime.h"
#include "live/pg_db.h"
#include "live/postgres.h"
#include "live/process.h"
#include "nodes/spec.h"
#include "tests/live/live_helpers.h"

namespace fl::harness {
namespace {

using live_test::source_dir;

namespace fs = std::filesystem;
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

struct Got {
  int status = -1;  // -1: no connection (refused); -2: connected, no answer
  std::string body, version;
};

Got request(std::uint16_t port, const std::string& target, http::verb verb = http::verb::get) {
  asio::io_context io;
  tcp::socket s(io);
  boost::system::error_code ec;
  s.connect(tcp::endpoint(asio::ip::address_v4::loopback(), port), ec);
  if (ec) return {};
  http::request<http::empty_body> req{verb, target, 11};
  req.set(http::field::host, "127.0.0.1");
  http::write(s, req, ec);
  beast::flat_buffer buf;
  http::response<http::string_body> res;
  if (!ec) http::read(s, buf, res, ec);
  if (ec) return {-2, "", ""};
  return {static_cast<int>(res.result_int()), res.body(), std::string(res["X-Version-Id"])};
}

TEST(LiveHttp, PingPlainAndWithServerStatus) {
  if (!fs::exists(std::string(live::kPgBin) + "/initdb")) GTEST_SKIP() << "postgresql-15 not installed (scripts/setup)";
  const std::string file = source_dir() + "/scenarios/live/basic.toml";
  LoadResult loaded = load_scenario(file);
  ASSERT_TRUE(loaded.ok());
  const std::string dir = (fs::temp_directory_path() / ("fl-httptest-" + std::to_string(::getpid()))).string();
  fs::create_directories(dir);
  live::PostgresServer pg;
  std::string error;
  ASSERT_TRUE(pg.start(dir + "/pg", 0, &error)) << error;
  ASSERT_TRUE(live::prepare_schema(pg.conninfo(), cluster_spec_of(*loaded.scenario).initial_schema(), &error)) << error;
  const std::uint16_t gossip = live::free_port_range(3);
  const std::uint16_t port = live::free_port();
  ASSERT_NE(gossip, 0);
  live::Child node = live::spawn_child({FL_FAULTLINE_BINARY, "live-node", file, "--name", "app1", "--base-port",
                                       std::to_string(gossip), "--http-port", std::to_string(port), "--db",
                                       pg.conninfo(), "--secret", "s", "--epoch-ns",
                                       std::to_string(live::system_now_ns()), "--history", dir + "/app1.jsonl"},
                                      dir + "/app1.log", &error);
  ASSERT_TRUE(node.running()) << error;

  // It listens once it serves (after the database and the migration lock).
  Got plain;
  for (int i = 0; i < 200 && plain.status != 200; ++i) {
    plain = request(port, "/api/v4/system/ping");
    if (plain.status != 200) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(plain.status, 200);
  EXPECT_EQ(plain.body, R"({"status":"OK"})");
  EXPECT_EQ(plain.version, "10.4.1");
  const Got status = request(port, "/api/v4/system/ping?get_server_status=true");
  EXPECT_EQ(status.status, 200);
  EXPECT_NE(status.body.find(R"("database_status":"OK")"), std::string::npos) << status.body;
  EXPECT_EQ(request(port, "/api/v4/system/ping?get_server_status=false").body, R"({"status":"OK"})");
  EXPECT_EQ(request(port, "/api/v4/users/me").status, 404);
  EXPECT_EQ(request(port, "/api/v4/system/ping", http::verb::post).status, 405);

  // The database goes away: the status ping fails (500), the plain one does not.
  pg.stop();
  const Got down = request(port, "/api/v4/system/ping?get_server_status=true");
  EXPECT_EQ(down.status, 500);
  EXPECT_EQ(down.body, R"({"status":"UNHEALTHY"})");
  EXPECT_EQ(request(port, "/api/v4/system/ping").status, 200);

  live::end_child(node, 500);
  EXPECT_EQ(request(port, "/api/v4/system/ping").status, -1);  // refused: nothing listens
  fs::remove_all(dir);
}

}  // namespace
}  // namespace fl::harness
