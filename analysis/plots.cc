#include "analysis/plots.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>

#include "analysis/family.h"
#include "analysis/table_format.h"

namespace memprobe::analysis {
namespace {

std::string series_script(const Results& results, const SeriesSpec& spec, const std::string& prefix,
                          std::vector<std::string>& blocks, std::vector<std::string>& titles) {
  const auto rows = results.derived.extra.find(spec.member);
  if (rows == results.derived.extra.end() || !rows->is_array()) return {};
  std::vector<std::string> keys;
  for (const auto& row : *rows)
    if (std::find(keys.begin(), keys.end(), spec.series_key(row)) == keys.end()) keys.push_back(spec.series_key(row));
  std::string script;
  for (std::size_t i = 0; i < keys.size(); ++i) {
    std::string data;
    for (const auto& row : *rows) {
      if (spec.series_key(row) != keys[i]) continue;
      const auto x = row.find(spec.x), y = row.find(spec.y);
      if (x == row.end() || y == row.end() || !x->is_number() || !y->is_number()) continue;
      data += fmt::format("{:.6g} {:.6g}\n", x->get<double>() / spec.x_scale, y->get<double>());
    }
    if (data.empty()) continue;
    blocks.push_back(fmt::format("${}_{}", prefix, i));
    titles.push_back(keys[i]);
    script += blocks.back() + " << EOD\n" + data + "EOD\n";
  }
  return script;
}

}  // namespace

// gnuplot 5.4's "svg ... dynamic" (no "mouse", no "standalone" JavaScript)
// writes plain SVG: no <script>, references only to its own ids and, for
// "with image", an inline data:image/png; the HTML report inlines it as is
// (analysis/html_report.h inline_svg checks that).
std::string with_outputs(const std::string& name, const std::string& plot_commands) {
  return fmt::format(
      "set terminal svg size 960,600 dynamic enhanced font 'sans,12'\n"
      "set output {}\n"
      "{}"
      "set terminal pngcairo size 960,600 enhanced font 'sans,10'\n"
      "set output {}\n"
      "replot\n",
      gnuplot_quote(name + ".svg"), plot_commands, gnuplot_quote(name + ".png"));
}

std::string plot_title_of(const Results& results) {
  std::string title = results.machine.cpu_model.empty() ? "memprobe" : results.machine.cpu_model;
  if (results.machine.hypervisor) title += " (" + *results.machine.hypervisor + " guest)";
  return title;
}

std::string block_name(const std::string& prefix, const std::string& page) {
  std::string name = prefix + "_" + page;
  for (char& c : name)
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  return "$" + name;
}

std::string plot_series(const std::vector<std::string>& blocks, const std::vector<std::string>& titles,
                        const char* style) {
  std::string plot = "plot ";
  for (std::size_t i = 0; i < blocks.size(); ++i)
    plot += fmt::format("{}{} using 1:2 with {} title {}", i ? ", " : "", blocks[i], style, gnuplot_quote(titles[i]));
  return plot + "\n";
}

std::string gnuplot_quote(const std::string& text) {
  // Single quotes: gnuplot runs `command` in backquotes and expands escapes
  // inside double-quoted strings, not inside single-quoted ones, where the
  // only special character is ' itself (written ''). Text from a results file
  // (the CPU model in titles) so stays text. Control characters (a newline
  // would end the command) are escaped first.
  std::string out = "'";
  for (char c : escape_control(text)) {
    if (c == '\'') out += '\'';
    out += c;
  }
  return out + "'";
}

std::vector<Plot> series_plot(const Results& results, const SeriesSpec& spec, const std::string& name,
                              const std::string& title, const std::string& axes, const std::string& caption) {
  std::vector<std::string> blocks, titles;
  std::string script = series_script(results, spec, name, blocks, titles);
  if (blocks.empty()) return {};
  script += fmt::format("set title {} noenhanced\n", gnuplot_quote(title + ", " + plot_title_of(results)));
  script += axes + "set grid xtics ytics\nset key top left\n";
  script += plot_series(blocks, titles, "linespoints pt 7 ps 0.7");
  return {{name, with_outputs(name, script), caption}};
}

std::vector<Plot> build_plots(const Results& results) {
  std::vector<Plot> plots;
  for (const FamilyDescriptor* family : families_in_report_order()) {
    if (!family->plots) continue;
    for (Plot& p : family->plots(results)) plots.push_back(std::move(p));
  }
  return plots;
}

}  // namespace memprobe::analysis
