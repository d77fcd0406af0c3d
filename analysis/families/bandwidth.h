// The bandwidth family: sequential read/write/copy/nt-write GB/s per cache
// level and DRAM, one thread and all cores.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "analysis/plots.h"
#include "analysis/results.h"
#include "analysis/table_format.h"

namespace memprobe::analysis {

// "L1", "L2", "L3"... : the innermost data/unified cache of `caches` holding
// working_set_bytes, "DRAM" beyond the last (or "" with no caches known).
std::string memory_level(double working_set_bytes, const std::vector<CacheInfo>& caches);

// One row of derived.bandwidth: one kernel at one thread count and working set.
struct BandwidthRow {
  std::string kernel;  // read, write, copy, nt-write
  double threads = 1;
  double working_set_bytes = 0;  // per thread
  std::string level;             // memory_level() of the working set
  double gb_per_s = 0;
  std::string vector, page, backing;
};

// The rows of derived.bandwidth.
std::vector<BandwidthRow> bandwidth_rows(const Results& results);

// derived.bandwidth: [{kernel, threads, working_set_bytes, level, gb_per_s,
// vector, page, backing}] by threads, kernel (read, write, copy, nt-write)
// then working set; removed without bandwidth cases. Idempotent.
void derive_bandwidth(Results& results);

// | threads | level | working set | read | write | copy | nt-write | GB/s.
// "" if there are no bandwidth rows nor unavailable bandwidth cases.
std::string render_bandwidth_table(const Results& results, TableFormat format = TableFormat::kText);

// Bandwidth vs working set, one line per kernel and thread count (derived.bandwidth).
std::vector<Plot> bandwidth_plots(const Results& results);

}  // namespace memprobe::analysis
