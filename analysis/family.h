// The analysis side of a benchmark family, in one descriptor: how its cases
// become derived figures, the table and summary lines they print as, the
// plots, which metric judges a case, and where `memprobe run` and `memprobe
// compare` place it. Each family is one file, analysis/families/<name>.cc,
// defining `FamilyDescriptor describe_<name>()`; analysis/CMakeLists.txt
// lists those files into builtin_families(), so adding a family edits no
// other file (docs/adding-a-family.md). Everything that used to list the
// families (derive_all, render_sections, build_plots, compare, the run
// order) loops over this registry. Analysis stays free of core/, benchmarks/
// and harness/: report and compare run on any results file.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "analysis/plots.h"
#include "analysis/results.h"
#include "analysis/table_format.h"

namespace memprobe::analysis {

// Tables without a compare rank follow the ranked ones, by name.
inline constexpr int kCompareByName = 1000;

// A member of results.derived that holds a family's rows (an array of
// objects): what `memprobe compare` matches figure by figure.
struct DerivedTable {
  DerivedTable(std::string key_, int compare_rank_ = kCompareByName, bool noise_from_cases_ = true,
               std::string legacy_key_ = {}, std::string size_sweep_parameter_ = {})
      : key(std::move(key_)),
        compare_rank(compare_rank_),
        noise_from_cases(noise_from_cases_),
        legacy_key(std::move(legacy_key_)),
        size_sweep_parameter(std::move(size_sweep_parameter_)) {}

  std::string key;                    // "pagewalk": the member of results.derived
  int compare_rank = kCompareByName;  // compare lists tables by (rank, key)
  // The figures are known no better than the family's cases: compare widens
  // each by their typical repetition spread. False for a table computed from
  // other tables (dram_translation), whose figures carry no case spread.
  bool noise_from_cases = true;
  std::string legacy_key;  // its name in files written before the rename ("page_walk"); read, never written
  // The case parameter ("pages", "working_set_bytes") whose sweep, over the
  // family's cases of the row's page policy (all of them for a row without
  // one), a detected size of this table (detected_entries, detected_bytes)
  // is a knee on: compare gives it half a grid step of noise either way.
  // Empty: no such sweep (4 points per octave are assumed).
  std::string size_sweep_parameter;
};

// A column of `memprobe fleet` (analysis/fleet.h): one figure per run, read
// from the run's derived figures.
struct FleetColumn {
  std::string name;    // "L2 ns", "L1 DTLB", "fault us", "DRAM read GB/s"
  std::string metric;  // "latency_ns", "detected_bytes", "detected_entries", "us_per_fault", "gb_per_s": unit, format
  bool size = false;   // a detected size or entry count (FleetOptions::min_size_deviation_pct)
  std::function<std::optional<double>(const Results&)> value;  // nullopt where the run lacks it
};

// One line of the report's summary: summary lines of all families are
// listed by ascending rank (a family may give several, at several ranks).
struct SummaryLine {
  int rank = 0;
  std::string what;      // "DTLB entries"
  std::string measured;  // "4k pages: L1 DTLB 64, L2 DTLB 1536"
};

// What `memprobe run` sizes the families after these from (harness/stages.cc
// hands it to the benchmarks): each family adds the figures it measured.
// Zero and empty where nothing was measured or detected.
struct SizingFigures {
  std::vector<std::uint64_t> cache_bytes;  // detected capacity per data cache level, innermost first
  std::uint64_t dram_from_bytes = 0;       // smallest working set on the DRAM plateau
  std::uint64_t l1_dtlb_entries_4k = 0;    // detected 4 KiB DTLB entries
  std::uint64_t l2_dtlb_entries_4k = 0;
  std::string latency_page;                // the curve the level figures were read on ("4k", "thp")
  std::vector<std::pair<std::string, std::uint64_t>> level_figures;  // level ("L2"), working set bytes of its figure
  std::vector<std::pair<std::string, std::uint64_t>> level_knees;    // level ("L2"), its detected size in bytes
  // Without a DRAM plateau (cache_bytes empty): where a curve's last plateau
  // starts that passes the DRAM rule over one octave (the sweep ended before
  // the second), a bound on every cache level; 0: none.
  std::uint64_t cache_bound_bytes = 0;
};

struct FamilyDescriptor {
  std::string name;   // the benchmark family (case.family), its file name and its first derived member
  int run_rank = 0;   // `memprobe run` measures (and derive_all derives) by ascending run_rank
  int report_rank = 0;  // tables and plots appear by ascending report_rank
  std::vector<DerivedTable> tables;
  // The metric a case of this family is judged by (Case::spread): the first
  // of these the case has. Empty: the generic rule of headline_metric().
  std::vector<std::string> headline_metrics;
  // Fills results.derived from results.cases (idempotent); removes its
  // members when the family has no cases. Families of lower run_rank have
  // been derived already.
  std::function<void(Results&)> derive;
  // Its report sections from results.derived (and machine, unavailable), never
  // from a second derivation; "" when there is nothing to show.
  std::function<std::string(const Results&, TableFormat)> render;
  std::function<std::vector<SummaryLine>(const Results&)> summary;
  std::function<std::vector<Plot>(const Results&)> plots;
  // False for a family that measures the run's noise rather than the machine
  // (drift): `memprobe compare` (and the gate) match neither its cases nor
  // its tables, and use it for other figures' intervals instead.
  bool compared = true;
  // For such a family: how far a cache level ("L2") moved within the run, in
  // %, which compare counts as noise of that level's latency; nullopt
  // without a figure for it. Empty for the other families.
  std::function<std::optional<double>(const Results&, const std::string& level)> level_noise_pct = nullptr;
  // For such a family: how a cache level's knee (its detected size) moved
  // within the run ("L3 knee moved: ..."), which makes compare count a
  // difference in that level's detected_bytes as noise; nullopt where the
  // knee held or was not checked. Empty for the other families.
  std::function<std::optional<std::string>(const Results&, const std::string& level)> level_knee_moved = nullptr;
  // The figures `memprobe fleet` gives a column each, after those of the
  // families of lower report_rank.
  std::vector<FleetColumn> fleet_columns = {};
  // A family whose sweep `memprobe run` grows an octave at a time: why its
  // `page` curve measured so far needs no more points (the sweep's end, as
  // printed), or nullopt to grow it. Empty for the other families.
  std::function<std::optional<std::string>(const Results&, const std::string& page)> sweep_complete = nullptr;
  // Adds what later families are sized from, read from this family's cases
  // so far. Empty: the family sizes nothing after it.
  std::function<void(const Results&, SizingFigures&)> sizing_figures = nullptr;
};

// Adds a family (or replaces the one of the same name). The built-in families
// are registered on first use; tests register toy ones.
void register_family(FamilyDescriptor family);
// Removes a family registered by register_family; false if there was none.
bool unregister_family(std::string_view name);

// Every registered family, by ascending report_rank (then name).
std::vector<const FamilyDescriptor*> families_in_report_order();
// Every registered family, by ascending run_rank (then name).
std::vector<const FamilyDescriptor*> families_in_run_order();
const FamilyDescriptor* find_family(std::string_view name);

// The family owning derived member `key` (and that member's description), or
// nullptr. A legacy key matches too, when `legacy` is set.
const FamilyDescriptor* family_of_table(std::string_view key, const DerivedTable** table = nullptr,
                                        bool legacy = false);

// The built-in families, one per analysis/families/<name>.cc (generated list).
std::vector<FamilyDescriptor> builtin_families();

}  // namespace memprobe::analysis
