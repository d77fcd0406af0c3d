#include "analysis/levels.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "analysis/results.h"

namespace memprobe::analysis {

double robust_relative_range(std::vector<double> values) {
  if (values.size() < 2) return 0;
  std::sort(values.begin(), values.end());
  const double median = median_of(values);
  if (!(median > 0)) return 0;
  const std::size_t trim = values.size() >= 5 ? 1 : 0;
  return (values[values.size() - 1 - trim] - values[trim]) / median;
}

namespace {

// The last plateau of DRAM's translation tail: the plateaus after plateau
// `i` that each lie above it, reached by steps smaller than
// rule.min_step_share of the step into it (log axis). A guest's DRAM
// plateau can end after an octave or two, where page-table lines start to
// miss the caches, and go on at 10-20 % more: that is still DRAM, and the
// tail counts towards its span. `i` itself when there is none.
std::size_t translation_tail_end(const Segmentation& seg, std::size_t i, double log_step_into,
                                 const DramPlateauRule& rule) {
  std::size_t last = i;
  for (std::size_t j = i + 1; j < seg.plateaus.size(); ++j) {
    const double step = std::log(seg.plateaus[j].level / seg.plateaus[j - 1].level);
    if (seg.plateaus[j].level <= seg.plateaus[i].level || step >= rule.min_step_share * log_step_into) break;
    last = j;
  }
  return last;
}

}  // namespace

std::optional<DramPlateau> find_dram_plateau(const Segmentation& seg, std::size_t reported_cache_levels,
                                             const std::vector<double>& point_spread,
                                             const DramPlateauRule& rule) {
  const std::size_t levels_needed = std::max<std::size_t>(1, reported_cache_levels);
  std::optional<DramPlateau> best;
  double best_log_step = 0;
  std::size_t hidden_levels = 0;
  for (std::size_t i = 1; i < seg.plateaus.size(); ++i) {
    const Plateau& p = seg.plateaus[i];
    const double gap_octaves =
        std::log2(seg.points[p.first].size_bytes / seg.points[seg.plateaus[i - 1].last].size_bytes);
    if (gap_octaves + 1e-9 >= rule.hidden_level_octaves) ++hidden_levels;
    if (i + hidden_levels < levels_needed) continue;
    const double first_bytes = seg.points[p.first].size_bytes;
    const double last_bytes = seg.points[p.last].size_bytes;
    // A DRAM plateau lies above every cache plateau before it, and the step
    // into it is at least rule.min_step_share of the largest step before it
    // on the log axis: a plateau that latency creeps up to inside a cache
    // level (4 KiB page colouring, replacement) is a small step; where
    // L3 -> DRAM is much smaller than an earlier step (a big, slow L3), this
    // rule says nothing and the sweep goes on to its bound.
    bool highest = true;
    double largest_log_step = 0;
    const double log_step = std::log(p.level / seg.plateaus[i - 1].level);
    for (std::size_t j = 0; j < i; ++j) {
      highest &= seg.plateaus[j].level < p.level;
      if (j > 0) largest_log_step = std::max(largest_log_step, std::log(seg.plateaus[j].level / seg.plateaus[j - 1].level));
    }
    if (!highest || log_step < rule.min_step_share * largest_log_step) continue;
    // The plateau, with the translation tail after it, spans min_octaves.
    const std::size_t tail_last = translation_tail_end(seg, i, log_step, rule);
    const double octaves = std::log2(seg.points[seg.plateaus[tail_last].last].size_bytes / first_bytes);
    if (octaves + 1e-9 < rule.min_octaves) continue;

    // Agreement over the plateau's first rule.min_octaves only: past them
    // a long DRAM plateau creeps up with translation costs (page-table
    // lines leaving the caches) in steps too small to split it, and a sweep
    // that grew further must not lose the DRAM it had already shown.
    const double window_end_bytes = first_bytes * std::exp2(rule.min_octaves) * (1 + 1e-9);
    std::vector<double> values, spreads;
    for (std::size_t k = p.first; k <= p.last && seg.points[k].size_bytes <= window_end_bytes; ++k) {
      values.push_back(seg.points[k].value);
      if (k < point_spread.size() && point_spread[k] >= 0) spreads.push_back(point_spread[k]);
    }
    const double typical_spread = spreads.empty() ? 0 : median_of(spreads);
    const double tolerance =
        std::clamp(rule.noise_multiple * typical_spread, rule.min_tolerance, rule.max_tolerance);
    const double agreement = robust_relative_range(values);
    if (agreement > tolerance) continue;

    DramPlateau d;
    d.plateau = i;
    d.first_bytes = first_bytes;
    d.last_bytes = last_bytes;
    d.level_ns = p.level;
    d.agreement = agreement;
    d.tolerance = tolerance;
    d.how = fmt::format(
        "plateau {} of {}{} ({} cache level{} reported), {:.1f} octaves{} whose first {:.0f} agree within {:.0f} % "
        "(allowed {:.0f} %: {:.0f}x the typical repetition spread, clamped to {:.0f}-{:.0f} %)",
        i + 1, seg.plateaus.size(),
        hidden_levels == 0 ? ""
                           : fmt::format(" and {} level{} the curve climbs through without a plateau", hidden_levels,
                                         hidden_levels == 1 ? "" : "s"),
        reported_cache_levels, reported_cache_levels == 1 ? "" : "s", octaves,
        tail_last == i ? "" : fmt::format(" with the {} plateau{} after it (translation costs: smaller steps up)",
                                          tail_last - i, tail_last - i == 1 ? "" : "s"),
        rule.min_octaves,
        agreement * 100, tolerance * 100, rule.noise_multiple, rule.min_tolerance * 100, rule.max_tolerance * 100);
    // Of several that qualify (a level no one reported can look like DRAM
    // to the count floor), the one reached by the largest step.
    if (!best || log_step > best_log_step) {
      best = d;
      best_log_step = log_step;
    }
  }
  return best;
}

}  // namespace memprobe::analysis
