// The noise model and the verdict of `memprobe compare` (rule in
// analysis/compare.h): each side's interval, and how two intervals judge.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "analysis/compare.h"
#include "analysis/compare_detail.h"

namespace memprobe::analysis {
namespace compare_detail {

Measured point(double value) { return {value, value, value}; }

// The distinct values of a numeric parameter over a family's cases (those
// whose `filter_member` is `filter_value`, when given), ascending: the sweep grid.
std::vector<double> sweep_grid(const Results& r, std::string_view family, const char* parameter,
                               const char* filter_member, const std::string& filter_value) {
  std::set<double> grid;
  for (const Case& c : r.cases) {
    if (c.family != family) continue;
    if (filter_member && json_string(c.params, filter_member) != filter_value) continue;
    if (const auto value = param_number(c, parameter); value && *value > 0) grid.insert(*value);
  }
  return {grid.begin(), grid.end()};
}

// The sweep's resolution at `value`: the larger ratio to its neighbours when
// `value` is a grid point (a knee is one), else 4 points per octave.
double grid_step_at(const std::vector<double>& grid, double value) {
  double step = 0;
  const auto it = std::find(grid.begin(), grid.end(), value);
  if (it != grid.end()) {
    if (it != grid.begin()) step = std::max(step, value / *std::prev(it));
    if (std::next(it) != grid.end()) step = std::max(step, *std::next(it) / value);
  }
  return step > 1 ? step : std::exp2(0.25);
}

// A detected size: half a grid step either way, so two sizes one step apart
// touch (the small margin keeps that exact under rounding).
Measured grid_point(double value, double step) {
  const double half = std::sqrt(step) * (1 + 1e-9);
  return {value, value / half, value * half};
}

// A value whose repetitions spread by `spread_pct` ((max - min) / median):
// value ± spread. Noise only ever adds time, so the median may sit at either
// end of min..max; ± the whole spread is the narrowest symmetric interval
// that holds min..max wherever the median lies.
Measured spread_interval(double value, double spread_pct) {
  const double fraction = std::max(spread_pct, 0.0) / 100;
  return {value, value * (1 - fraction), value * (1 + fraction)};
}

// The typical within-run spread of a family's cases (of `page` where cases of
// that page policy exist): the median over its cases with repetitions of
// (max - min) / median, %; nullopt without such cases. A derived figure that
// records no spread of its own is known no better than the cases it comes from.
std::optional<double> family_spread_pct(const Results& r, std::string_view family, const std::string& page) {
  std::vector<double> all, same_page;
  for (const Case& c : r.cases) {
    if (c.family != family || c.spread.repetitions < 2 || c.spread.median <= 0) continue;
    all.push_back(spread_pct(c.spread));
    if (!page.empty() && json_string(c.params, "page") == page) same_page.push_back(spread_pct(c.spread));
  }
  if (!same_page.empty()) return median_of(same_page);
  if (!all.empty()) return median_of(all);
  return std::nullopt;
}

std::optional<double> case_spread_pct(const Case& c) {
  if (c.spread.repetitions < 2 || c.spread.median <= 0) return std::nullopt;
  return spread_pct(c.spread);
}

// The case's value of `metric` with its interval: the repetitions' [min, max]
// when the spread describes this metric, else a point.
std::optional<Measured> case_measured(const Case& c, const std::string& metric) {
  const auto it = c.metrics.find(metric);
  if (it == c.metrics.end()) return std::nullopt;
  Measured m = point(it->second);
  if (c.spread.repetitions > 0 && metric == headline_metric(c)) {
    const auto [low, high] = outlier_free_range(c.spread);
    m.low = std::min(low, m.value);
    m.high = std::max(high, m.value);
  }
  return m;
}

}  // namespace compare_detail

std::string_view verdict_name(Verdict verdict) {
  switch (verdict) {
    case Verdict::kWithinNoise: return "within noise";
    case Verdict::kFaster: return "faster";
    case Verdict::kSlower: return "slower";
    case Verdict::kLarger: return "larger";
    case Verdict::kSmaller: return "smaller";
    case Verdict::kDiffers: return "differs";
    case Verdict::kOnlyInA: return "only in A";
    case Verdict::kOnlyInB: return "only in B";
    case Verdict::kNotComparable: return "n/a";
    case Verdict::kHiddenInA: return "A interrupted";
    case Verdict::kHiddenInB: return "B interrupted";
  }
  return "n/a";
}

Verdict judge(const Measured& a, const Measured& b, std::string_view metric, double noise_floor_pct) {
  const bool overlap = a.low <= b.high && b.low <= a.high;
  if (a.value == b.value || overlap) return Verdict::kWithinNoise;
  if (a.value <= 0 || b.value < 0) return Verdict::kNotComparable;  // no meaningful ratio
  const double ratio = b.value / a.value;
  if (std::fabs(ratio - 1) * 100 < noise_floor_pct) return Verdict::kWithinNoise;
  switch (metric_direction(metric)) {
    case Direction::kLowerIsBetter: return ratio > 1 ? Verdict::kSlower : Verdict::kFaster;
    case Direction::kHigherIsBetter: return ratio > 1 ? Verdict::kFaster : Verdict::kSlower;
    case Direction::kNeutral: break;
  }
  return ratio > 1 ? Verdict::kLarger : Verdict::kSmaller;
}

}  // namespace memprobe::analysis
