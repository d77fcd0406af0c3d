// The drift family: each cache level's latency figure re-measured at the end
// of the run (same working set, page policy and chain pattern, a fresh
// buffer), and how far it moved from the sweep's figure. On a shared host the
// figures move with the other tenants' load and the host's state, and no
// statistic within one sweep can see that; this is that movement, measured.
// And each detected cache size (a knee) re-checked just below and just above
// it: whether the knee held or moved within the run.
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

// The knee check of one cache level: the latency chain at the end of the run
// at working sets half an octave below and above the size the sweep detected
// (cases with params.knee_check "below" / "above"), judged against the
// geometric midpoint of the step from this level's sweep latency to the next
// level's: the point the sweep places a knee by (analysis/knees.h), so "held"
// means the sweep's own rule would still put the knee between the two points.
struct KneeDriftRow {
  std::string level;       // "L1", ..., the level whose knee was re-checked
  std::string next_level;  // the level past the knee ("DRAM"); empty if the cache table lists none
  std::string page;        // the chain's page policy
  double sweep_knee_bytes = 0;            // the detected size the cases bracket
  std::optional<double> level_ns;         // the cache table's latency of `level`
  std::optional<double> next_level_ns;    // ... and of `next_level`
  std::optional<double> midpoint_ns;      // sqrt(level_ns * next_level_ns)
  std::optional<double> below_bytes, below_ns;  // the working set below the knee, its end-of-run latency
  std::optional<double> above_bytes, above_ns;  // the working set above the knee, its end-of-run latency
  // Each case's repetitions' (max - min) / median, %: a check whose own
  // repetitions disagree was taken while the machine moved.
  std::optional<double> below_spread_pct, above_spread_pct;
  // "held": below reads at most the midpoint and above more; "moved down":
  // both read more (the level ends below below_bytes now); "moved up": both
  // read at most the midpoint (it reaches past above_bytes); "unclear": below
  // reads more and above not (the machine moved between the two cases);
  // "not decided": no midpoint (no latency for a level, or the cache table
  // read another page's curve) or a case missing, and what is there does not
  // show a move.
  std::string status;
};

// The status from the two end-of-run latencies and the midpoint (rule above).
std::string knee_status(const std::optional<double>& below_ns, const std::optional<double>& above_ns,
                        const std::optional<double>& midpoint_ns);

// derived.knee_drift: one row per level with knee-check cases, in cache table
// order ([{level, next_level, page, sweep_knee_bytes, level_ns, next_level_ns,
// midpoint_ns, below_bytes, below_ns, below_spread_pct, above_bytes, above_ns,
// above_spread_pct, status}]); the
// latencies null where the cache table has none for the level or read
// another page's curve. Removed without knee-check cases. Run after
// derive_latency (derive_drift does both).
std::vector<KneeDriftRow> knee_drift_rows(const Results& results);

// How the level's knee moved within the run ("L3 knee moved: 5.66 MiB at the
// sweep, below 4 MiB at the end (...)"), when its knee check says it moved
// (down, up or unclear); nullopt where it held, was not decided or was not
// checked.
std::optional<std::string> level_knee_moved(const Results& results, const std::string& level);

// | level | working set | sweep | end of run | its spread | change | and the
// largest change; a spread above kNoisySpreadPct is marked "!" and said (the
// machine moved during that case too).
// Then the knee drift table: | level | knee at the sweep | below | its ns |
// its spread | above | its ns | its spread | midpoint ns | knee at the end |,
// a spread above kNoisySpreadPct marked "!" and said, and a sentence for
// each knee that moved or was not decided.
std::string render_drift_table(const Results& results, TableFormat format = TableFormat::kText);

}  // namespace memprobe::analysis
