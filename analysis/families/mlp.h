// The mlp family: k independent chases interleaved in one thread over DRAM,
// and the effective memory-level parallelism.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "analysis/plots.h"
#include "analysis/results.h"
#include "analysis/table_format.h"

namespace memprobe::analysis {

// Throughput within this fraction of the best counts as saturated.
inline constexpr double kMlpSaturation = 0.9;

struct MlpPoint {
  double k = 0;
  double ns_per_load = 0;
};

// The effective parallelism: the smallest k whose throughput (1 / ns_per_load)
// reaches kMlpSaturation (90 %) of the best throughput of any k. nullopt if
// no point has a positive ns_per_load. Points may come in any order.
std::optional<double> mlp_saturation_k(const std::vector<MlpPoint>& points);

// One row of derived.mlp: k chains interleaved.
struct MlpRow {
  double k = 0;
  double working_set_bytes = 0;
  double ns_per_load = 0;
  std::optional<double> speedup_vs_k1;  // ns(k=1) / ns(k); none without a k = 1 case
};

// derived.mlp_parallelism: the effective parallelism (mlp_saturation_k).
struct MlpParallelism {
  std::optional<double> k;              // none: no point had a positive ns_per_load
  std::optional<double> speedup_vs_k1;
  std::optional<bool> saturated;        // false: only the largest k reached 90 %, k is a lower bound
};

std::vector<MlpRow> mlp_rows(const Results& results);
std::optional<MlpParallelism> mlp_parallelism(const Results& results);

// derived.mlp: [{k, working_set_bytes, ns_per_load, speedup_vs_k1}] by k
// (speedup_vs_k1 = ns(k=1) / ns(k), null without a k = 1 case), and
// derived.mlp_parallelism: {k, speedup_vs_k1, saturated, saturation: 0.9,
// definition} (saturated false: only the largest k measured reached 90 %, so
// k is a lower bound). Both removed without mlp cases. Idempotent.
void derive_mlp(Results& results);

// | k | ns/load | speed-up vs k=1 | plus the saturation sentence.
std::string render_mlp_table(const Results& results, TableFormat format = TableFormat::kText);

// ns per load vs k (derived.mlp).
std::vector<Plot> mlp_plots(const Results& results);

}  // namespace memprobe::analysis
