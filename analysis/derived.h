// Derived figures from a results value's cases: every family's
// (FamilyDescriptor::derive, analysis/family.h), in run order.
#pragma once

#include "analysis/results.h"

namespace memprobe::analysis {

// Fills results.derived from results.cases (idempotent): each registered
// family derives its figures, by ascending run_rank (a family may read what
// an earlier one derived: hugepage's DRAM + translation reads latency's DRAM row).
void derive_all(Results& results);

}  // namespace memprobe::analysis
