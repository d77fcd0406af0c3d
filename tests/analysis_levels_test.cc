#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "analysis/levels.h"

namespace memprobe::analysis {
namespace {

constexpr double kKiB = 1024.0;
constexpr double kMiB = 1024.0 * kKiB;

// A step curve on a 4-per-octave grid from 4 KiB to max_bytes: levels_ns[i]
// up to steps_bytes[i], the last level beyond; +-noise uniform (fixed seed).
std::vector<CurvePoint> step_curve(const std::vector<double>& steps_bytes, const std::vector<double>& levels_ns,
                                   double max_bytes, double noise, std::uint64_t seed = 11) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(-1, 1);
  std::vector<CurvePoint> points;
  for (int k = 0;; ++k) {
    const double size = 4 * kKiB * std::pow(2.0, k / 4.0);
    if (size > max_bytes * 1.0001) break;
    std::size_t level = 0;
    while (level < steps_bytes.size() && size > steps_bytes[level] * 1.0001) ++level;
    points.push_back({size, levels_ns[level] * (1 + noise * u(rng))});
  }
  return points;
}

const std::vector<double> kSteps = {32 * kKiB, 1 * kMiB, 8 * kMiB};
const std::vector<double> kLevels = {1.2, 4, 12, 100};

TEST(DramPlateauTest, FoundTwoOctavesPastTheLastCacheKnee) {
  // 9.5 MiB (the first point past the step) .. 38 MiB: two octaves.
  const Segmentation seg = segment_curve(step_curve(kSteps, kLevels, 40 * kMiB, 0.03));
  const auto dram = find_dram_plateau(seg, 3, {});
  ASSERT_TRUE(dram.has_value());
  EXPECT_EQ(dram->plateau, seg.plateaus.size() - 1);
  EXPECT_NEAR(dram->level_ns, 100, 3);
  // It starts at the first grid point past the 8 MiB step.
  EXPECT_GT(dram->first_bytes, 8 * kMiB);
  EXPECT_LE(dram->first_bytes, 8 * kMiB * std::pow(2.0, 0.25) * 1.0001);
  EXPECT_LE(dram->agreement, dram->tolerance);
}

TEST(DramPlateauTest, NotYetWhenDramSpansLessThanTwoOctaves) {
  const Segmentation seg = segment_curve(step_curve(kSteps, kLevels, 24 * kMiB, 0.03));
  EXPECT_FALSE(find_dram_plateau(seg, 3, {}).has_value());
}

TEST(DramPlateauTest, EveryReportedLevelNeedsAPlateauBelowIt) {
  // Only L1 and L2 seen so far, the L2's plateau long and flat: with three
  // reported levels that is not DRAM; with two it would be the last level.
  const Segmentation seg = segment_curve(step_curve({32 * kKiB}, {1.2, 4}, 8 * kMiB, 0.02));
  EXPECT_FALSE(find_dram_plateau(seg, 3, {}).has_value());
  EXPECT_FALSE(find_dram_plateau(seg, 2, {}).has_value());
  EXPECT_TRUE(find_dram_plateau(seg, 1, {}).has_value());
}

TEST(DramPlateauTest, APlateauLatencyCreepsUpToIsNotDram) {
  // L2 rises 4 -> 5.2 ns before its capacity: a small step to a flat
  // stretch, then L3 and DRAM. Only the large step's plateau is DRAM.
  const Segmentation seg = segment_curve(
      step_curve({32 * kKiB, 128 * kKiB, 1 * kMiB, 16 * kMiB}, {1.2, 4, 6, 14, 110}, 128 * kMiB, 0.02));
  const auto dram = find_dram_plateau(seg, 3, {});
  ASSERT_TRUE(dram.has_value());
  EXPECT_NEAR(dram->level_ns, 110, 4);
}

TEST(DramPlateauTest, ToleranceFollowsTheRepetitionNoise) {
  // DRAM points scattered +-9 %: a quiet run (1 % repetition spread) does
  // not call that a plateau; a run whose repetitions spread 8 % does.
  std::vector<CurvePoint> points = step_curve(kSteps, kLevels, 64 * kMiB, 0.0);
  for (std::size_t i = 0; i < points.size(); ++i)
    if (points[i].size_bytes > 8 * kMiB) points[i].value *= i % 2 ? 1.09 : 0.91;
  const Segmentation seg = segment_curve(points);
  EXPECT_FALSE(find_dram_plateau(seg, 3, std::vector<double>(points.size(), 0.01)).has_value());
  EXPECT_TRUE(find_dram_plateau(seg, 3, std::vector<double>(points.size(), 0.08)).has_value());
}

TEST(DramPlateauTest, FlatCurveHasNoDram) {
  const Segmentation seg = segment_curve(step_curve({}, {5}, 256 * kMiB, 0.02));
  EXPECT_FALSE(find_dram_plateau(seg, 0, {}).has_value());
}

TEST(DramPlateauTest, RobustRangeIgnoresOneOutlierEachSide) {
  EXPECT_DOUBLE_EQ(robust_relative_range({100, 100, 100, 100, 100, 400}), 0.0);
  EXPECT_DOUBLE_EQ(robust_relative_range({90, 110}), 0.2);
  EXPECT_DOUBLE_EQ(robust_relative_range({}), 0.0);
}

}  // namespace
}  // namespace memprobe::analysis
