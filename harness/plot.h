// `memprobe report --plot DIR`: writes analysis's gnuplot scripts and runs
// gnuplot on them (Debian's gnuplot-nox), so the images come from a
// well-kept plotting tool, not a hand-written renderer.
#pragma once

#include <string>
#include <vector>

#include "analysis/html_report.h"
#include "analysis/results.h"

namespace memprobe::harness {

// DIR must exist (or be creatable) and be writable: UsageError otherwise.
void check_plot_directory(const std::string& dir);

// Writes DIR/<name>.gp for every plot and runs gnuplot in DIR; returns the
// image files written. Throws std::runtime_error if gnuplot is missing or fails.
std::vector<std::string> write_plots(const analysis::Results& results, const std::string& dir);

// The plots as SVG text for the HTML report: the same scripts as --plot, run
// through gnuplot in a private temporary directory (mkdtemp) that is removed
// afterwards. Never throws for gnuplot's sake: without gnuplot, or when it
// fails, the result holds no plot and a one-line note saying why.
analysis::HtmlPlots svg_plots(const analysis::Results& results);

}  // namespace memprobe::harness
