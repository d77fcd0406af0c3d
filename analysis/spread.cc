#include <algorithm>
#include <cmath>

#include "analysis/results.h"

namespace memprobe::analysis {

Spread spread_of(const std::vector<double>& repetitions) {
  Spread s;
  if (repetitions.empty()) return s;
  s.repetitions = static_cast<int>(repetitions.size());
  s.min = *std::min_element(repetitions.begin(), repetitions.end());
  s.max = *std::max_element(repetitions.begin(), repetitions.end());
  s.median = median_of(repetitions);
  const double robust_sigma = kMadToSigma * median_absolute_deviation(repetitions, s.median);
  const double limit = kOutlierRobustSigmas * robust_sigma;
  const auto far_from_median = [&](double value) {
    return value >= kOutlierMinRatio * s.median || kOutlierMinRatio * value <= s.median;
  };
  for (const double value : repetitions) {
    if (s.median > 0 && std::fabs(value - s.median) > limit && far_from_median(value)) {
      ++s.outliers;
      continue;
    }
    s.outlier_free_min = std::min(s.outlier_free_min.value_or(value), value);
    s.outlier_free_max = std::max(s.outlier_free_max.value_or(value), value);
  }
  s.noisy = spread_pct(s) > kNoisySpreadPct;
  return s;
}

}  // namespace memprobe::analysis
