// `memprobe report --plot DIR`: writes analysis's gnuplot scripts and runs
// gnuplot on them (Debian's gnuplot-nox), so the images come from a
// well-kept plotting tool, not a hand-written renderer.
#pragma once

#include <string>
#include <vector>

#include "analysis/results.h"

namespace memprobe::harness {

// DIR must exist (or be creatable) and be writable: UsageError otherwise.
void check_plot_directory(const std::string& dir);

// Writes DIR/<name>.gp for every plot and runs gnuplot in DIR; returns the
// image files written. Throws std::runtime_error if gnuplot is missing or fails.
std::vector<std::string> write_plots(const analysis::Results& results, const std::string& dir);

}  // namespace memprobe::harness
