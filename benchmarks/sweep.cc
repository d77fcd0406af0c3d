#include "benchmarks/sweep.h"

#include <algorithm>
#include <cmath>

namespace memprobe::bench {

std::vector<std::uint64_t> log_sweep(std::uint64_t min_bytes, std::uint64_t max_bytes,
                                     int points_per_octave, const std::vector<std::uint64_t>& anchors,
                                     std::uint64_t granule_bytes) {
  std::vector<std::uint64_t> sizes;
  if (min_bytes == 0 || max_bytes < min_bytes || points_per_octave <= 0 || granule_bytes == 0)
    return sizes;
  auto add = [&](double bytes) {
    auto rounded = static_cast<std::uint64_t>(std::llround(bytes / static_cast<double>(granule_bytes))) *
                   granule_bytes;
    rounded = std::max(rounded, granule_bytes);
    if (rounded >= min_bytes && rounded <= max_bytes) sizes.push_back(rounded);
  };
  const double octaves = std::log2(static_cast<double>(max_bytes) / static_cast<double>(min_bytes));
  const int steps = static_cast<int>(std::floor(octaves * points_per_octave + 1e-9));
  for (int i = 0; i <= steps; ++i)
    add(static_cast<double>(min_bytes) * std::exp2(static_cast<double>(i) / points_per_octave));
  // Around a reported capacity the curve bends; extra points there let the
  // detector place the knee within a fraction of an octave.
  const bool dense = points_per_octave >= 4;
  for (std::uint64_t anchor : anchors) {
    const double a = static_cast<double>(anchor);
    for (double f : {0.875, 1.125}) add(a * f);
    if (dense)
      for (double f : {0.75, 1.25}) add(a * f);
  }
  std::sort(sizes.begin(), sizes.end());
  sizes.erase(std::unique(sizes.begin(), sizes.end()), sizes.end());
  return sizes;
}

std::vector<std::uint64_t> latency_sweep_sizes(std::uint64_t max_bytes, bool quick,
                                               const std::vector<std::uint64_t>& anchors,
                                               std::uint64_t granule_bytes) {
  std::vector<std::uint64_t> sizes = log_sweep(std::uint64_t{4} << 10, std::min(max_bytes, kDenseLatencySweepTopBytes),
                                               quick ? 2 : 4, anchors, granule_bytes);
  if (max_bytes <= kDenseLatencySweepTopBytes) return sizes;
  const std::vector<std::uint64_t> sparse = log_sweep(kDenseLatencySweepTopBytes, max_bytes, 2, anchors, granule_bytes);
  sizes.insert(sizes.end(), sparse.begin(), sparse.end());
  std::sort(sizes.begin(), sizes.end());
  sizes.erase(std::unique(sizes.begin(), sizes.end()), sizes.end());
  return sizes;
}

}  // namespace memprobe::bench
