// The seam holds: no file under nodes/ names a wall clock, a random device or
// <random>, a thread, Boost.Asio, libpq or the environment (DESIGN.md, the
// sans-IO seam). Node logic gets time, randomness and I/O only from its Env;
// one such call would make runs irreproducible without any test noticing.
//
// Comments are exempt (a comment may say what a node must not do); code and
// string literals are not (an #include "boost/asio.hpp" is a string).
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace {

struct Banned {
  std::string_view text;
  bool identifier;  // a whole name: not glued to identifier characters around it
  std::string_view why;
};

constexpr Banned kBanned[] = {
    {"system_clock", true, "a wall clock"},
    {"steady_clock", true, "a wall clock"},
    {"high_resolution_clock", true, "a wall clock"},
    {"time(", true, "the C wall clock"},
    {"gettimeofday", true, "a wall clock"},
    {"clock_gettime", true, "a wall clock"},
    {"<random>", false, "<random> (its distributions differ between libraries)"},
    {"random_device", true, "a non-deterministic seed"},
    {"<thread>", false, "threads"},
    {"std::thread", true, "threads"},
    {"boost/asio", false, "Boost.Asio (live/ only)"},
    {"libpq-fe.h", false, "libpq (live/ only)"},
    {"getenv", true, "the environment"},
};

bool ident_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

// Blanks out // and /* */ comments, keeping line structure and string literals.
std::string strip_comments(std::string_view src) {
  std::string out(src);
  enum { code, line_comment, block_comment, string, character } state = code;
  for (std::size_t i = 0; i < out.size(); ++i) {
    const char c = out[i];
    const char next = i + 1 < out.size() ? out[i + 1] : '\0';
    switch (state) {
      case code:
        if (c == '/' && next == '/') { state = line_comment; out[i] = ' '; }
        else if (c == '/' && next == '*') { state = block_comment; out[i] = ' '; out[++i] = ' '; }
        else if (c == '"') state = string;
        else if (c == '\'') state = character;
        break;
      case line_comment:
        if (c == '\n') state = code; else out[i] = ' ';
        break;
      case block_comment:
        if (c == '*' && next == '/') { out[i] = ' '; out[++i] = ' '; state = code; }
        else if (c != '\n') out[i] = ' ';
        break;
      case string:
        if (c == '\\') ++i;
        else if (c == '"' || c == '\n') state = code;
        break;
      case character:
        if (c == '\\') ++i;
        else if (c == '\'' || c == '\n') state = code;
        break;
    }
  }
  return out;
}

// Every banned name in `source`, as "line N: <name> (<why>)".
std::vector<std::string> violations(std::string_view source) {
  const std::string code = strip_comments(source);
  std::vector<std::string> found;
  for (const Banned& b : kBanned) {
    for (std::size_t pos = code.find(b.text); pos != std::string::npos; pos = code.find(b.text, pos + 1)) {
      if (b.identifier && pos > 0 && ident_char(code[pos - 1])) continue;
      const std::size_t end = pos + b.text.size();
      if (b.identifier && ident_char(b.text.back()) && end < code.size() && ident_char(code[end])) continue;
      const auto line = 1 + std::count(code.begin(), code.begin() + static_cast<std::ptrdiff_t>(pos), '\n');
      found.push_back("line " + std::to_string(line) + ": " + std::string(b.text) + " (" + std::string(b.why) + ")");
    }
  }
  return found;
}

TEST(SeamMatcher, FindsEveryBannedNameInPlantedCode) {
  const std::string planted =
      "#include <random>\n"
      "#include <thread>\n"
      "#include \"boost/asio.hpp\"\n"
      "#include <libpq-fe.h>\n"
      "auto a = std::chrono::system_clock::now();\n"
      "auto b = std::chrono::steady_clock::now();\n"
      "auto c = std::chrono::high_resolution_clock::now();\n"
      "auto d = time(nullptr); auto e = std::time(nullptr);\n"
      "gettimeofday(&tv, nullptr); clock_gettime(CLOCK_MONOTONIC, &ts);\n"
      "std::random_device rd; std::thread t; const char* h = getenv(\"HOME\");\n";
  const auto found = violations(planted);
  for (const Banned& b : kBanned) {
    bool seen = false;
    for (const auto& f : found) seen = seen || f.find(std::string(b.text) + " (") != std::string::npos;
    EXPECT_TRUE(seen) << "the matcher missed " << b.text;
  }
  EXPECT_EQ(std::count_if(found.begin(), found.end(), [](const std::string& f) { return f.find("time(") != std::string::npos; }), 2)
      << "time( and std::time( are both caught";
}

TEST(SeamMatcher, IgnoresCommentsAndLookalikes) {
  const std::string clean =
      "// never call std::thread or system_clock here\n"
      "/* nor <random>, getenv or\n   boost/asio */\n"
      "Duration lifetime(int x); Time local_time(NodeId n); auto u = uptime(3);\n"
      "int my_getenv_count = 0; struct steady_clockwork {};\n";
  const auto found = violations(clean);
  EXPECT_TRUE(found.empty()) << found.front();
}

TEST(Seam, NoFileUnderNodesNamesAClockRandomnessThreadsIoOrTheEnvironment) {
  const char* root = std::getenv("FL_SOURCE_DIR");  // the test may read it; nodes/ may not
  ASSERT_NE(root, nullptr) << "FL_SOURCE_DIR is unset: run this test through ctest";
  const std::filesystem::path nodes = std::filesystem::path(root) / "nodes";
  ASSERT_TRUE(std::filesystem::is_directory(nodes)) << nodes;
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(nodes)) {
    if (entry.is_regular_file()) files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  for (const auto& path : files) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream buffer;
    buffer << in.rdbuf();
    for (const auto& v : violations(buffer.str())) ADD_FAILURE() << path.string() << " " << v;
  }
}

}  // namespace
