// The stride family: cost per access vs stride per working set, and the
// line-size estimate from where it jumps.
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

// The line-size estimate: the jump stride of the largest working set (beyond
// the LLC, where the prefetchers cannot hide a new line per load; in a
// cache-resident set they often can, and the jump shows one stride later).
std::optional<double> stride_line_estimate(const std::vector<StrideSet>& sets);

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
