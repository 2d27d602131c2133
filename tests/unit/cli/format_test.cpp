#include "cli/term/format.h"

#include <gtest/gtest.h>

namespace corral::cli {
namespace {

TEST(GoDuration, MatchesGoDurationString) {
  EXPECT_EQ(go_duration(0), "0s");
  EXPECT_EQ(go_duration(850), "850ns");
  EXPECT_EQ(go_duration(1500), "1.5µs");
  EXPECT_EQ(go_duration(12500000), "12.5ms");
  EXPECT_EQ(go_duration(44067847), "44.067847ms");
  EXPECT_EQ(go_duration(1000000000), "1s");
  EXPECT_EQ(go_duration(26388547027), "26.388547027s");
  EXPECT_EQ(go_duration(123000000000), "2m3s");
  EXPECT_EQ(go_duration(3600000000000), "1h0m0s");
  EXPECT_EQ(go_duration(-1500), "-1.5µs");
}

TEST(Rfc3339, ParsesUtcOffsetsAndFractions) {
  EXPECT_EQ(parse_rfc3339_s("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(parse_rfc3339_s("2024-01-02T03:04:05.123456789Z"), 1704164645);
  EXPECT_EQ(parse_rfc3339_s("2024-01-02T05:04:05+02:00"), 1704164645);
  EXPECT_EQ(parse_rfc3339_s("2024-01-02T01:04:05.5-02:00"), 1704164645);
}

TEST(Rfc3339, RejectsGarbage) {
  EXPECT_EQ(parse_rfc3339_s(""), 0);
  EXPECT_EQ(parse_rfc3339_s("yesterday"), 0);
  EXPECT_EQ(parse_rfc3339_s("2024-13-02T03:04:05Z"), 0);
}

}  // namespace
}  // namespace corral::cli
