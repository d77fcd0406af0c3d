// The stride family: cost per access vs stride per working set (what the
// prefetchers hide), and the line size from the line probe: random chunks,
// in each a second dependent load offset_bytes below the first; the line is
// the smallest offset whose second load costs a miss.
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
  // The largest fixed stride below the jump, in a set with a small-stride
  // plateau: every stride up to it costs what a shared line costs, because
  // the prefetchers bring the next lines in time. Null without such a jump.
  std::optional<double> hidden_stride_bytes;
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

// What the stride sets say about the prefetchers: the largest stride they
// hide (hidden_stride_bytes of the sets with a plateau and a jump) and in
// which sets. Never a line size: sequential strides measure the prefetchers
// (an adjacent-line prefetcher moves the jump to two lines).
struct StridePrefetchBound {
  std::optional<double> hidden_stride_bytes;  // null: no set shows it
  std::string evidence;                       // the sets it rests on, or why there is none
};
StridePrefetchBound stride_prefetch_bound(const std::vector<StrideSet>& sets);

// One offset of the line probe (params.role "line_probe").
struct LineProbePoint {
  double offset_bytes = 0;  // the second load lies this far below the first
  double ns = 0;            // per load (two per chunk), the median of the repetitions
  std::optional<double> cycles;
  std::optional<double> spread_ns;  // max - min over the repetitions; null with fewer than 2
};

// The line size read off the probe, and the evidence.
struct LineProbeReading {
  std::optional<double> line_bytes;  // null: no figure (evidence says why)
  std::string evidence;
  std::optional<double> low_ns, high_ns;  // cost at the smallest and the largest offset
  std::optional<double> noise_ns;         // the median of the points' repetition spreads
};

// Offsets up to the largest probed line (core::kLineProbeMaxLineBytes).
inline constexpr double kLineProbeMaxLineBytes = 256;
// The jump must exceed this many repetition spreads to be read.
inline constexpr double kLineProbeNoiseMultiple = 3;
// ... and this fraction of the cost at the smallest offset: a repetition
// spread of a few hundredths of a ns would otherwise let a step of 1 %
// through, smaller than what the tables call noise between repetitions
// (kNoisySpreadPct). An L1 miss that hits L2 adds several cycles to a pair
// of loads costing L2 + L1 hit: far more than this.
inline constexpr double kLineProbeMinStepFraction = kNoisySpreadPct / 100;

// The rule: jump = cost at the largest offset - cost at the smallest; it
// must exceed kLineProbeNoiseMultiple x the repetition spread (the median of
// the points' max - min) and kLineProbeMinStepFraction of the smallest
// offset's cost, else no figure ("flat"). The line is the smallest
// offset whose cost is past half of the jump and stays there for every
// larger offset. No figure with fewer than 3 points, without a spread, or
// when only offsets above kLineProbeMaxLineBytes are past half the jump.
// `points` in any order.
LineProbeReading read_line_probe(std::vector<LineProbePoint> points);

// The probe's points of a results file, offsets ascending; empty in files
// written before the probe existed.
std::vector<LineProbePoint> line_probe_points(const Results& results);

// derived.stride (one row per set: {working_set_bytes, page,
// jump_stride_bytes, hidden_stride_bytes, note, points: [{stride_bytes,
// pattern, ns_per_access, cycles_per_access, lines_touched}]}),
// derived.stride_line_estimate_bytes (the probe's line, null when the file
// has no probe or the probe gives no figure) and derived.stride_line_probe
// ({line_bytes, evidence, low_ns, high_ns, noise_ns, hwloc_line_bytes,
// agrees_with_hwloc, prefetch_hidden_stride_bytes, prefetch_evidence,
// points: [{offset_bytes, ns_per_load, cycles_per_load, spread_ns}]}); all
// removed without stride cases. Idempotent.
void derive_stride(Results& results);
// The sets of derived.stride.
std::vector<StrideSet> stride_sets(const Results& results);

// Cost per access by stride (rows) and working set (columns) with what the
// prefetchers hide, then the line probe's curve and the line size next to
// hwloc's; from derived.stride and derived.stride_line_probe. "" without either.
std::string render_stride_table(const Results& results, TableFormat format = TableFormat::kText);

}  // namespace memprobe::analysis
