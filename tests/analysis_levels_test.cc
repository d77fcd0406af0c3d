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

// L1 and L2 plateaus, then latency climbing geometrically from `ramp_from`
// to `ramp_to` with no plateau (4 points per octave), then flat at ramp_top_ns.
std::vector<CurvePoint> ramp_curve(double ramp_from_bytes, double ramp_to_bytes, double ramp_top_ns,
                                   double max_bytes) {
  std::vector<CurvePoint> points;
  for (int k = 0;; ++k) {
    const double size = 4 * kKiB * std::pow(2.0, k / 4.0);
    if (size > max_bytes * 1.0001) break;
    double ns = size <= 32 * kKiB * 1.0001 ? 1.2 : 4;
    if (size > ramp_from_bytes * 1.0001)
      ns = size >= ramp_to_bytes / 1.0001
               ? ramp_top_ns
               : 4 * std::pow(ramp_top_ns / 4, std::log2(size / ramp_from_bytes) / std::log2(ramp_to_bytes / ramp_from_bytes));
    points.push_back({size, ns});
  }
  return points;
}

TEST(DramPlateauTest, ALevelTheCurveClimbsThroughCountsTowardsTheReportedFloor) {
  // A guest's L3: latency climbs 4 -> 100 ns over 1..16 MiB and never levels
  // off. Three levels reported, two plateaus below DRAM: the 4-octave climb
  // is the third level, so DRAM is found at once, not at the sweep's bound.
  const Segmentation seg = segment_curve(ramp_curve(1 * kMiB, 16 * kMiB, 100, 64 * kMiB));
  const auto dram = find_dram_plateau(seg, 3, {});
  ASSERT_TRUE(dram.has_value());
  EXPECT_NEAR(dram->level_ns, 100, 1);
  EXPECT_GT(dram->first_bytes, 8 * kMiB);  // the top of the climb, not inside it
  EXPECT_LE(dram->first_bytes, 16 * kMiB * 1.0001);
  EXPECT_NE(dram->how.find("1 level the curve climbs through"), std::string::npos) << dram->how;
}

TEST(DramPlateauTest, AGradualStepIntoACacheLevelHidesNoLevel) {
  // L2 -> L3 smeared over two octaves (1 -> 4 MiB), then L3 flat at 30 ns
  // for three octaves: with three levels reported that plateau is L3, not
  // DRAM, however long it is.
  const Segmentation seg = segment_curve(ramp_curve(1 * kMiB, 4 * kMiB, 30, 32 * kMiB));
  ASSERT_EQ(seg.plateaus.size(), 3u);
  EXPECT_FALSE(find_dram_plateau(seg, 3, {}).has_value());
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

TEST(DramPlateauTest, TranslationCreepPastTheFirstTwoOctavesKeepsDram) {
  // DRAM flat at 100 ns for two octaves past the 8 MiB knee, then creeping
  // up 4 % per octave (page-table lines leaving the caches) to 512 MiB:
  // 20 % over the whole plateau, in steps too small to split it. Quiet
  // repetitions (1 %): the tolerance is 10 %, and DRAM is still found.
  std::vector<CurvePoint> points = step_curve(kSteps, kLevels, 512 * kMiB, 0.0);
  for (CurvePoint& p : points)
    if (p.size_bytes > 40 * kMiB) p.value *= std::pow(1.04, std::log2(p.size_bytes / (40 * kMiB)));
  const Segmentation seg = segment_curve(points);
  const auto dram = find_dram_plateau(seg, 3, std::vector<double>(points.size(), 0.01));
  ASSERT_TRUE(dram.has_value());
  EXPECT_GT(dram->first_bytes, 8 * kMiB);
  EXPECT_LT(dram->first_bytes, 16 * kMiB);
  EXPECT_LE(dram->agreement, 0.01);
  EXPECT_GT(robust_relative_range([&] {
              std::vector<double> v;
              for (std::size_t k = seg.plateaus[dram->plateau].first; k <= seg.plateaus[dram->plateau].last; ++k)
                v.push_back(seg.points[k].value);
              return v;
            }()),
            dram->tolerance)
      << "the whole plateau would not have agreed";
}

TEST(DramPlateauTest, AShortDramPlateauCountsItsTranslationTail) {
  // DRAM at 100 ns from the 8 MiB knee to 24 MiB (1.5 octaves), then 122 ns
  // to 256 MiB (page-table lines missing): the second plateau is a small
  // step up, the tail of the first. DRAM is the first, its span includes
  // the tail; the tail is no level of its own.
  const Segmentation seg = segment_curve(step_curve({32 * kKiB, 1 * kMiB, 8 * kMiB, 24 * kMiB},
                                                    {1.2, 4, 12, 100, 122}, 256 * kMiB, 0.01));
  ASSERT_EQ(seg.plateaus.size(), 5u);
  const auto dram = find_dram_plateau(seg, 3, std::vector<double>(seg.points.size(), 0.02));
  ASSERT_TRUE(dram.has_value());
  EXPECT_EQ(dram->plateau, 3u);
  EXPECT_NEAR(dram->level_ns, 100, 2);
  EXPECT_NE(dram->how.find("1 plateau after it"), std::string::npos) << dram->how;
  // Without the tail (the sweep stopped at 24 MiB) it spans too little.
  EXPECT_FALSE(find_dram_plateau(segment_curve(step_curve({32 * kKiB, 1 * kMiB, 8 * kMiB}, {1.2, 4, 12, 100},
                                                          24 * kMiB, 0.01)),
                                 3, {})
                   .has_value());
}

TEST(DramPlateauTest, FlatCurveHasNoDram) {
  const Segmentation seg = segment_curve(step_curve({}, {5}, 256 * kMiB, 0.02));
  EXPECT_FALSE(find_dram_plateau(seg, 0, {}).has_value());
}

TEST(DramPlateauTest, RobustRangeIgnoresOneOutlierEachSide) {
  EXPECT_DOUBLE_EQ(robust_relative_range({100, 100, 100, 100, 100, 400}), 0.0);
  EXPECT_DOUBLE_EQ(robust_relative_range({70, 100, 100, 100, 100}), 0.0) << "two octaves of a --quick sweep";
  EXPECT_DOUBLE_EQ(robust_relative_range({90, 100, 100, 110}), 0.2) << "too few to drop any";
  EXPECT_DOUBLE_EQ(robust_relative_range({90, 110}), 0.2);
  EXPECT_DOUBLE_EQ(robust_relative_range({}), 0.0);
}

}  // namespace
}  // namespace memprobe::analysis
