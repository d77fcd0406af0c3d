// Plots as self-contained gnuplot scripts (data inline), built from a results
// value. Pure: the harness writes the scripts and runs gnuplot.
#pragma once

#include <string>
#include <vector>

#include "analysis/results.h"

namespace memprobe::analysis {

struct Plot {
  std::string name;    // file stem: "latency" -> latency.gp, latency.svg, latency.png
  std::string script;  // gnuplot 5 script writing <name>.svg and <name>.png in its directory
};

// Latency vs working set (log2 x, log y), one line per page policy, reported
// cache sizes as dashed verticals and detected knees as labelled points.
// Nothing when there are no latency cases.
std::vector<Plot> latency_plots(const Results& results);

// tlb - reference cycles per load vs pages touched, one line per page policy,
// CPUID's 4 KiB DTLB entry counts as dashed verticals. Nothing without tlb cases.
std::vector<Plot> tlb_plots(const Results& results);

// Huge-page A/B: ns per load vs working set per page policy, verified
// backings only (derived.extra["hugepage"]). Nothing without hugepage rows.
std::vector<Plot> hugepage_plots(const Results& results);

// Bandwidth vs working set (one line per kernel and thread count), MLP (ns
// per load vs k) and loaded latency (ns per load vs background GB/s), from
// derived.extra; each only when its rows exist.
std::vector<Plot> bandwidth_plots(const Results& results);

// Every plot the results allow, in report order.
std::vector<Plot> build_plots(const Results& results);

// Quotes text for a gnuplot string literal: '...' with ' doubled and control
// characters escaped; never runs a `command` or ends the line.
std::string gnuplot_quote(const std::string& text);

}  // namespace memprobe::analysis
