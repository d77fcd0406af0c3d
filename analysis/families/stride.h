// The stride family: cost per access vs stride per working set, and the
// line-size estimate from where it jumps in the sets that have a small-stride
// plateau.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "analysis/plots.h"
#include "analysis/results.h"
#include "analysis/table_format.h"

namespace memprobe::analysis {

struct StridePoint {
  double stride_bytes = 0;  // 0 for the random control
  std::string pattern;      // sequential | strided | random
  double ns = 0;
  std::optional<double> cycles;
  double lines_touched = 0;
};

struct StrideSet {
  double working_set_bytes = 0;
  std::string page;
  std::vector<StridePoint> points;     // strides ascending, random last
  std::optional<double> jump_stride_bytes;  // stride_jump() of this set
  std::string note;
};

// The stride at which the per-access cost jumps: the first fixed stride past
// the first rising knee of cost vs stride (segment_curve), i.e. the smallest
// stride whose loads no longer share lines with their predecessors. Null when
// there is no rising knee, or it lies above kMaxJumpStrideBytes.
std::optional<double> stride_jump(const std::vector<StridePoint>& points);
inline constexpr double kMaxJumpStrideBytes = 2048;

// One set per working set of the stride family, ascending.
std::vector<StrideSet> derive_stride_sets(const Results& results);

// True when the set has no small-stride plateau: its cost per access already
// rises clearly (by more than the jump ratio of stride_jump) between its two
// smallest fixed strides. At those strides most loads still share a line (8 and 16 B, or 8
// and 32 B with --quick, are half a line or less on 64 B lines: at least half
// of the loads hit a line an earlier load brought), so a rise there means the
// few new lines cost more than the L1 hits around them: the rate at which
// new lines arrive binds the set (DRAM bandwidth, or latency the prefetchers
// do not hide). Its cost then grows with the fraction of loads that need a
// new line (stride / line) times a cost per new line that itself changes
// with the stride (prefetchers adapt to the rate of demand), so the cost can
// stop growing before the line or keep growing past it: the jump of such a
// set is no reading of the line size. Nor is the stride where its cost stops
// growing (the cost per new line would have to be constant for that): where
// the prefetchers speed up with a denser demand, half a line can cost as
// much per access as a whole line, and that rule would read half a line.
bool rises_from_smallest_stride(const std::vector<StridePoint>& points);

// The line-size estimate and the evidence it rests on.
struct StrideLineEstimate {
  std::optional<double> line_bytes;  // null: no single figure
  std::string evidence;              // the sets it rests on, or why there is none
};

// The line-size estimate, from the sets WITH a small-stride plateau (not
// rises_from_smallest_stride) and a jump: there the cost stays at L1-hit
// cost while loads share lines, and jumps where every load needs a new line.
// A prefetcher can hide that step at the line and move the jump one doubling
// later (an adjacent-line prefetcher fetches lines in pairs, so a set whose
// prefetchers keep up shows its jump at two lines), but nothing moves it
// earlier: below the line, at least half of the loads are hits on a line a
// previous load brought. So the smallest jump of those sets is the line, and
// the others must lie at it or one doubling above; jumps further apart, or
// no such set at all, give no estimate, and the evidence says why. Sets
// without a plateau are named in the evidence, never counted.
StrideLineEstimate stride_line_estimate(const std::vector<StrideSet>& sets);

// derived.stride (one row per set: {working_set_bytes, page,
// jump_stride_bytes, note, points: [{stride_bytes, pattern, ns_per_access,
// cycles_per_access, lines_touched}]}) and derived.stride_line_estimate_bytes;
// both removed without stride cases. Idempotent.
void derive_stride(Results& results);
// The sets of derived.stride.
std::vector<StrideSet> stride_sets(const Results& results);

// Cost per access by stride (rows) and working set (columns), with the line-size
// estimate; from derived.stride. "" without sets.
std::string render_stride_table(const Results& results, TableFormat format = TableFormat::kText);

}  // namespace memprobe::analysis
