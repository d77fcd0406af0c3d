#include "analysis/knees.h"


#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

#include "analysis/results.h"

namespace memprobe::analysis {
namespace {

// Median of each point's window of `window` points (odd; slid inwards at
// the ends so it stays full). Removes runs of up to window/2 outlying points
// (a descheduled repetition, an interrupt) while keeping steps and monotone
// transitions in place: they are the filter's fixed points.
std::vector<double> running_median(const std::vector<double>& y, std::size_t window) {
  if (y.size() < window) return y;
  const std::size_t half = window / 2;
  std::vector<double> out(y.size());
  for (std::size_t i = 0; i < y.size(); ++i) {
    const std::size_t start = std::min(i < half ? 0 : i - half, y.size() - window);
    out[i] = median_of(std::vector<double>(y.begin() + static_cast<std::ptrdiff_t>(start),
                                           y.begin() + static_cast<std::ptrdiff_t>(start + window)));
  }
  return out;
}

// Squared error of y[first..last] around its mean, from prefix sums.
class SegmentCost {
 public:
  explicit SegmentCost(const std::vector<double>& y) : sum_(y.size() + 1, 0.0), sum_sq_(y.size() + 1, 0.0) {
    for (std::size_t i = 0; i < y.size(); ++i) {
      sum_[i + 1] = sum_[i] + y[i];
      sum_sq_[i + 1] = sum_sq_[i] + y[i] * y[i];
    }
  }
  double operator()(std::size_t first, std::size_t last) const {
    const double n = static_cast<double>(last - first + 1);
    const double s = sum_[last + 1] - sum_[first];
    const double sq = sum_sq_[last + 1] - sum_sq_[first];
    return std::max(0.0, sq - s * s / n);
  }

 private:
  std::vector<double> sum_, sum_sq_;
};

struct Range {
  std::size_t first = 0, last = 0;  // inclusive
};

// Optimal split of y into `segments` contiguous ranges of >= min_points each,
// for every segment count up to max_segments: returns {segment count -> ranges}
// for the count with the lowest BIC.
std::vector<Range> best_segmentation(const std::vector<double>& y, std::size_t min_points, std::size_t max_segments) {
  const std::size_t n = y.size();
  const SegmentCost cost(y);
  const double kInf = std::numeric_limits<double>::infinity();
  const std::size_t k_max = std::max<std::size_t>(1, std::min(max_segments, n / min_points));

  // best[k][j]: least error covering the first j points with k segments;
  // from[k][j]: where the last of those segments starts.
  std::vector<std::vector<double>> best(k_max + 1, std::vector<double>(n + 1, kInf));
  std::vector<std::vector<std::size_t>> from(k_max + 1, std::vector<std::size_t>(n + 1, 0));
  best[0][0] = 0;
  for (std::size_t k = 1; k <= k_max; ++k) {
    for (std::size_t j = k * min_points; j <= n; ++j) {
      for (std::size_t i = (k - 1) * min_points; i + min_points <= j; ++i) {
        if (best[k - 1][i] == kInf) continue;
        const double total = best[k - 1][i] + cost(i, j - 1);
        if (total < best[k][j]) {
          best[k][j] = total;
          from[k][j] = i;
        }
      }
    }
  }

  const double dn = static_cast<double>(n);
  std::size_t chosen = 1;
  double chosen_bic = kInf;
  for (std::size_t k = 1; k <= k_max; ++k) {
    if (best[k][n] == kInf) continue;
    const double bic =
        dn * std::log(best[k][n] / dn + kNoiseFloor) + kBicPenalty * static_cast<double>(k) * std::log(dn);
    if (bic < chosen_bic) {
      chosen_bic = bic;
      chosen = k;
    }
  }

  std::vector<Range> ranges(chosen);
  std::size_t end = n;
  for (std::size_t k = chosen; k >= 1; --k) {
    const std::size_t start = from[k][end];
    ranges[k - 1] = {start, end - 1};
    end = start;
  }
  return ranges;
}

class Cleanup {
 public:
  Cleanup(const std::vector<CurvePoint>& points, const std::vector<double>& x, const SegmentOptions& options)
      : points_(points), x_(x), options_(options) {}

  double level(const Range& r) const {
    std::vector<double> values;
    for (std::size_t i = r.first; i <= r.last; ++i) values.push_back(points_[i].value);
    return median_of(std::move(values));
  }

  // Rule 3a: merge the closest adjacent pair below min_step_ratio.
  bool merge_one(std::vector<Range>& plateaus) const {
    std::size_t best = plateaus.size();
    double best_ratio = options_.min_step_ratio;
    for (std::size_t i = 0; i + 1 < plateaus.size(); ++i) {
      const double a = level(plateaus[i]);
      const double b = level(plateaus[i + 1]);
      const double ratio = std::max(a, b) / std::min(a, b);
      if (ratio < best_ratio) {
        best_ratio = ratio;
        best = i;
      }
    }
    if (best == plateaus.size()) return false;
    plateaus[best].last = plateaus[best + 1].last;
    plateaus.erase(plateaus.begin() + static_cast<std::ptrdiff_t>(best) + 1);
    return true;
  }

  // Rule 3b: turn one short interior segment into transition points: the
  // fewest points first, so a step spread over several segments is peeled
  // from its shortest piece.
  bool drop_one(std::vector<Range>& plateaus) const {
    std::size_t chosen = plateaus.size();
    std::size_t chosen_points = std::numeric_limits<std::size_t>::max();
    for (std::size_t i = 1; i + 1 < plateaus.size(); ++i) {
      const Range& r = plateaus[i];
      if (x_[r.last] - x_[r.first] >= kMinPlateauOctaves) continue;
      const std::size_t count = r.last - r.first + 1;
      if (count < chosen_points) {
        chosen_points = count;
        chosen = i;
      }
    }
    if (chosen == plateaus.size()) return false;
    plateaus.erase(plateaus.begin() + static_cast<std::ptrdiff_t>(chosen));
    return true;
  }

 private:
  const std::vector<CurvePoint>& points_;
  const std::vector<double>& x_;
  const SegmentOptions& options_;
};

// The least-squares plateaus of y (log values, ascending sizes): one when
// too few points, else best_segmentation, binned for long curves.
std::vector<Range> fit_plateaus(const std::vector<double>& y, std::size_t min_points, std::size_t max_segments) {
  const std::size_t n = y.size();
  std::vector<Range> plateaus;
  if (n < 2 * min_points || max_segments <= 1) {
    plateaus.push_back({0, n - 1});
  } else if (n <= kMaxFitPoints) {
    plateaus = best_segmentation(y, min_points, max_segments);
  } else {
    // The fit is quadratic in the point count: a curve of thousands of
    // points (a results file that concatenates many runs) is fitted on the
    // medians of kMaxFitPoints runs of neighbouring points, and the ranges
    // are mapped back to the points.
    const std::size_t group = (n + kMaxFitPoints - 1) / kMaxFitPoints;
    std::vector<double> binned;
    for (std::size_t first = 0; first < n; first += group)
      binned.push_back(median_of(std::vector<double>(y.begin() + static_cast<std::ptrdiff_t>(first),
                                                     y.begin() + static_cast<std::ptrdiff_t>(std::min(n, first + group)))));
    const std::size_t bin_min_points = std::max<std::size_t>(1, (min_points + group - 1) / group);
    for (const Range& r : best_segmentation(binned, bin_min_points, max_segments))
      plateaus.push_back({r.first * group, std::min(n - 1, r.last * group + group - 1)});
  }
  return plateaus;
}

// A knee between each two neighbouring plateaus: the last point of the step
// at or below (rising; at or above, falling) the geometric knee_fraction
// point between their levels, on the log axis the fit works on.
void add_knees(Segmentation& result, double knee_fraction) {
  const std::vector<CurvePoint>& points = result.points;
  for (std::size_t i = 0; i + 1 < result.plateaus.size(); ++i) {
    const Plateau& below = result.plateaus[i];
    const Plateau& above = result.plateaus[i + 1];
    // On the log axis the fit works on: the geometric knee_fraction point of the step.
    const double threshold = below.level * std::pow(above.level / below.level, knee_fraction);
    const bool rising = above.level > below.level;
    std::size_t knee = below.last;
    for (std::size_t j = below.first; j < above.first; ++j) {
      const double v = points[j].value;
      if (rising ? v <= threshold : v >= threshold) knee = j;
    }
    result.knees.push_back({points[knee].size_bytes, i});
  }
}

}  // namespace

Segmentation segment_curve(std::vector<CurvePoint> points, const SegmentOptions& options) {
  for (const CurvePoint& p : points) {
    if (!(p.size_bytes > 0) || !(p.value > 0) || !std::isfinite(p.size_bytes) || !std::isfinite(p.value))
      throw std::invalid_argument(
          fmt::format("segment_curve: point ({}, {}) is not positive and finite", p.size_bytes, p.value));
  }
  std::stable_sort(points.begin(), points.end(),
                   [](const CurvePoint& a, const CurvePoint& b) { return a.size_bytes < b.size_bytes; });

  Segmentation result;
  result.points = points;
  const std::size_t n = points.size();
  if (n == 0) return result;
  const std::size_t min_points = std::max<std::size_t>(1, options.min_points_per_segment);

  std::vector<double> x(n), y(n);
  for (std::size_t i = 0; i < n; ++i) {
    x[i] = std::log2(points[i].size_bytes);
    y[i] = std::log(points[i].value);
  }
  y = running_median(y, kOutlierWindow);

  std::vector<Range> plateaus = fit_plateaus(y, min_points, options.max_segments);
  const Cleanup cleanup(points, x, options);
  while (cleanup.merge_one(plateaus) || cleanup.drop_one(plateaus)) {
  }

  for (const Range& r : plateaus) {
    Plateau p;
    p.first = r.first;
    p.last = r.last;
    p.level = cleanup.level(r);
    double lo = points[r.first].value, hi = lo;
    for (std::size_t i = r.first; i <= r.last; ++i) {
      lo = std::min(lo, points[i].value);
      hi = std::max(hi, points[i].value);
    }
    p.spread_pct = (hi - lo) / p.level * 100;
    result.plateaus.push_back(p);
  }

  add_knees(result, options.knee_fraction);
  return result;
}

}  // namespace memprobe::analysis
