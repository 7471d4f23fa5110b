#include "base/time.h"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

namespace fl {
namespace {

Duration parse_ok(std::string_view s, bool neg = false) {
  std::string err;
  auto d = parse_duration(s, &err, neg);
  EXPECT_TRUE(d.has_value()) << s << ": " << err;
  return d.value_or(Duration{-1});
}

std::string parse_err(std::string_view s, bool neg = false) {
  std::string err;
  auto d = parse_duration(s, &err, neg);
  EXPECT_FALSE(d.has_value()) << s;
  return err;
}

TEST(Duration, ParsesTheScenarioForms) {
  EXPECT_EQ(parse_ok("250ms"), milliseconds(250));
  EXPECT_EQ(parse_ok("15s"), seconds(15));
  EXPECT_EQ(parse_ok("1h30m"), minutes(90));
  EXPECT_EQ(parse_ok("0.2ms"), microseconds(200));
  EXPECT_EQ(parse_ok("2m03.412s"), minutes(2) + milliseconds(3412));
  EXPECT_EQ(parse_ok("+90s", true), seconds(90));
  EXPECT_EQ(parse_ok("-2s", true), seconds(-2));
  EXPECT_EQ(parse_ok("7ns"), nanoseconds(7));
  EXPECT_EQ(parse_ok("3us"), microseconds(3));
}

TEST(Duration, RejectsMalformedInputWithAReason) {
  EXPECT_NE(parse_err("").find("empty"), std::string::npos);
  EXPECT_NE(parse_err("15").find("missing unit"), std::string::npos);
  EXPECT_NE(parse_err("15 s").find("unknown unit"), std::string::npos);
  EXPECT_NE(parse_err("15x").find("unknown unit"), std::string::npos);
  EXPECT_NE(parse_err("-2s").find("negative"), std::string::npos);
  EXPECT_NE(parse_err("s").find("expected a number"), std::string::npos);
  EXPECT_NE(parse_err("1.s").find("decimal point"), std::string::npos);
  EXPECT_NE(parse_err(".5s").find("before the decimal point"), std::string::npos);
  EXPECT_NE(parse_err("0.5ns").find("nanosecond"), std::string::npos);
  EXPECT_NE(parse_err("99999999999999h").find("too large"), std::string::npos);
}

TEST(Duration, FormatsTheWayScenariosWrite) {
  EXPECT_EQ(format_duration(Duration{0}), "0s");
  EXPECT_EQ(format_duration(milliseconds(250)), "250ms");
  EXPECT_EQ(format_duration(seconds(15)), "15s");
  EXPECT_EQ(format_duration(hours(1)), "1h0m");
  EXPECT_EQ(format_duration(minutes(90)), "1h30m");
  EXPECT_EQ(format_duration(minutes(2) + milliseconds(3412)), "2m03.412s");
  EXPECT_EQ(format_duration(microseconds(1500)), "1.5ms");
  EXPECT_EQ(format_duration(seconds(-2)), "-2s");
}

RC_GTEST_PROP(Duration, FormatThenParseIsIdentity, (std::int64_t raw)) {
  const std::int64_t v = raw % 4'000'000'000'000'000;  // about 46 days either way
  std::string err;
  const auto back = parse_duration(format_duration(Duration{v}), &err, true);
  RC_ASSERT(back.has_value());
  RC_ASSERT(back->count() == v);
}

TEST(DurationRange, ParsesRangesAndSingles) {
  std::string err;
  auto r = parse_duration_range("5ms..50ms", &err);
  ASSERT_TRUE(r) << err;
  EXPECT_EQ(r->lo, milliseconds(5));
  EXPECT_EQ(r->hi, milliseconds(50));
  auto single = parse_duration_range("2ms", &err);
  ASSERT_TRUE(single);
  EXPECT_EQ(single->lo, single->hi);
  EXPECT_FALSE(parse_duration_range("50ms..5ms", &err));
  EXPECT_NE(err.find("lower bound"), std::string::npos);
  EXPECT_FALSE(parse_duration_range("5ms..", &err));
  EXPECT_FALSE(parse_duration_range("0.2ms...2ms", &err));  // three dots
  EXPECT_NE(err.find("before the decimal point"), std::string::npos) << err;
}

}  // namespace
}  // namespace fl
