// Plots as self-contained gnuplot scripts (data inline), built from a results
// value. Pure: the harness writes the scripts and runs gnuplot. Each family
// gives its own (FamilyDescriptor::plots, analysis/families/); the helpers
// below are what they share.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "analysis/results.h"

namespace memprobe::analysis {

struct Plot {
  std::string name;     // file stem: "latency" -> latency.gp, latency.svg, latency.png
  std::string script;   // gnuplot 5 script writing <name>.svg and <name>.png in its directory
  std::string caption;  // what the plot shows, in a sentence (the HTML report's figure caption)
};

// Every plot the results allow, in report order (the families' report_rank).
std::vector<Plot> build_plots(const Results& results);

// Quotes text for a gnuplot string literal: '...' with ' doubled and control
// characters escaped; never runs a `command` or ends the line.
std::string gnuplot_quote(const std::string& text);

// Both outputs from one script: <name>.svg for documents, <name>.png for quick viewing.
std::string with_outputs(const std::string& name, const std::string& plot_commands);

// The plot title's machine part: CPU model (and " (KVM guest)").
std::string plot_title_of(const Results& results);

// "hugetlb-2m" -> "$latency_hugetlb_2m": a gnuplot datablock name. The page
// comes from the results file: anything but a letter or digit becomes '_',
// so a name cannot end the line and append a command (system(...)).
std::string block_name(const std::string& prefix, const std::string& page);

// "plot $a using 1:2 with <style> title 'a', ...".
std::string plot_series(const std::vector<std::string>& blocks, const std::vector<std::string>& titles,
                        const char* style);

// One series per distinct series_key(row) of derived.extra[member]: x, y from
// the rows' numeric members; rows without them are skipped.
struct SeriesSpec {
  std::string member, x, y;
  std::string (*series_key)(const nlohmann::json& row);
  double x_scale = 1;  // x is divided by this (bytes -> KiB)
};

// A line plot of spec's series named `name`, titled "<title>, <machine>",
// with the gnuplot axis commands `axes` and the figure caption `caption`;
// nothing when no row has x and y.
std::vector<Plot> series_plot(const Results& results, const SeriesSpec& spec, const std::string& name,
                              const std::string& title, const std::string& axes, const std::string& caption);

}  // namespace memprobe::analysis
