// Text tables from a results value. Analysis formats, benchmarks never do.
#pragma once

#include <string>

#include "analysis/results.h"
#include "analysis/table_format.h"

namespace memprobe::analysis {

// Machine header: CPU, cores, kernel, hypervisor, TSC and core clock (with
// source), caches, TLBs, THP, hugetlb pools, PMU.
std::string render_machine_header(const Results& results, TableFormat format = TableFormat::kText);

// | level | reported | detected | latency ns | latency cycles | spread | (+ notes)
std::string render_cache_table(const Results& results, TableFormat format = TableFormat::kText);

// Per working set: ns/load and cycles/load for each page policy measured.
std::string render_latency_curve(const Results& results, TableFormat format = TableFormat::kText);

// One line on the counters recorded (results.extra["counters"]):
// "software: page-faults, ...; hardware: n/a (no PMU)". Empty if none.
std::string counters_summary(const Results& results);

// Each counter per load at one representative working set per cache level
// (latency curve of preferred_latency_page); "n/a (no PMU)" where the event
// could not be opened for lack of a PMU. Empty if no counters were recorded.
std::string render_counter_table(const Results& results, TableFormat format = TableFormat::kText);

// "unavailable: <what>: <reason>" lines.
std::string render_unavailable(const Results& results, TableFormat format = TableFormat::kText);

// The few lines a reader wants first: each cache level's detected size and
// latency, DRAM latency, DTLB entries, the huge-page effect on DRAM-sized
// random access and the fault cost, from what results.derived holds.
std::string render_summary(const Results& results, TableFormat format = TableFormat::kText);

// Every table after the machine header, in reading order (what `memprobe run`
// prints once the measurements are done).
std::string render_sections(const Results& results, TableFormat format = TableFormat::kText);

// The machine header and render_sections().
std::string render_report(const Results& results, TableFormat format = TableFormat::kText);

}  // namespace memprobe::analysis
