// The bandwidth family: sequential read/write/copy/nt-write GB/s per cache
// level and DRAM, one thread and all cores; and the read:write mixes (1:0,
// 3:1, 2:1, 1:1, triad: core/bandwidth_kernels.h defines them), whose cases
// carry a `mix` parameter.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "analysis/family.h"
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

// One row of derived.bandwidth_mix: one read:write mix at one thread count
// and working set. 1:0 is the read kernel's case, 1:1 the copy kernel's.
struct BandwidthMixRow {
  std::string mix;  // "1:0", "3:1", "2:1", "1:1", "triad"
  double threads = 1;
  double working_set_bytes = 0;  // per thread, all streams together
  std::string level;             // memory_level() of the working set
  double gb_per_s = 0;           // (bytes read + bytes written) / s / 1e9
  std::string vector, page, backing;
};

// The rows of derived.bandwidth_mix.
std::vector<BandwidthMixRow> bandwidth_mix_rows(const Results& results);

// derived.bandwidth: [{kernel, threads, working_set_bytes, level, gb_per_s,
// vector, page, backing}] by threads, kernel (read, write, copy, nt-write)
// then working set, of the cases of those four kernels;
// derived.bandwidth_mix: [{mix, threads, working_set_bytes, level, gb_per_s,
// vector, page, backing}] by mix (1:0, 3:1, 2:1, 1:1, triad), threads then
// working set, of the cases with a `mix` parameter. Each removed without
// such cases. Idempotent.
void derive_bandwidth(Results& results);

// | threads | level | working set | read | write | copy | nt-write | GB/s,
// then the mixes: | mix | <level> <working set> <n> thr GB/s ... | (rows =
// mix, one column per working set and thread count). "" if there are no
// bandwidth rows nor unavailable bandwidth cases.
std::string render_bandwidth_table(const Results& results, TableFormat format = TableFormat::kText);

// "DRAM, 2 threads: 1:0 20.1, 3:1 15.2, ... GB/s": the mixes at the largest
// working set and most threads measured; none without mix rows.
std::vector<SummaryLine> bandwidth_summary(const Results& results);

// Bandwidth vs working set, one line per kernel and thread count (derived.bandwidth).
std::vector<Plot> bandwidth_plots(const Results& results);

}  // namespace memprobe::analysis
