// base/duration.h: Go duration text and bare seconds, as keep_alive and the job settings use it.
#include "base/duration.h"

#include <gtest/gtest.h>

namespace corral {
namespace {

double secs(std::string_view t, bool days = false) {
  auto r = parse_duration_seconds(t, days);
  EXPECT_TRUE(r.ok()) << t << ": " << (r.ok() ? "" : r.error().message);
  return r.ok() ? *r : -12345.0;
}

TEST(Duration, BareNumbersAreSeconds) {
  EXPECT_DOUBLE_EQ(secs("300"), 300.0);
  EXPECT_DOUBLE_EQ(secs("1.5"), 1.5);
  EXPECT_DOUBLE_EQ(secs("-1"), -1.0);
  EXPECT_DOUBLE_EQ(secs("1e+20"), 1e20) << "a large JSON number formatted with an exponent";
  EXPECT_DOUBLE_EQ(secs("0"), 0.0);
}

TEST(Duration, GoUnitsAndSequences) {
  EXPECT_DOUBLE_EQ(secs("300ms"), 0.3);
  EXPECT_DOUBLE_EQ(secs("5m"), 300.0);
  EXPECT_DOUBLE_EQ(secs("1h30m"), 5400.0);
  EXPECT_DOUBLE_EQ(secs("2h45m10.5s"), 9910.5);
  EXPECT_DOUBLE_EQ(secs("1500us"), 0.0015);
  EXPECT_DOUBLE_EQ(secs("1500\xC2\xB5s"), 0.0015);
  EXPECT_DOUBLE_EQ(secs("10ns"), 1e-8);
  EXPECT_DOUBLE_EQ(secs("-1m"), -60.0);
  EXPECT_DOUBLE_EQ(secs("+2s"), 2.0);
}

TEST(Duration, DaysOnlyWhereAllowed) {
  EXPECT_DOUBLE_EQ(secs("1d", true), 86400.0);
  EXPECT_DOUBLE_EQ(secs("1d12h", true), 129600.0);
  auto r = parse_duration_seconds("1d");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("unit"), std::string::npos) << r.error().message;
}

TEST(Duration, MalformedTextIsAnErrorNamingIt) {
  for (const char* bad : {"", "m", "5x", "5 minutes", " 5", "5s ", "1.2.3s", "0x10", "inf", "nan", "-", "s5", "5m-3s", "1e3s"}) {
    auto r = parse_duration_seconds(bad, true);
    EXPECT_FALSE(r.ok()) << "'" << bad << "' parsed as " << (r.ok() ? *r : 0.0);
    if (!r.ok()) {
      EXPECT_NE(r.error().message.find(std::string("\"") + bad + "\""), std::string::npos) << r.error().message;
    }
  }
}

}  // namespace
}  // namespace corral
