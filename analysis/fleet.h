// `memprobe fleet FILE|DIR...`: many runs (one per node, say) in one table,
// grouped by machine, with the run that stands out named by its file.
// Pure functions over loaded results; nothing is measured here.
//
// Groups: runs with the same fingerprint, i.e. CPU model, logical CPU count
// and memory size (MemTotal rounded to the nearest GiB, since kernels reserve
// a little differently; "unknown" where the file does not record it). Two
// machine models are never mixed in one group.
//
// Figures per run (headline_figures): the columns each family gives
// (FamilyDescriptor::fleet_columns), read from the run's figures as derived
// from its cases: today L1/L2/L3/DRAM latency in ns and the detected cache
// sizes (latency), the cold anonymous 4 KiB page-fault cost in us
// (pagefault), the detected 4 KiB L1/L2 DTLB entries (tlb), and DRAM read
// bandwidth at the most threads measured in GB/s (bandwidth), where the run
// has them.
//
// Per group and figure: the median over the runs that have it, and each
// run's deviation from it in %. A run is flagged
//  - for a figure when it is an outlier by a robust rule: |x - median| >
//    k * 1.4826 * MAD (MAD = median absolute deviation; 1.4826 * MAD
//    estimates the standard deviation of normal noise, k = 3.5 by default)
//    AND |x - median| / median > a minimum relative deviation (10 % for
//    latencies, costs and bandwidth; 50 % for detected sizes and entries,
//    above one step of the coarsest sweep grid, 2 points per octave), so
//    that a tight group does not flag noise. Needs at least 3 runs with the
//    figure (with 2, each is as far from the median as the other);
//  - for a setting (THP enabled, THP defrag, 2 MiB and 1 GiB hugetlb pools,
//    kernel) that differs from the value most of the group's runs have
//    (more than half); with no such majority, every run is flagged for it.
// A group of one run has nothing to compare against and flags nothing.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "analysis/family.h"
#include "analysis/results.h"
#include "analysis/table_format.h"

namespace memprobe::analysis {

struct FleetOptions {
  double mad_k = 3.5;                  // outlier: |x - median| > mad_k * 1.4826 * MAD ...
  double min_deviation_pct = 10.0;     // ... and |x - median| / median above this (latency, cost, bandwidth)
  double min_size_deviation_pct = 50.0;  // ... or above this for detected sizes and entries
};

// One headline figure of the fleet table: a column a family gives
// (FamilyDescriptor::fleet_columns, analysis/family.h).
using FleetFigure = FleetColumn;

// The figures the table has columns for: every family's fleet_columns, by
// the families' report order.
std::vector<FleetFigure> headline_figures();

// A run's value of each headline figure (headline_figures() order), nullopt
// where it lacks it.
std::vector<std::optional<double>> headline_values(const Results& results);

// The group key: "<CPU model> / <N> CPUs / <M> GiB".
std::string machine_fingerprint(const MachineInfo& machine);

struct FleetInput {
  std::string file;     // as given (names the run)
  Results results;
};

struct FleetRun {
  std::string file;
  std::string host, cpu_model, kernel, thp_enabled, thp_defrag;
  double pool_2m = 0, pool_1g = 0;
  bool interrupted = false;
  std::vector<std::optional<double>> values;         // headline_figures() order
  std::vector<std::optional<double>> deviation_pct;  // (x - median) / median * 100
  std::vector<bool> outlier;                         // per figure
  std::vector<std::string> flags;                    // "L2 ns +25.0 % (median 4.10 ns)", "THP enabled never (group: madvise)"
};

struct FleetGroup {
  std::string fingerprint;
  std::vector<FleetRun> runs;                   // in input order
  std::vector<std::optional<double>> median;    // per figure
  std::string note;                             // "one run: nothing to compare against"
};

struct Fleet {
  FleetOptions options;
  std::vector<FleetGroup> groups;   // in order of first appearance
  std::size_t flagged_runs() const;
};

Fleet analyze_fleet(const std::vector<FleetInput>& inputs, const FleetOptions& options = {});

// One table (a row per run, the group's median row after its runs, figures
// as "value (+dev %)"), group headers and notes, then the flagged runs by
// file and the rule. Text, Markdown or CSV (CSV: one row per run and
// figure-value columns plus deviation columns, for scripts).
std::string render_fleet(const Fleet& fleet, TableFormat format = TableFormat::kText);

// The same as a JSON value: {options, figures, groups: [{fingerprint, note,
// median, runs: [{file, host, ..., values, deviation_pct, flags}]}], flagged_runs}.
nlohmann::json fleet_to_json(const Fleet& fleet);

}  // namespace memprobe::analysis
