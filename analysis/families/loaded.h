// The loaded family: DRAM chase latency on one core while the other cores
// read at 0-100 % duty: latency vs background GB/s.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "analysis/plots.h"
#include "analysis/results.h"
#include "analysis/table_format.h"

namespace memprobe::analysis {

// One row of derived.loaded: one background intensity.
struct LoadedRow {
  double intensity_pct = 0;        // duty cycle of the background readers
  double background_gb_per_s = 0;  // what they read
  double ns_per_load = 0;          // the chase meanwhile
  std::optional<double> latency_vs_idle;  // ns / ns at 0 %; none without a 0 % case
};

std::vector<LoadedRow> loaded_rows(const Results& results);

// derived.loaded (files before the rename: loaded_latency): [{intensity_pct,
// background_gb_per_s, ns_per_load, latency_vs_idle}] by intensity; removed
// without loaded cases. Idempotent.
void derive_loaded(Results& results);

// | background load | background GB/s | ns/load | vs idle |.
std::string render_loaded_table(const Results& results, TableFormat format = TableFormat::kText);

// ns per load vs background GB/s (derived.loaded).
std::vector<Plot> loaded_plots(const Results& results);

}  // namespace memprobe::analysis
