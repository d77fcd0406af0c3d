// Where a latency curve has shown DRAM: the rule that ends the latency sweep
// while it runs (harness) and that names the DRAM row afterwards (derived),
// so the two can never disagree. Pure functions over a segmentation.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "analysis/knees.h"

namespace memprobe::analysis {

// The constants of the rule (docs/methodology.md, "Where the sweep ends").
struct DramPlateauRule {
  // The plateau must span this many octaves of working set: a cache level's
  // plateau rarely stays flat across four octaves past another level's knee
  // and DRAM's does until translation costs show (GiB sizes in a guest).
  double min_octaves = 2.0;
  // Its points over its first min_octaves agree within tolerance =
  // clamp(noise_multiple x the typical per-point repetition spread,
  // min_tolerance, max_tolerance): the noise model of this run, not a
  // threshold tuned on one machine.
  double noise_multiple = 3.0;
  double min_tolerance = 0.10;
  double max_tolerance = 0.30;
  // The step into DRAM is at least this share of the largest step before it
  // (log axis): L3 -> DRAM is a large step on every machine seen, but not
  // always the largest (a guest's 4 KiB L3 plateau can be a 6x step too).
  double min_step_share = 0.75;
  // A gap between two plateaus spanning at least this many octaves of
  // working set hides a level: latency that climbs without levelling off
  // over 8x the working set (a guest's L3 shared with neighbours, a slow
  // L3 whose 4 KiB page colouring smears it) is not one cache's capacity
  // edge, which takes a grid step or two. Such a gap counts towards the
  // reported-level floor like a plateau.
  double hidden_level_octaves = 3.0;
};

struct DramPlateau {
  std::size_t plateau = 0;    // index into Segmentation::plateaus
  double first_bytes = 0;     // its smallest and largest working sets
  double last_bytes = 0;
  double level_ns = 0;        // median of its points
  double agreement = 0;       // robust range / level of its points (fraction)
  double tolerance = 0;       // what agreement had to stay within (fraction)
  std::string how;            // one line: why this plateau is DRAM
};

// The DRAM plateau of `seg`: a plateau with at least max(1, reported_cache_levels)
// levels below it (every reported cache level needs a plateau below it, or a
// gap of rule.hidden_level_octaves where the curve climbs through a level
// without levelling off: the reported sizes themselves may be wrong, their
// count is a floor) that lies above every
// plateau before it, is reached by a step at least rule.min_step_share of the
// largest one before it (log axis),
// spans rule.min_octaves and whose points over its first rule.min_octaves
// agree within the tolerance; of
// several such, the one reached by the largest step. Plateaus after it are
// translation effects on top of DRAM, not further levels.
// point_spread: each point's repetition spread as a fraction ((max-min)/median),
// aligned with seg.points; empty or shorter means unknown (0).
// nullopt: the curve has not shown DRAM (yet).
std::optional<DramPlateau> find_dram_plateau(const Segmentation& seg, std::size_t reported_cache_levels,
                                             const std::vector<double>& point_spread,
                                             const DramPlateauRule& rule = {});

// The range of `values` without its single lowest and highest value when
// there are at least 5 (one descheduled repetition, or one transition point
// the segmentation left on the plateau, must not decide; two octaves of a
// --quick sweep are 5 points), divided by their median. 0 for fewer than 2.
double robust_relative_range(std::vector<double> values);

}  // namespace memprobe::analysis
