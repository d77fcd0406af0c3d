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

// The capacity where one plateau ends: the largest size still within
// `knee_fraction` of the step above the lower plateau.
struct Knee {
  double size_bytes = 0;
  std::size_t plateau_below = 0;  // index into Segmentation::plateaus; the step is to +1
};

struct Segmentation {
  std::vector<Plateau> plateaus;  // ascending size
  std::vector<Knee> knees;        // knees.size() == plateaus.size() - 1 (or 0)
};

struct SegmentOptions {
  std::size_t max_segments = 8;
  std::size_t min_points_per_segment = 2;
  // Adjacent plateaus closer than this ratio are one plateau (noise, not a level).
  double min_step_ratio = 1.15;
  double knee_fraction = 0.2;
};

// Optimal piecewise-constant fit of log(value) over log2(size) (dynamic
// programming), segment count chosen by a BIC-style penalty, then merged
// where steps are below min_step_ratio. Points need not be sorted; sizes must
// be positive. Fewer than 2 * min_points -> one plateau, no knees.
Segmentation segment_curve(std::vector<CurvePoint> points, const SegmentOptions& options = {});

}  // namespace memprobe::analysis
