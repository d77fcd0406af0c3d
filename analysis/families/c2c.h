// The c2c family: core-to-core latency, two pinned threads bouncing one
// cache line, per ordered CPU pair, grouped by what the pair shares.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "analysis/plots.h"
#include "analysis/results.h"
#include "analysis/table_format.h"

namespace memprobe::analysis {

// One row of derived.c2c: one ordered pair (a writes first, b answers).
struct C2cRow {
  double a_cpu = 0;
  double b_cpu = 0;
  std::string shares;      // "same core (SMT)", "same L3", "other L3", "same socket", "other socket", "unknown"
  std::string numa_node;   // "same node", "other node", "unknown": one NUMA node holds both CPUs or not
  double one_way_ns = 0;   // half the round trip
};

// One row of derived.c2c_groups: the pairs sharing the same thing.
struct C2cGroupRow {
  std::string shares;
  double pairs_measured = 0;
  double pairs_total = 0;  // ordered pairs of this group among the run's CPUs (more when sampled)
  double one_way_ns = 0;   // median of the group's measured pairs
};

// "smt" -> "same core (SMT)", ..., the case label's token to its name; "unknown" otherwise.
std::string c2c_shares_name(const std::string& key);

// derived.c2c (by a_cpu, b_cpu) and derived.c2c_groups (closest first);
// both removed without c2c cases. Idempotent.
void derive_c2c(Results& results);
std::vector<C2cRow> c2c_rows(const Results& results);
std::vector<C2cGroupRow> c2c_group_rows(const Results& results);

// "same core (SMT) 12.3 ns, same L3 30.1 ns, ..." for the groups that exist; "" without rows.
std::string c2c_group_line(const Results& results);

// The matrix (rows = from CPU, columns = to CPU, one-way ns; "—" on the
// diagonal and for pairs not measured), the per-group table and line, what
// was sampled, and unavailable reasons.
std::string render_c2c_table(const Results& results, TableFormat format = TableFormat::kText);

// A heat map of the matrix (gnuplot `matrix with image`).
std::vector<Plot> c2c_plots(const Results& results);

}  // namespace memprobe::analysis
