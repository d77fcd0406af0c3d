// The assoc family: each cache level's associativity from k lines one way
// stride apart, and each DTLB level's sets and ways from its reach at page
// strides s; "not visible", with the evidence, where the probe shows no
// conflict where the geometry predicts one.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "analysis/results.h"
#include "analysis/table_format.h"

namespace memprobe::analysis {

// A point of a cache probe: k lines one stride apart, ns per load.
struct AssocPoint {
  double lines = 0;
  double ns = 0;
};

// A run of the k curve at one level of cost.
struct AssocPlateau {
  double first_lines = 0;
  double last_lines = 0;
  double ns = 0;  // median of its points
};

// A new plateau starts where the cost rises by this factor over the current
// plateau's median and stays there (the next point too, or a lone last point
// by kAssocLoneStepRatio): an L1 hit to an L2 hit is 3-4x, an L2 hit to L3
// 2-3x, an L2 DTLB hit to a walk 5x; but a set whose replacement is not LRU
// lets the first line past its ways cost only part of a miss per load, so
// the plateau ends where the cost first departs from it, not at the step's
// midpoint.
inline constexpr double kAssocStepRatio = 1.3;
inline constexpr double kAssocLoneStepRatio = 2.0;

// The plateaus of a k curve (points in any order; ascending k). A point one
// above W (the set's ways) costs most in a cyclic chase under LRU and is
// part of the next plateau, whose level is the median of its points.
std::vector<AssocPlateau> assoc_plateaus(std::vector<AssocPoint> points);

// One cache level's verdict, from its probes at every stride.
struct AssocCacheRow {
  std::string level;               // "L1", "L2", "L3"
  std::optional<double> reported_ways;   // hwloc; null = unknown
  std::optional<double> reported_bytes;
  std::optional<double> ways;            // measured; null = not visible / not decided
  std::optional<double> ways_gradual_to;  // the last k of a gradual step past `ways` (partial misses); null: sharp
  std::optional<double> way_stride_bytes;  // smallest probed stride with the plateau's ways
  bool way_stride_upper_bound = false;     // that stride was the smallest probed: the way stride is at most it
  std::optional<double> sets;            // way_stride / line
  std::string verdict;   // "measured", "not visible", "at most", "not decided"
  std::string evidence;  // the curve behind the verdict, one sentence
  std::string pages;     // the probe's backing ("4k", "thp", "hugetlb-2m")
};

// Per level: the k curve at each stride, classified by the level latencies
// (the latency family's cache table where present, else the L1 probe's own
// plateaus: its first is the L1 hit, its second the L2 hit), then the verdict:
// the largest k still at the level's hit latency where a costlier plateau
// follows (measured); no costlier plateau up to the largest k probed (not
// visible: with the reason a physically indexed level shows none); the
// curve jumping from an inner level's hits past this level's (at most the
// inner level's ways); no latency for the level (not decided).
std::vector<AssocCacheRow> derive_assoc_cache_rows(const Results& results);

// The reach of each DTLB level at one page stride.
struct AssocTlbStrideRow {
  double stride_pages = 0;
  std::optional<double> l1_reach_pages;  // knee of the first rise; null: no rise
  std::optional<double> l2_reach_pages;  // knee of the second rise; null: none (hidden or beyond the sweep)
  std::optional<double> first_rise_cycles;
  std::optional<double> second_rise_cycles;
};

// A DTLB level's geometry from the stride rows.
struct AssocTlbRow {
  std::string level;  // "L1 DTLB", "L2 DTLB"
  std::string page;   // "4k"
  std::optional<double> reported_entries;
  std::optional<double> reported_ways;  // CPUID; -1 fully associative; null = unknown
  std::optional<double> entries;  // median of reach x stride over the strides with a figure
  std::optional<double> sets;     // null = unknown; 1 for fully associative
  std::optional<double> ways;
  bool sets_lower_bound = false;  // sets is "at least"
  std::string verdict;            // "fully associative", "set-associative", "set-indexed", "not decided"
  std::string evidence;
};

// The stride rows of the 4k probe (assoc cases of role tlb against the
// family's references), by the tlb family's level rule (tlb_levels).
std::vector<AssocTlbStrideRow> derive_assoc_tlb_strides(const Results& results);
// The geometry of each level from those rows. A level's reach that does not
// shrink as the stride grows (the last stride's reach at least half the
// first's) is fully associative; one that shrinks as 1/s indexes sets by the
// low page-number bits (sets at least the largest stride that still halved
// it); a reach that stops shrinking gives the ways (sets = entries / ways).
// An L2 DTLB whose reach falls below the L1's is hidden behind it: its ways
// are fewer than the L1 DTLB's reach.
std::vector<AssocTlbRow> derive_assoc_tlb_rows(const std::vector<AssocTlbStrideRow>& strides,
                                               const Results& results);

// derived.assoc (cache rows), derived.assoc_tlb (DTLB rows) and
// derived.assoc_tlb_strides; removed without assoc cases. Idempotent.
void derive_assoc(Results& results);
std::vector<AssocCacheRow> assoc_cache_rows(const Results& results);
std::vector<AssocTlbRow> assoc_tlb_rows(const Results& results);
std::vector<AssocTlbStrideRow> assoc_tlb_stride_rows(const Results& results);

std::string render_assoc_tables(const Results& results, TableFormat format = TableFormat::kText);

}  // namespace memprobe::analysis
