// Derived figures from a results value's cases: the cache-level table.
#pragma once

#include <string>
#include <vector>

#include "analysis/knees.h"
#include "analysis/results.h"

namespace memprobe::analysis {

// The latency curve of one page policy: (working_set_bytes, median ns_per_load)
// for each successful case of family "latency" with params.page == page.
std::vector<CurvePoint> latency_curve(const Results& results, const std::string& page);

// Which policy's latency curve the cache table should use: a huge-page one
// whose backing was verified (TLB-clean up to its reach), else "4k".
// Empty if no latency cases.
std::string preferred_latency_page(const Results& results);

// L1, L2, ..., LLC and DRAM rows: reported size from machine.caches, detected
// size from the curve's knees (matched to the nearest reported level on the log
// axis), plateau latency in ns and cycles (ns * machine.core_hz), spread, and a
// note where detected and reported differ by more than 1.5x or no knee was found.
std::vector<CacheLevelRow> derive_cache_levels(const Results& results);

// Fills results.derived from results.cases (idempotent).
void derive_all(Results& results);

}  // namespace memprobe::analysis
