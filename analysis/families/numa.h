// The numa family: threads on NUMA node i, memory bound to node j (placement
// verified): DRAM latency (ns/load) and read bandwidth (GB/s) matrices,
// rows = CPU node, columns = memory node, like Intel MLC's matrices.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "analysis/family.h"
#include "analysis/results.h"
#include "analysis/table_format.h"

namespace memprobe::analysis {

// One row of derived.numa: one (cpu node, memory node) pair.
struct NumaRow {
  double cpu_node = 0;
  double mem_node = 0;
  std::optional<double> ns_per_load;  // the TLB-local DRAM chase; none: unavailable
  std::optional<double> gb_per_s;     // read, every allowed CPU of cpu_node; none: unavailable
  std::string note;                   // the matrix's shape, on every row ("one NUMA node: ...")
};

// derived.numa: one row per pair, measured or not (the cases and the
// unavailable numa figures), by cpu node then memory node; removed without
// numa cases. Idempotent.
void derive_numa(Results& results);
std::vector<NumaRow> numa_rows(const Results& results);

// The two matrices (latency ns/load, read GB/s), the note and the
// unavailable pairs with their reasons; "" without rows.
std::string render_numa_tables(const Results& results, TableFormat format = TableFormat::kText);

// "NUMA": local and remote latency and bandwidth (or the 1x1 figures).
std::vector<SummaryLine> numa_summary(const Results& results);

}  // namespace memprobe::analysis
