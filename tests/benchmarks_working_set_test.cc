#include "benchmarks/working_set.h"

#include <gtest/gtest.h>

#include "core/units.h"

namespace memprobe::bench {
namespace {

using core::kKiB;
using core::kMiB;

TEST(WorkingSetTest, DefaultTopIsEightTimesTheLlcAtLeast64MiB) {
  EXPECT_EQ(default_max_working_set_bytes(32 * kMiB, false), 256 * kMiB);
  EXPECT_EQ(default_max_working_set_bytes(32 * kMiB, true), 128 * kMiB);
  EXPECT_EQ(default_max_working_set_bytes(2 * kMiB, false), 64 * kMiB);
  EXPECT_EQ(default_max_working_set_bytes(0, false), 256 * kMiB);
}

TEST(WorkingSetTest, TheCapOnlyEverShrinks) {
  CaseOptions options;
  EXPECT_EQ(capped_working_set(256 * kMiB, options), 256 * kMiB);  // no cap
  options.max_working_set_bytes = 8 * kMiB;
  EXPECT_EQ(capped_working_set(256 * kMiB, options), 8 * kMiB);
  EXPECT_EQ(capped_working_set(4 * kMiB, options), 4 * kMiB);
  EXPECT_EQ(round_down_within_cap(9 * kMiB, 2 * kMiB), 8 * kMiB);
  EXPECT_EQ(round_down_within_cap(64 * kKiB, 2 * kMiB), 64 * kKiB);  // below a granule: as it is
  const std::string reason = cap_skip_reason("mlp", 64 * kMiB, options);
  EXPECT_EQ(reason.rfind("skipped: ", 0), 0u) << reason;
  EXPECT_NE(reason.find("64 MiB"), std::string::npos) << reason;
  EXPECT_NE(reason.find("--max-working-set is 8 MiB"), std::string::npos) << reason;
}

}  // namespace
}  // namespace memprobe::bench
