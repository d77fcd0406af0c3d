#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <stdexcept>
#include <utility>
#include <vector>

#include "analysis/knees.h"

namespace memprobe::analysis {
namespace {

constexpr double kKiB = 1024.0;
constexpr double kMiB = 1024.0 * kKiB;
constexpr double kGiB = 1024.0 * kMiB;
constexpr int kPointsPerOctave = 4;
constexpr double kGridStepOctaves = 1.0 / kPointsPerOctave;

// Uniform in [-1, 1) from the 53 high bits: the same numbers on every
// standard library (std::uniform_real_distribution is not specified exactly).
double unit_noise(std::mt19937_64& rng) { return static_cast<double>(rng() >> 11) * 0x1.0p-53 * 2 - 1; }

struct StepCurve {
  std::vector<double> steps_bytes;  // last size of each lower level
  std::vector<double> levels;       // one more than steps
  double noise = 0.03;              // multiplicative, uniform +-noise
  int transition_points = 0;        // points after each step on a log-linear ramp
  std::uint64_t seed = 1;
  std::vector<double> extra_sizes;  // e.g. the sweep's dense points around anchors
};

StepCurve step_curve(std::vector<double> steps_bytes, std::vector<double> levels) {
  StepCurve spec;
  spec.steps_bytes = std::move(steps_bytes);
  spec.levels = std::move(levels);
  return spec;
}

// Sizes on a 4-per-octave log grid from 4 KiB to 1 GiB (plus extra_sizes).
std::vector<CurvePoint> make_curve(const StepCurve& spec) {
  std::vector<double> sizes;
  for (int k = 0; k <= 18 * kPointsPerOctave; ++k)
    sizes.push_back(4 * kKiB * std::pow(2.0, static_cast<double>(k) / kPointsPerOctave));
  sizes.insert(sizes.end(), spec.extra_sizes.begin(), spec.extra_sizes.end());
  std::sort(sizes.begin(), sizes.end());

  std::mt19937_64 rng(spec.seed);
  std::vector<CurvePoint> points;
  for (double size : sizes) {
    std::size_t level = 0;
    while (level < spec.steps_bytes.size() && size > spec.steps_bytes[level] * 1.0001) ++level;
    double value = spec.levels[level];
    if (level > 0 && spec.transition_points > 0) {
      // Ramp from the lower level over the next transition_points grid steps.
      const double steps_past = std::log2(size / spec.steps_bytes[level - 1]) / kGridStepOctaves;
      if (steps_past < spec.transition_points + 0.5) {
        const double f = steps_past / (spec.transition_points + 1);
        value = std::exp(std::log(spec.levels[level - 1]) * (1 - f) + std::log(spec.levels[level]) * f);
      }
    }
    points.push_back({size, value * (1 + spec.noise * unit_noise(rng))});
  }
  return points;
}

double octaves_between(double a, double b) { return std::fabs(std::log2(a / b)); }

const std::vector<double> kSteps = {32 * kKiB, 512 * kKiB, 32 * kMiB};
const std::vector<double> kLevels = {1.2, 4, 12, 90};

void expect_steps_recovered(const StepCurve& spec, const Segmentation& seg) {
  ASSERT_EQ(seg.knees.size(), spec.steps_bytes.size()) << "seed " << spec.seed;
  ASSERT_EQ(seg.plateaus.size(), spec.levels.size()) << "seed " << spec.seed;
  for (std::size_t i = 0; i < spec.steps_bytes.size(); ++i) {
    // The knee is where half the step (on the log axis) has been paid: the
    // step itself, or the middle of a ramp after it.
    const double expected_bytes =
        spec.steps_bytes[i] * std::exp2(kGridStepOctaves * (spec.transition_points + 1) / 2.0 *
                                        (spec.transition_points > 0 ? 1.0 : 0.0));
    EXPECT_LE(octaves_between(seg.knees[i].size_bytes, expected_bytes), kGridStepOctaves + 1e-9)
        << "knee " << i << " at " << seg.knees[i].size_bytes << ", seed " << spec.seed;
    EXPECT_EQ(seg.knees[i].plateau_below, i);
  }
  for (std::size_t i = 0; i < spec.levels.size(); ++i) {
    EXPECT_NEAR(seg.plateaus[i].level / spec.levels[i], 1.0, spec.noise + 1e-9)
        << "plateau " << i << ", seed " << spec.seed;
  }
}

// `spec` with each seed 1..`seeds`, segmented: check(spec, segmentation).
template <typename Check>
void for_each_seed(StepCurve spec, std::uint64_t seeds, Check check) {
  for (std::uint64_t seed = 1; seed <= seeds; ++seed) {
    spec.seed = seed;
    check(spec, segment_curve(make_curve(spec)));
  }
}

void expect_steps_recovered_for_seeds(const StepCurve& spec, std::uint64_t seeds) {
  for_each_seed(spec, seeds, expect_steps_recovered);
}

TEST(KneesTest, StepCurveWithNoiseGivesEveryKneeWithinOneGridStep) {
  expect_steps_recovered_for_seeds(step_curve(kSteps, kLevels), 30);
}

TEST(KneesTest, StepAtOneMebibyteIsFoundToo) {
  expect_steps_recovered_for_seeds(step_curve({32 * kKiB, 1 * kMiB, 32 * kMiB}, kLevels), 10);
}

TEST(KneesTest, NoiseFromTwoToFivePercentKeepsEveryStep) {
  for (double noise : {0.02, 0.05}) {
    StepCurve spec = step_curve(kSteps, kLevels);
    spec.noise = noise;
    expect_steps_recovered_for_seeds(spec, 20);
  }
}

TEST(KneesTest, OnePointSmoothTransitionKeepsKneesAtTheSteps) {
  StepCurve spec = step_curve(kSteps, kLevels);
  spec.transition_points = 1;
  expect_steps_recovered_for_seeds(spec, 20);
}

TEST(KneesTest, TransitionsOfTwoOrThreePointsAreNotPlateaus) {
  for (int transition : {2, 3}) {
    StepCurve spec = step_curve(kSteps, kLevels);
    spec.transition_points = transition;
    for_each_seed(spec, 20, [](const StepCurve& seeded, const Segmentation& seg) {
      expect_steps_recovered(seeded, seg);
      // The ramp points belong to no plateau: each next plateau starts after them.
      for (std::size_t i = 0; i + 1 < seg.plateaus.size(); ++i)
        EXPECT_GE(seg.plateaus[i + 1].first, seg.plateaus[i].last + 1) << "seed " << seeded.seed;
    });
  }
}

TEST(KneesTest, DensePointsAroundTheStepsPlaceTheKneeOnThem) {
  // The sweep adds 0.75x, 0.875x, 1.125x and 1.25x of each reported size.
  std::vector<double> extra;
  for (double step : kSteps)
    for (double f : {0.75, 0.875, 1.125, 1.25}) extra.push_back(step * f);
  for (std::uint64_t seed = 1; seed <= 20; ++seed) {
    StepCurve spec = step_curve(kSteps, kLevels);
    spec.extra_sizes = extra;
    spec.seed = seed;
    const Segmentation seg = segment_curve(make_curve(spec));
    ASSERT_EQ(seg.knees.size(), 3u) << "seed " << seed;
    for (std::size_t i = 0; i < kSteps.size(); ++i) EXPECT_DOUBLE_EQ(seg.knees[i].size_bytes, kSteps[i]);
  }
}

TEST(KneesTest, FlatNoisyCurveHasNoKnees) {
  for (std::uint64_t seed = 1; seed <= 50; ++seed) {
    StepCurve spec = step_curve({}, {5.0});
    spec.noise = 0.05;
    spec.seed = seed;
    const Segmentation seg = segment_curve(make_curve(spec));
    EXPECT_TRUE(seg.knees.empty()) << "seed " << seed;
    ASSERT_EQ(seg.plateaus.size(), 1u) << "seed " << seed;
    EXPECT_NEAR(seg.plateaus[0].level, 5.0, 5.0 * 0.05);
  }
}

TEST(KneesTest, PerfectlyFlatCurveIsOnePlateau) {
  StepCurve spec = step_curve({}, {3.0});
  spec.noise = 0;
  const Segmentation seg = segment_curve(make_curve(spec));
  ASSERT_EQ(seg.plateaus.size(), 1u);
  EXPECT_TRUE(seg.knees.empty());
  EXPECT_DOUBLE_EQ(seg.plateaus[0].level, 3.0);
  EXPECT_DOUBLE_EQ(seg.plateaus[0].spread_pct, 0.0);
  EXPECT_EQ(seg.plateaus[0].first, 0u);
  EXPECT_EQ(seg.plateaus[0].last, seg.points.size() - 1);
}

TEST(KneesTest, NoiselessStepCurveIsExact) {
  StepCurve spec = step_curve(kSteps, kLevels);
  spec.noise = 0;
  const Segmentation seg = segment_curve(make_curve(spec));
  ASSERT_EQ(seg.knees.size(), 3u);
  for (std::size_t i = 0; i < kSteps.size(); ++i) EXPECT_DOUBLE_EQ(seg.knees[i].size_bytes, kSteps[i]);
  for (std::size_t i = 0; i < kLevels.size(); ++i) EXPECT_DOUBLE_EQ(seg.plateaus[i].level, kLevels[i]);
}

TEST(KneesTest, TwoStepCurveGivesTwoKnees) {
  expect_steps_recovered_for_seeds(step_curve({32 * kKiB, 512 * kKiB}, {1.2, 4, 12}), 20);
}

TEST(KneesTest, StepsBelowMinStepRatioAreMerged) {
  StepCurve spec = step_curve({1 * kMiB}, {10.0, 10.8});  // 8 %: below the default 15 %
  spec.noise = 0.01;
  const Segmentation seg = segment_curve(make_curve(spec));
  EXPECT_EQ(seg.plateaus.size(), 1u);
  EXPECT_TRUE(seg.knees.empty());

  SegmentOptions fine;
  fine.min_step_ratio = 1.05;
  EXPECT_EQ(segment_curve(make_curve(spec), fine).knees.size(), 1u);
}

TEST(KneesTest, OrderOfInputDoesNotMatter) {
  StepCurve spec = step_curve(kSteps, kLevels);
  std::vector<CurvePoint> points = make_curve(spec);
  const Segmentation sorted = segment_curve(points);
  std::reverse(points.begin(), points.end());
  std::swap(points[3], points[40]);
  const Segmentation shuffled = segment_curve(points);
  ASSERT_EQ(shuffled.knees.size(), sorted.knees.size());
  for (std::size_t i = 0; i < sorted.knees.size(); ++i)
    EXPECT_DOUBLE_EQ(shuffled.knees[i].size_bytes, sorted.knees[i].size_bytes);
  for (std::size_t i = 1; i < shuffled.points.size(); ++i)
    EXPECT_LT(shuffled.points[i - 1].size_bytes, shuffled.points[i].size_bytes);
}

TEST(KneesTest, IsolatedOutliersDoNotMakeKnees) {
  StepCurve spec = step_curve({}, {5.0});
  spec.noise = 0.02;
  std::vector<CurvePoint> points = make_curve(spec);
  // Two adjacent points 40 % high (a descheduled repetition), and one at each end.
  points[20].value *= 1.4;
  points[21].value *= 1.4;
  points.front().value *= 1.4;
  points.back().value *= 1.4;
  const Segmentation seg = segment_curve(points);
  EXPECT_TRUE(seg.knees.empty());
}

TEST(KneesTest, FewPointsGiveOnePlateau) {
  const Segmentation seg = segment_curve({{4096, 1.0}, {8192, 5.0}, {16384, 9.0}});
  ASSERT_EQ(seg.plateaus.size(), 1u);
  EXPECT_TRUE(seg.knees.empty());
  EXPECT_DOUBLE_EQ(seg.plateaus[0].level, 5.0);
  EXPECT_TRUE(segment_curve({}).plateaus.empty());
}

TEST(KneesTest, NonPositivePointsAreRejected) {
  EXPECT_THROW(segment_curve({{4096, 1.0}, {0, 1.0}}), std::invalid_argument);
  EXPECT_THROW(segment_curve({{4096, 1.0}, {8192, -1.0}}), std::invalid_argument);
  EXPECT_THROW(segment_curve({{4096, std::nan("")}}), std::invalid_argument);
}

TEST(KneesTest, KneeIsLastPointBelowTheStepsGeometricMidpoint) {
  // 1 ns up to 64 KiB, then one point at 1.1 (below the step's geometric
  // midpoint, sqrt(10) = 3.16), one at 5 (beyond), then 10 ns; 4 points per octave.
  std::vector<CurvePoint> points;
  const double knee_bytes = 64 * kKiB * std::pow(2.0, 0.25);
  for (int k = 0; k <= 4 * 8; ++k) {
    const double size = 4 * kKiB * std::pow(2.0, k / 4.0);
    double value = 10.0;
    if (size <= 64 * kKiB * 1.0001)
      value = 1.0;
    else if (size <= knee_bytes * 1.0001)
      value = 1.1;
    else if (size <= 64 * kKiB * std::pow(2.0, 0.5) * 1.0001)
      value = 5.0;
    points.push_back({size, value});
  }
  const Segmentation seg = segment_curve(points);
  ASSERT_EQ(seg.knees.size(), 1u);
  EXPECT_DOUBLE_EQ(seg.knees[0].size_bytes, knee_bytes);
  EXPECT_DOUBLE_EQ(seg.plateaus[0].level, 1.0);
  EXPECT_DOUBLE_EQ(seg.plateaus[1].level, 10.0);
}

TEST(KneesTest, SpreadIsRangeOverLevel) {
  std::vector<CurvePoint> points;
  for (int i = 0; i < 8; ++i) points.push_back({4096.0 * (1 << i), i % 2 ? 4.2 : 3.8});
  const Segmentation seg = segment_curve(points);
  ASSERT_EQ(seg.plateaus.size(), 1u);
  EXPECT_DOUBLE_EQ(seg.plateaus[0].level, 4.0);
  EXPECT_NEAR(seg.plateaus[0].spread_pct, 10.0, 1e-9);
}

TEST(KneesTest, GiBSizesAreFine) {
  StepCurve spec = step_curve({256 * kMiB}, {90, 140});
  const Segmentation seg = segment_curve(make_curve(spec));
  ASSERT_EQ(seg.knees.size(), 1u);
  EXPECT_LE(octaves_between(seg.knees[0].size_bytes, 256 * kMiB), kGridStepOctaves + 1e-9);
  EXPECT_LE(seg.points.back().size_bytes, 1 * kGiB * 1.0001);
}

}  // namespace
}  // namespace memprobe::analysis

namespace memprobe::analysis {
namespace {

// A curve of 40,000 points (many runs in one file) is segmented like its
// 4-per-octave original: same knees, in bounded time (binned fit).
TEST(KneesTest, ThousandsOfPointsKeepTheirKnees) {
  std::vector<CurvePoint> points;
  for (int k = 0; k < 40000; ++k) {
    const double size = 4096 * std::pow(2.0, (k % 80) / 4.0 + (k / 80) * 1e-7);
    const double ns = size <= 32768 * 1.01 ? 1.2 : size <= 1048576 * 1.01 ? 4.0 : size <= 16777216 * 1.01 ? 12.0 : 100.0;
    points.push_back({size, ns});
  }
  const Segmentation seg = segment_curve(points);
  ASSERT_EQ(seg.knees.size(), 3u);
  // Each knee is the last point of its step's grid size (within the 1e-7-octave jitter).
  EXPECT_NEAR(seg.knees[0].size_bytes / 32768, 1, 1e-4);
  EXPECT_NEAR(seg.knees[1].size_bytes / 1048576, 1, 1e-4);
  EXPECT_NEAR(seg.knees[2].size_bytes / 16777216, 1, 1e-4);
}

}  // namespace
}  // namespace memprobe::analysis
