// The drift family: each cache level's latency figure re-measured at the end
// of the run (same working set, page policy and chain pattern, a fresh
// buffer), and how far it moved from the sweep's figure. On a shared host the
// figures move with the other tenants' load and the host's state, and no
// statistic within one sweep can see that; this is that movement, measured.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "analysis/results.h"
#include "analysis/table_format.h"

namespace memprobe::analysis {

struct DriftRow {
  std::string level;  // "L1", ..., "DRAM"
  std::string page;   // the latency curve's page policy
  double working_set_bytes = 0;
  std::optional<double> sweep_ns;       // the cache table's figure for the level
  double end_ns = 0;                    // the same working set at the end of the run
  std::optional<double> end_spread_pct; // its repetitions' (max - min) / median, %
  std::optional<double> change_pct;     // (end - sweep) / sweep, %
};

// derived.drift: one row per drift case, in level order ([{level, page,
// working_set_bytes, sweep_ns, end_ns, end_spread_pct, change_pct}]); sweep_ns and change_pct
// are null where the cache table has no figure for the level or read another
// page's curve. Removed without drift cases. Run after derive_latency.
void derive_drift(Results& results);
std::vector<DriftRow> drift_rows(const Results& results);

// The level's |change_pct| in derived.drift; none without a row for it.
std::optional<double> level_drift_pct(const Results& results, const std::string& level);

// | level | working set | sweep | end of run | its spread | change | and the
// largest change; a spread above kNoisySpreadPct is marked "!" and said (the
// machine moved during that case too).
std::string render_drift_table(const Results& results, TableFormat format = TableFormat::kText);

}  // namespace memprobe::analysis
