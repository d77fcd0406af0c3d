#include "benchmarks/sweep.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "core/units.h"

namespace memprobe::bench {
namespace {

using core::kKiB;
using core::kMiB;

TEST(SweepTest, LogGridIsSortedUniqueInRangeAndOnGranules) {
  const auto sizes = log_sweep(4 * kKiB, 256 * kMiB, 4, {32 * kKiB, 512 * kKiB, 32 * kMiB}, 64);
  ASSERT_FALSE(sizes.empty());
  EXPECT_TRUE(std::is_sorted(sizes.begin(), sizes.end()));
  EXPECT_EQ(std::adjacent_find(sizes.begin(), sizes.end()), sizes.end());
  EXPECT_EQ(sizes.front(), 4 * kKiB);
  EXPECT_EQ(sizes.back(), 256 * kMiB);
  for (auto s : sizes) EXPECT_EQ(s % 64, 0u) << s;
}

TEST(SweepTest, HasRequestedPointsPerOctaveAndNoWideGaps) {
  const auto sizes = log_sweep(4 * kKiB, 4 * kMiB, 4, {}, 64);
  // 10 octaves at 4 points each, plus the end point.
  EXPECT_EQ(sizes.size(), 41u);
  for (std::size_t i = 1; i < sizes.size(); ++i)
    EXPECT_LE(static_cast<double>(sizes[i]) / static_cast<double>(sizes[i - 1]), std::exp2(0.25) + 0.01);
}

TEST(SweepTest, AddsDensePointsAroundEachAnchor) {
  const auto sizes = log_sweep(4 * kKiB, 64 * kMiB, 4, {48 * kKiB}, 64);
  for (double f : {0.75, 0.875, 1.125, 1.25}) {
    const auto expected = static_cast<std::uint64_t>(48 * kKiB * f);
    EXPECT_NE(std::find(sizes.begin(), sizes.end(), expected), sizes.end()) << f;
  }
}

TEST(SweepTest, AnchorsOutsideTheRangeAddNothing) {
  const auto plain = log_sweep(4 * kKiB, 1 * kMiB, 2, {}, 64);
  const auto with_outside = log_sweep(4 * kKiB, 1 * kMiB, 2, {64 * kMiB}, 64);
  EXPECT_EQ(plain, with_outside);
}

TEST(SweepTest, LatencySweepThinsToTwoPointsPerOctavePastItsDenseTop) {
  const auto sizes = latency_sweep_sizes(256 * kMiB, /*quick=*/false, {}, 64);
  const auto dense = log_sweep(4 * kKiB, kDenseLatencySweepTopBytes, 4, {}, 64);
  ASSERT_LE(dense.size(), sizes.size());
  EXPECT_TRUE(std::equal(dense.begin(), dense.end(), sizes.begin())) << "4 points per octave up to the dense top";
  // 32 MiB .. 256 MiB: 3 octaves at 2 points each past 32 MiB.
  EXPECT_EQ(sizes.size(), dense.size() + 6);
  for (std::size_t i = dense.size(); i < sizes.size(); ++i)
    EXPECT_NEAR(static_cast<double>(sizes[i]) / static_cast<double>(sizes[i - 1]), std::sqrt(2.0), 0.01) << sizes[i];
  EXPECT_EQ(sizes.back(), 256 * kMiB);
  // --quick has 2 per octave throughout; a sweep within the dense top is log_sweep's.
  EXPECT_EQ(latency_sweep_sizes(16 * kMiB, false, {48 * kKiB}, 64), log_sweep(4 * kKiB, 16 * kMiB, 4, {48 * kKiB}, 64));
  EXPECT_EQ(latency_sweep_sizes(256 * kMiB, true, {}, 64), log_sweep(4 * kKiB, 256 * kMiB, 2, {}, 64));
  // A reported size past the dense top keeps the points around it.
  const auto anchored = latency_sweep_sizes(1024 * kMiB, false, {96 * kMiB}, 64);
  for (double f : {0.875, 1.125})
    EXPECT_NE(std::find(anchored.begin(), anchored.end(), static_cast<std::uint64_t>(96 * kMiB * f)), anchored.end())
        << f;
}

TEST(SweepTest, DegenerateInputGivesNoPoints) {
  EXPECT_TRUE(log_sweep(0, kMiB, 4, {}, 64).empty());
  EXPECT_TRUE(log_sweep(kMiB, kKiB, 4, {}, 64).empty());
  EXPECT_TRUE(log_sweep(kKiB, kMiB, 0, {}, 64).empty());
}

}  // namespace
}  // namespace memprobe::bench
