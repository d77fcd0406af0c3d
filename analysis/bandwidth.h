// Bandwidth, memory-level parallelism and loaded-latency figures from a
// results value (families bandwidth, mlp, loaded), and their tables. Pure:
// synthetic results test it.
#pragma once

#include <optional>
#include <string>
#include <vector>

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

// "L1", "L2", "L3"... : the innermost data/unified cache of `caches` holding
// working_set_bytes, "DRAM" beyond the last (or "" with no caches known).
std::string memory_level(double working_set_bytes, const std::vector<CacheInfo>& caches);

// Fills results.derived.extra:
//  "bandwidth": [{kernel, threads, working_set_bytes, level, gb_per_s, vector,
//                 page, backing}], threads, kernel (read, write, copy,
//                 nt-write) then working set order;
//  "mlp": [{k, working_set_bytes, ns_per_load, speedup_vs_k1}] by k
//         (speedup_vs_k1 = ns(k=1) / ns(k), null without a k = 1 case);
//  "mlp_parallelism": {k, speedup_vs_k1, saturated, saturation: 0.9,
//                      definition} (saturated false: only the largest k
//                      measured reached 90 %, so k is a lower bound);
//  "loaded_latency": [{intensity_pct, background_gb_per_s, ns_per_load,
//                      latency_vs_idle}] by intensity.
// A member whose family has no cases is removed. Idempotent.
void derive_bandwidth(Results& results);

// | level | working set | read | write | copy | nt-write | ... per thread count,
// GB/s. Empty if there are no bandwidth rows nor unavailable bandwidth cases.
std::string render_bandwidth_table(const Results& results, TableFormat format = TableFormat::kText);
// | k | ns/load | speed-up vs k=1 | plus the saturation sentence.
std::string render_mlp_table(const Results& results, TableFormat format = TableFormat::kText);
// | load | background GB/s | ns/load | vs idle |.
std::string render_loaded_latency_table(const Results& results, TableFormat format = TableFormat::kText);

}  // namespace memprobe::analysis
