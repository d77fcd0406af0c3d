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
  std::vector<double> deviations;
  for (const double value : repetitions) deviations.push_back(std::fabs(value - s.median));
  // 1.4826: the median absolute deviation of normal noise is 0.6745 of its standard deviation.
  const double robust_sigma = 1.4826 * median_of(deviations);
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
