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

TEST(WorkingSetTest, DramChaseIsEightLlcsInWholeHugePagesUnlessCappedIntoTheCache) {
  CaseOptions options;
  EXPECT_EQ(dram_chase_working_set(32 * kMiB, options, "mlp").bytes, 256 * kMiB);
  EXPECT_EQ(dram_chase_working_set(3 * kMiB, options, "mlp").bytes, 64 * kMiB) << "at least 64 MiB";
  EXPECT_EQ(dram_chase_working_set(0, options, "mlp").bytes, 256 * kMiB) << "LLC unknown";
  EXPECT_EQ(dram_chase_working_set(8 * kMiB + 128 * kKiB, options, "mlp").bytes, 66 * kMiB) << "up to whole 2 MiB pages";
  EXPECT_TRUE(dram_chase_working_set(32 * kMiB, options, "mlp").skip_reason.empty());
  options.max_working_set_bytes = 101 * kMiB;
  const auto capped = dram_chase_working_set(32 * kMiB, options, "mlp");
  EXPECT_EQ(capped.bytes, 100 * kMiB) << "capped, then whole 2 MiB pages below the cap";
  EXPECT_TRUE(capped.skip_reason.empty()) << "still beyond twice the LLC";
  options.max_working_set_bytes = 8 * kMiB;
  const auto inside = dram_chase_working_set(32 * kMiB, options, "mlp (test)");
  EXPECT_NE(inside.skip_reason.find("mlp (test) needs a working set of at least 64 MiB"), std::string::npos)
      << inside.skip_reason;
}

}  // namespace
}  // namespace memprobe::bench
