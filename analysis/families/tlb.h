// The tlb family: DTLB entries and reach per page size, from the knees of
// (tlb - same-footprint reference) cycles vs pages touched.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "analysis/plots.h"
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

// derived.tlb: one row per derive_tlb_levels() row ({level, page, page_bytes,
// reported_entries, detected_entries, reach_bytes, miss_cost_cycles, note},
// nulls for unknown); removed without tlb cases. Idempotent.
void derive_tlb(Results& results);
// The rows of derived.tlb, as derive_tlb_levels() gave them.
std::vector<TlbLevelRow> tlb_rows(const Results& results);

// | TLB level | page | reported entries | detected entries | reach | miss cost cycles |
// from derived.tlb (call derive_tlb first); "" without rows.
std::string render_tlb_table(const Results& results, TableFormat format = TableFormat::kText);

// tlb - reference cycles per load vs pages touched, one line per page policy,
// CPUID's 4 KiB DTLB entry counts as dashed verticals. Nothing without tlb cases.
std::vector<Plot> tlb_plots(const Results& results);

}  // namespace memprobe::analysis
