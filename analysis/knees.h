// Plateaus and knees of a cost-vs-size curve (latency vs working set, cycles
// vs pages), on a log2 size axis. Pure functions: tested on synthetic curves.
#pragma once

#include <cstddef>
#include <vector>

namespace memprobe::analysis {

struct CurvePoint {
  double size_bytes = 0;  // x (working set bytes, or pages): > 0
  double value = 0;       // y (e.g. median ns per load): > 0
};

struct Plateau {
  std::size_t first = 0;  // index of first point (points sorted by size)
  std::size_t last = 0;   // index of last point, inclusive
  double level = 0;       // median value of its points
  double spread_pct = 0;  // (max - min) / level * 100 over its points
};

// The capacity where one plateau ends: the largest size still below the
// `knee_fraction` point (on the log axis) of the step to the next plateau.
struct Knee {
  double size_bytes = 0;
  std::size_t plateau_below = 0;  // index into Segmentation::plateaus; the step is to +1
};

struct Segmentation {
  std::vector<CurvePoint> points;  // the input, sorted by size: what the indices refer to
  std::vector<Plateau> plateaus;   // ascending size
  std::vector<Knee> knees;         // knees.size() == plateaus.size() - 1 (or 0)
};

struct SegmentOptions {
  std::size_t max_segments = 8;
  std::size_t min_points_per_segment = 2;
  // Adjacent plateaus closer than this ratio are one plateau (noise, not a level).
  double min_step_ratio = 1.15;
  // 0.5: the geometric midpoint of the step. A lower fraction places knees
  // early wherever the transition is gradual (4 KiB page colouring in a
  // physically indexed cache, random replacement).
  double knee_fraction = 0.5;
};

// Constants of the rules below (tuned on synthetic step curves, see
// tests/analysis_knees_test.cc).
inline constexpr double kBicPenalty = 3.0;         // c in the BIC below
inline constexpr double kNoiseFloor = 1e-4;        // variance of log(value): 1 % noise
inline constexpr double kMinPlateauOctaves = 1.0;  // an interior plateau spans at least this
inline constexpr std::size_t kOutlierWindow = 5;   // running median of the fitted values
// Above this many points the fit runs on medians of runs of neighbouring
// points (its cost is quadratic in the points; real sweeps have < 200).
inline constexpr std::size_t kMaxFitPoints = 256;

// Optimal piecewise-constant fit of log(value) over log2(size) (dynamic
// programming), segment count chosen by a BIC-style penalty, then merged
// where steps are below min_step_ratio. Points need not be sorted; sizes and
// values must be positive and finite (std::invalid_argument otherwise).
// Fewer than 2 * min_points -> one plateau, no knees; no points -> nothing.
//
// The rules, in order:
//  1. The fit sees log(value) through a running median of kOutlierWindow
//     points (window slid inwards at the ends), which removes runs of up to
//     2 outliers (a descheduled repetition) but leaves steps in place.
//  2. K segments (K = 1..max_segments, each >= min_points_per_segment
//     points) minimise the squared error; K minimises
//        n * log(RSS/n + kNoiseFloor) + kBicPenalty * K * log(n)
//     where the noise floor keeps a perfectly flat curve at K = 1.
//  3. Clean-up, repeated until nothing changes:
//     a. the adjacent pair of plateaus whose levels differ least is merged
//        (with any transition points between them) if the ratio of their
//        levels is below min_step_ratio;
//     b. otherwise an interior segment spanning less than
//        kMinPlateauOctaves (a step spread over 1-3 grid points of a
//        4-per-octave sweep, or a bump) is no plateau: its points become
//        transition points that belong to neither neighbour (the fewest
//        points first). The first and last segments are always plateaus.
//  4. Plateau level = median of its (raw) points; spread_pct over them.
//  5. Knee between plateaus i and i+1: the largest size among plateau i's
//     points and the transition points after it whose value is still on
//     plateau i's side of level_i * (level_{i+1} / level_i)^knee_fraction
//     (the midpoint of the step on the log axis by default). Random
//     replacement and set conflicts raise latency gradually around the
//     nominal capacity; the midpoint is the size at which half the step (in
//     log terms) has been paid.
Segmentation segment_curve(std::vector<CurvePoint> points, const SegmentOptions& options = {});

}  // namespace memprobe::analysis
