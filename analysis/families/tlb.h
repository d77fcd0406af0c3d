// The tlb family: DTLB entries and reach per page size, from the knees of
// (tlb - same-footprint reference) cycles vs pages touched.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
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
  // The repetition spread of delta in cycles: (max - min) of the tlb case's
  // repetitions plus the reference's (each Case::spread scaled to cycles as
  // cycles_of scales the metric; the median over cases repeated at one N).
  // 0 = unknown (a file or case without spreads).
  double delta_spread_cycles = 0;
  double delta_cycles() const { return tlb_cycles - ref_cycles; }
};

// The sweep of one page policy ("4k", "thp", ...): every tlb case (params.role
// == "tlb", params.page == page) with a reference case (role "reference") at
// the same params.pages, sorted by pages. Cases without a reference are left out.
std::vector<TlbPoint> tlb_curve(const Results& results, const std::string& page);

// The same curve for any family's page-spread probes: its cases of role
// "tlb" that `selected` accepts, each with the family's "reference" case at
// the same params.pages (the assoc family's DTLB stride probe, one stride at a time).
std::vector<TlbPoint> page_spread_curve(const Results& results, std::string_view family,
                                        const std::function<bool(const Case&)>& selected);

// True if some tlb case of `page` did not get the backing it asked for (those
// are left out of tlb_curve: a huge-page figure needs a verified backing).
bool has_unverified_tlb_cases(const Results& results, const std::string& page);

// Page policies with tlb cases: 4k, thp, hugetlb-2m, hugetlb-1g, then others.
std::vector<std::string> tlb_pages(const Results& results);

// When a rise of delta(N) counts as a TLB level: the noise model of the run
// (each point's repetition spread), not a height tuned on one machine.
struct TlbStepRule {
  // The height must be at least noise_multiple x the typical delta spread: the
  // median of TlbPoint::delta_spread_cycles over each plateau the step joins,
  // the larger of the two (a rise whose upper plateau is as noisy as it is
  // high is load, not a TLB level).
  double noise_multiple = 3.0;
  // ... and at least this many cycles however small the spread: a TLB miss
  // that hits the next level costs whole cycles of lookup; a sub-cycle rise
  // is a drift of the data path (prefetch, replacement), not a TLB level.
  double min_step_cycles = 1.0;
  // Where neither plateau has a known spread (files or cases without
  // spreads) the height must be at least this instead: the fixed floor the
  // detector used before it had a noise model, so such files read as before.
  double unknown_noise_step_cycles = 2.0;
  // The plateau after the step is at least this much higher on the curve the
  // fit sees (F + delta, see tlb_step_candidates): a relative floor next to the absolute ones.
  double min_step_ratio = 1.25;
};

// A rising knee of one curve, before it is matched to CPUID's levels.
struct TlbStep {
  double knee_pages = 0;     // last N on the lower plateau (segment_curve's knee)
  double below_cycles = 0;   // delta level below the knee
  double above_cycles = 0;   // delta level on the plateau after it
  double noise_cycles = 0;   // typical delta spread of the noisier plateau; 0 = unknown
  double needed_cycles = 0;  // the height the rule asked for (noise or floor)
  double rise_ratio = 0;     // (F + above) / (F + below): what min_step_ratio is checked against
  bool accepted = false;     // height >= needed_cycles and rise_ratio >= min_step_ratio
  double height_cycles() const { return above_cycles - below_cycles; }
};

// Every rising knee of delta(N) = tlb - reference, ascending N, each with the
// rule's verdict. Method: the curve y(N) = F + max(delta, -F/2), F = the 25th
// percentile of the reference (the L1-hit latency: a positive floor near the
// data's own latency, so the log-scale fit sees steps of delta, not noise
// around zero), is segmented by segment_curve; a knee counts (accepted) when
// the plateau after it is higher by at least
//   needed = max(rule.noise_multiple x noise, rule.min_step_cycles),
// noise = the larger of the two plateaus' median delta spreads, or by
// rule.unknown_noise_step_cycles where neither plateau has a spread, and
// y rises by rule.min_step_ratio.
std::vector<TlbStep> tlb_step_candidates(const std::vector<TlbPoint>& curve, const TlbStepRule& rule = {});

// The accepted steps of tlb_step_candidates: the TLB levels the curve shows.
std::vector<TlbStep> tlb_steps(const std::vector<TlbPoint>& curve, const TlbStepRule& rule = {});

// A DTLB level read off delta(N) = tlb - reference by the first-sustained-rise
// rule (tlb_levels). A level is the first rise past the previous level's
// plateau that (a) lasts: every later point (a running median of 3, so one
// descheduled repetition cannot break it) stays above the plateau by the
// needed height, and (b) is at least as high as the previous level's miss
// cost: a miss in this level costs a walk, which starts with the lookup
// that the previous level's miss paid for and then reads page-table entries.
// Its height is read one octave past the last point on the plateau (by then a
// cyclic walk over twice the entries misses on nearly every load under any
// replacement; what the curve does later is the walk getting dearer as
// page-table lines leave the caches, not this level), and its knee is the
// last point at or below half of the height the knee is read against: that
// one, or delta where the page-table entries outgrow the L1 data cache when
// that comes sooner (knee_top_cycles). Later rises are walk-cost steps.
struct TlbLevelStep {
  double knee_pages = 0;       // last point at or below the rise's midpoint
  double plateau_pages = 0;    // last point on the plateau before the rise
  double plateau_cycles = 0;   // median delta of the plateau (the previous level's miss cost)
  double top_cycles = 0;       // delta one octave past plateau_pages
  // delta the midpoint is taken to: top_cycles, or delta at the page count
  // where the page-table entries outgrow the L1 data cache when that lies
  // between a grid step past plateau_pages and the octave (the walk getting
  // dearer inside the rise would move the midpoint past the entries).
  double knee_top_cycles = 0;
  double needed_cycles = 0;    // the height the rule asked for
  bool top_past_sweep = false;  // the sweep ended within that octave: top_cycles is its last point
  double height_cycles() const { return top_cycles - plateau_cycles; }
};

// The curve's DTLB levels, first (L1) then second (L2), each by the rule
// above; at most `max_levels`. The second level is searched only where the
// first level's miss cost is at most `max_l1_miss_cycles` (when given): a
// first-level miss that already costs a walk leaves no second-level hit
// plateau to find (a guest's huge pages split by the host).
// `pte_outgrow_l1_pages`: the page count whose last-level page-table
// entries (8 B a page) fill the L1 data cache (pte_outgrow_l1_pages()), or
// nullopt: the knee is read against the octave's height.
std::vector<TlbLevelStep> tlb_levels(const std::vector<TlbPoint>& curve, const TlbStepRule& rule = {},
                                     std::optional<double> max_l1_miss_cycles = std::nullopt,
                                     std::size_t max_levels = 2,
                                     std::optional<double> pte_outgrow_l1_pages = std::nullopt);

// The page count whose 8-byte page-table entries fill the L1 data cache the
// run measured (the cache table's L1), else the one the system reports;
// nullopt without either.
std::optional<double> pte_outgrow_l1_pages(const Results& results);

// `memprobe run` grows the base-page sweep until its curve has gone this
// far past the L2 DTLB knee.
inline constexpr double kTlbPastL2KneeFactor = 4;

// Whether `page`'s curve (tlb - reference) has shown what the pagewalk
// family and the TLB table need: two levels (L1 and L2 DTLB), the L2 read
// one octave past its plateau, and points kTlbPastL2KneeFactor past the
// second knee. The reason when it has; nullopt: grow the sweep.
std::optional<std::string> tlb_sweep_complete(const Results& results, const std::string& page);

// The rises of delta(N) after the last level's octave: the walk getting
// dearer as page-table lines leave each cache (and, in a guest, the host's
// tables). The accepted tlb_step_candidates past 2x the last level's plateau.
std::vector<TlbStep> tlb_walk_cost_steps(const std::vector<TlbPoint>& curve, const std::vector<TlbLevelStep>& levels,
                                         const TlbStepRule& rule = {});

// One walk-cost step as derived.tlb_walk_steps keeps it.
struct TlbWalkStepRow {
  std::string page;
  double pages = 0;               // last point before the rise
  double step_cycles = 0;         // its height
  double to_cycles = 0;           // delta on the plateau after it
  double page_table_bytes = 0;    // pages x 8 B: the last-level entries the walk reads
  std::string past_cache;         // the largest measured cache those entries outgrew ("" if none)
};
std::vector<TlbWalkStepRow> tlb_walk_step_rows(const Results& results);

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
