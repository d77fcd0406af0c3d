// Text tables from a results value. Analysis formats, benchmarks never do.
#pragma once

#include <string>

#include "analysis/results.h"
#include "analysis/table_format.h"

namespace memprobe::analysis {

// Machine header: CPU, cores, kernel, hypervisor, TSC and core clock (with
// source), caches, TLBs, THP, hugetlb pools, PMU.
std::string render_machine_header(const Results& results, TableFormat format = TableFormat::kText);

// One line on the counters recorded (results.extra["counters"]):
// "software: page-faults, ...; hardware: n/a (no PMU)". Empty if none.
std::string counters_summary(const Results& results);

// "unavailable: <what>: <reason>" lines.
std::string render_unavailable(const Results& results, TableFormat format = TableFormat::kText);
// One line per case whose spread named outlier repetitions (analysis::spread_of):
// how many, the range they were left out of, and the full min..max.
std::string render_outliers(const Results& results, TableFormat format = TableFormat::kText);

// The few lines a reader wants first: every family's summary lines
// (FamilyDescriptor::summary) by rank, from what results.derived holds.
std::string render_summary(const Results& results, TableFormat format = TableFormat::kText);

// The summary, every family's sections (FamilyDescriptor::render, by
// report_rank) and the unavailable lines: what `memprobe run` prints once
// the measurements are done.
std::string render_sections(const Results& results, TableFormat format = TableFormat::kText);

// The machine header and render_sections().
std::string render_report(const Results& results, TableFormat format = TableFormat::kText);

}  // namespace memprobe::analysis
