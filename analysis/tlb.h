// Derived figures of the tlb, pagewalk and stride families: DTLB entries and
// reach per page size (knees of tlb - reference vs pages), page-walk cost, and
// the stride table with its line-size estimate. Pure functions over Results.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "analysis/results.h"
#include "analysis/table_format.h"

namespace memprobe::analysis {

// One N of a tlb sweep: the page-spread chase and its same-footprint reference.
struct TlbPoint {
  double pages = 0;
  double tlb_cycles = 0;  // cycles per load (median); ns * core_hz if no cycles metric
  double ref_cycles = 0;
  double delta_cycles() const { return tlb_cycles - ref_cycles; }
};

// The sweep of one page policy ("4k", "thp", ...): every tlb case (params.role
// == "tlb", params.page == page) with a reference case (role "reference") at
// the same params.pages, sorted by pages. Cases without a reference are left out.
std::vector<TlbPoint> tlb_curve(const Results& results, const std::string& page);

// True if some tlb case of `page` did not get the backing it asked for (those
// are left out of tlb_curve: a huge-page figure needs a verified backing).
bool has_unverified_tlb_cases(const Results& results, const std::string& page);

// Page policies with tlb cases: 4k, thp, hugetlb-2m, hugetlb-1g, then others.
std::vector<std::string> tlb_pages(const Results& results);

// Knees of one curve, before they are matched to CPUID's levels.
struct TlbStep {
  double knee_pages = 0;     // last N on the lower plateau (segment_curve's knee)
  double below_cycles = 0;   // delta level below the knee
  double above_cycles = 0;   // delta level on the plateau after it
};

// The rising steps of delta(N) = tlb - reference, ascending N. Method: the
// curve y(N) = F + max(delta, -F/2), F = the 25th percentile of the reference
// (the L1-hit latency: a positive floor near the data's own latency, so the
// log-scale fit sees steps of delta, not noise around zero), is segmented by
// segment_curve; a knee counts when the plateau after it is higher by at least
// kMinTlbStepCycles and by kMinTlbStepRatio.
std::vector<TlbStep> tlb_steps(const std::vector<TlbPoint>& curve);

inline constexpr double kMinTlbStepCycles = 2.0;
inline constexpr double kMinTlbStepRatio = 1.25;
// Detected vs reported entries differing by more than this factor get a note.
inline constexpr double kTlbDifferenceFactor = 1.25;

struct TlbLevelRow {
  std::string level;  // "L1 DTLB", "L2 DTLB"
  std::string page;   // "4k", "thp", "hugetlb-2m", "hugetlb-1g"
  double page_bytes = 0;
  std::optional<double> reported_entries;  // CPUID (machine.tlb); null = unknown
  std::optional<double> detected_entries;  // knee; null = no clear knee
  std::optional<double> reach_bytes;       // detected * page_bytes
  std::optional<double> miss_cost_cycles;  // step height of delta at the knee
  std::string note;
};

// L1 and L2 DTLB rows for every page policy swept. Knees are matched to
// levels in order (first = L1, second = L2); with a single knee it goes to
// the level whose CPUID entry count is nearer on a log axis (L1 if unknown).
// Where the sweep stopped before 1.25x CPUID's entry count, or no knee
// exists, detected is null and the note says why.
std::vector<TlbLevelRow> derive_tlb_levels(const Results& results);

// Walk cost from the four medians of one page size (cycles per load):
// walk = (tlb - ref at N past the L2 DTLB) - (tlb - ref on the L2-hit plateau).
struct WalkFigures {
  double walk_cycles = 0;         // the walk alone
  double miss_cycles = 0;         // tlb - ref past the L2 DTLB: L1 miss + walk
  double l2_hit_cycles = 0;       // tlb - ref on the L2-hit plateau
};
WalkFigures walk_arithmetic(double walk_tlb, double walk_ref, double l2hit_tlb, double l2hit_ref);

struct PageWalkRow {
  std::string page;
  std::string pte = "warm";             // "warm": consecutive pages; "cold": one PTE line per load
  std::optional<double> cycles;         // walk cost (null without an L2-hit pair)
  std::optional<double> ns;
  std::optional<double> miss_cycles;    // tlb - ref past the L2 DTLB
  std::optional<double> l2_hit_cycles;
  double walk_pages = 0;
  double l2hit_pages = 0;
  bool nested_paging = false;
  std::string note;
};

// From the pagewalk family's cases (role walk / l2hit / reference).
std::vector<PageWalkRow> derive_page_walk(const Results& results);

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
std::vector<StrideSet> derive_stride(const Results& results);

// The line-size estimate: the jump stride of the largest working set (beyond
// the LLC, where the prefetchers cannot hide a new line per load; in a
// cache-resident set they often can, and the jump shows one stride later).
std::optional<double> stride_line_estimate(const std::vector<StrideSet>& sets);

// Tables (text, same layout as analysis/tables): empty string when the
// family has no cases.
std::string render_tlb_table(const Results& results, TableFormat format = TableFormat::kText);
std::string render_page_walk_table(const Results& results, TableFormat format = TableFormat::kText);
std::string render_stride_table(const Results& results, TableFormat format = TableFormat::kText);

// Fills results.derived.extra["tlb"], ["page_walk"] and ["stride"] (each an
// array; members as in DESIGN.md, nulls for unknown/undetected) where the
// families have cases; leaves other members alone. Idempotent.
void derive_tlb_family(Results& results);

}  // namespace memprobe::analysis
