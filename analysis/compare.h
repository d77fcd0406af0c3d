// `memprobe compare A B`: two results values side by side. Machine and
// settings differences first, then each derived figure, then each case's
// headline metric, with the ratio B/A and a verdict that accounts for each
// side's spread.
//
// The verdict rule (one rule for figures and cases):
//  - Each side has an interval: a case's [min, max] over its repetitions
//    (Case::spread); a cache level's latency value ± spread_pct % (spread_pct
//    is the median (max - min) / median of its plateau's cases, in %; noise
//    only adds time, so the median can sit at either end of min..max and ±
//    the whole spread is what surely holds it); any other derived figure
//    with a better direction (a cost, a rate, a speed-up) ± the median
//    spread of its family's cases (of its page policy where it has one),
//    since it is known no better than the cases it comes from; a figure
//    without a direction (a count) is a point.
//  - "within noise" if the two intervals overlap, or if |B/A - 1| is below the
//    noise floor (CompareOptions::noise_floor_pct, default 3 %).
//  - Otherwise the direction comes from the metric's name (metric_direction):
//    time per access (ns_per_load, cycles_per_load, us_per_fault, latency_ns,
//    page-walk cycles: a first or last name part of ns, us, ms, cycles) is
//    lower-is-better, so B/A > 1 is "slower" and < 1 "faster"; rates and
//    speed-ups (gb_per_s, gbps, *_per_s, speedup*) are higher-is-better, so
//    B/A > 1 is "faster"; anything else (sizes, entries, counts) has no better
//    side and is "larger" or "smaller".
//  - A figure or case on one side only is "only in A" / "only in B"; a value
//    missing (or zero in A, so no ratio) on a side that has the row is "n/a";
//    a non-numeric member that differs (e.g. a backing flag) is "differs".
//    When the side that lacks it was interrupted ("interrupted": true in the
//    file), it is "B interrupted" / "A interrupted" instead: the interruption
//    hid it.
//  - Several runs per side (compare_runs): each figure and case of a side is
//    the median of its runs' values, and its interval the hull of the runs'
//    intervals: the spread between the runs combined with each run's own.
//    With one run a side's interval is its within-run spread only, which
//    misses run-to-run noise; the report says so.
//  - A detected size (detected_bytes, detected_entries, reach_bytes) is a knee
//    on the sweep grid: its interval is half a grid step either way (the step
//    around it in the run's own sweep, else 4 points per octave), so two
//    sizes within one grid step are within noise. Where a TLB row's knee
//    moved beyond that, its cost was measured at another step: the row's
//    other figures are "n/a" (note "the knee moved").
//  - Where a cache level's knee moved within a run of either side (the drift
//    family's knee check, FamilyDescriptor::level_knee_moved), a difference
//    in that level's detected_bytes is "within noise" (note "knee moved
//    within run A"): the size moved within the run as much as between them.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "analysis/metric_names.h"
#include "analysis/results.h"
#include "analysis/table_format.h"

namespace memprobe::analysis {

struct CompareOptions {
  double noise_floor_pct = 3.0;        // |B/A - 1| below this is within noise
  double core_hz_tolerance_pct = 3.0;  // core/TSC clocks differing by less are not a machine difference
  bool all_cases = false;              // render every case, not only those outside the noise
};

enum class Verdict {
  kWithinNoise, kFaster, kSlower, kLarger, kSmaller, kDiffers, kOnlyInA, kOnlyInB, kNotComparable,
  kHiddenInA,  // measured in B, missing from A because A was interrupted
  kHiddenInB,  // measured in A, missing from B because B was interrupted
};

// "within noise", "faster", "slower", "larger", "smaller", "differs",
// "only in A", "only in B", "n/a", "A interrupted", "B interrupted".
std::string_view verdict_name(Verdict verdict);

// metric_direction (analysis/metric_names.h) says which way is better.

// A side's value with its noise interval ([low, high]; low == high == value
// for a point).
struct Measured {
  double value = 0;
  double low = 0;
  double high = 0;
};

// The verdict for two measured values of `metric` (rule above). a.value must
// be > 0 for a ratio; otherwise kNotComparable.
Verdict judge(const Measured& a, const Measured& b, std::string_view metric, double noise_floor_pct);

// One machine or settings member that differs ("THP enabled": "madvise" vs
// "never"); also the command line of each run.
struct Difference {
  std::string what;
  std::string a;
  std::string b;
};

// A derived figure: "L1 latency_ns", "tlb L1 DTLB 4k detected_entries".
struct FigureComparison {
  std::string table;                  // "cache", "tlb", "hugepage", ...: the derived table it comes from
  std::string figure;                 // "cache L1 latency_ns"
  std::string metric;                 // the member compared ("latency_ns"); decides format and direction
  std::optional<double> a, b;         // numeric values; nullopt where a side lacks it
  std::string a_text, b_text;         // for a non-numeric member ("true"/"false"), else empty
  std::optional<double> ratio;        // B/A
  Verdict verdict = Verdict::kNotComparable;
  std::string note;                   // why a verdict is "n/a" although both sides have a value
};

struct CaseComparison {
  std::string family;                 // "latency"
  std::string name;                   // "latency/4k/bytes:1048576"; paired across pages "latency/4k→thp/1MiB"
  std::string page_a, page_b;         // set when paired across page policies (below), else empty
  std::string metric;                 // the headline metric compared
  std::optional<double> a, b;         // its median on each side
  std::optional<double> spread_a_pct, spread_b_pct;  // (max - min) / median, %, where repetitions > 1
  std::optional<double> ratio;        // B/A
  Verdict verdict = Verdict::kNotComparable;
  std::string note;                   // "method differs: page-groups-32 vs huge-pages" (then no verdict)
};

// One side of a comparison: how many runs it merges and how many of them
// were interrupted.
struct SideSummary {
  std::size_t runs = 0;
  std::size_t interrupted = 0;
  // Per cache level ("L3"), the largest |drift| of the side's runs in %
  // (derived.drift), in cache-table order: the noise its latency carries.
  std::vector<std::pair<std::string, double>> drift_pct;
  // Per cache level whose knee moved within one of the side's runs (the
  // drift family's knee check), in cache-table order: how it moved, of the
  // first such run. A difference in that level's detected size is noise.
  std::vector<std::pair<std::string, std::string>> knee_moved;
};

struct Comparison {
  CompareOptions options;
  std::string run_a, run_b;           // "2024-05-01T12:00:00Z  memprobe run --pages 4k" (one line per run)
  SideSummary side_a, side_b;
  std::vector<Difference> machine;    // machine and settings differences, command line first
  std::vector<Difference> unavailable;  // what: reason on one side only
  std::vector<FigureComparison> figures;
  std::vector<CaseComparison> cases;  // A's order, then B-only cases in B's order
};

// Cases are matched by name. Cases left unmatched are then paired across page
// policies where that is unambiguous: within a family whose unmatched cases
// use one page policy (params.page) in A and another in B (runs with
// --pages 4k and --pages 2m), by the name with the page segment left out.


// Compares two results values (rule above). Derived figures: cache levels
// matched by level (latency_ns, latency_cycles, detected_bytes), and every
// member of derived.extra that is an array of objects, rows matched by their
// identity (string members other than free text such as "note", plus
// parameter-like numbers such as working_set_bytes, threads, pages); every
// other number is compared, except reported_* (those are machine facts).
Comparison compare_results(const Results& a, const Results& b, const CompareOptions& options = {});

// The same with several runs per side (each side at least one): figures and
// cases of a side merged across its runs (rule above); machine and settings
// differences from each side's first run.
Comparison compare_runs(std::span<const Results> a, std::span<const Results> b, const CompareOptions& options = {});

// The derived table whose figures summarise a family's cases: its first
// FamilyDescriptor::tables ("latency" -> "cache", "pagefault" -> "pagefault");
// empty for a family without one.
std::string derived_table_of_family(std::string_view family);

// A figure's value in the unit its metric names ("1.25 ns", "48 KiB", "12.3").
std::string format_figure_value(std::string_view metric, double value);

// Plain-text report: runs, differences, derived-figure table
// (figure | A | B | B/A | verdict), then the cases outside the noise (all
// with options.all_cases) and a count of those within it. With
// TableFormat::kHtml the same lines and tables as HTML fragments (<p>,
// <table>; each verdict cell keeps its words and gains a CSS class,
// verdict_html_class), for analysis/html_report.h to wrap.
std::string render_comparison(const Comparison& comparison, TableFormat format = TableFormat::kText);

// The CSS class of a verdict cell from its text ("slower (...)" ->
// "verdict worse"): colour in the HTML report, next to the words.
const char* verdict_html_class(const std::string& cell);

// One row per figure and case: section,name,metric,a,b,ratio,verdict.
std::string render_comparison_csv(const Comparison& comparison);

}  // namespace memprobe::analysis
