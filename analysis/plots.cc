#include "analysis/plots.h"

#include <fmt/format.h>

#include "analysis/derived.h"
#include "analysis/table_format.h"

namespace memprobe::analysis {
namespace {

// Both outputs from one script: SVG for documents, PNG for quick viewing.
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

std::string title_of(const Results& results) {
  std::string title = results.machine.cpu_model.empty() ? "memprobe" : results.machine.cpu_model;
  if (results.machine.hypervisor) title += " (" + *results.machine.hypervisor + " guest)";
  return title;
}

}  // namespace

std::string gnuplot_quote(const std::string& text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

std::vector<Plot> latency_plots(const Results& results) {
  const std::vector<std::string> pages = latency_pages(results);
  if (pages.empty()) return {};
  std::string script;
  for (const std::string& page : pages) {
    script += fmt::format("$latency_{} << EOD\n", page.find('-') == std::string::npos ? page : page.substr(8));
    for (const CurvePoint& p : latency_curve(results, page))
      script += fmt::format("{:.0f} {:.6g}\n", p.size_bytes / 1024.0, p.value);
    script += "EOD\n";
  }
  script += fmt::format("set title {} noenhanced\n", gnuplot_quote("load-to-use latency: " + title_of(results)));
  script +=
      "set logscale x 2\nset logscale y 10\nset grid xtics ytics mytics\n"
      "set xlabel 'working set (KiB)'\nset ylabel 'ns per load'\nset key top left\n"
      "set format x '%.0f'\n";
  int arrow = 1;
  for (const CacheInfo& cache : results.machine.caches) {
    if (cache.kind == "instruction" || cache.size_bytes <= 0) continue;
    const double kib = cache.size_bytes / 1024.0;
    script += fmt::format("set arrow {} from {:.6g}, graph 0 to {:.6g}, graph 1 nohead dashtype 2 lc rgb 'gray40'\n",
                          arrow, kib, kib);
    script += fmt::format("set label {} {} at {:.6g}, graph 0.97 right rotate by 90 offset -0.5,0 tc rgb 'gray40'\n",
                          arrow, gnuplot_quote(fmt::format("L{} reported {}", cache.level, format_bytes(cache.size_bytes))),
                          kib);
    ++arrow;
  }
  for (const CacheLevelRow& row : results.derived.cache_levels) {
    if (!row.detected_bytes || !row.latency_ns) continue;
    script += fmt::format("set label {} {} at {:.6g}, {:.6g} point pt 7 ps 1.2 lc rgb 'red' offset 0.8,-0.8\n", arrow,
                          gnuplot_quote(row.level + " knee " + format_bytes(*row.detected_bytes)),
                          *row.detected_bytes / 1024.0, *row.latency_ns);
    ++arrow;
  }
  std::string plot = "plot ";
  for (std::size_t i = 0; i < pages.size(); ++i) {
    const std::string& page = pages[i];
    plot += fmt::format("{}$latency_{} using 1:2 with linespoints pt 7 ps 0.6 title {}", i ? ", " : "",
                        page.find('-') == std::string::npos ? page : page.substr(8),
                        gnuplot_quote(page + " pages"));
  }
  script += plot + "\n";
  return {{"latency", with_outputs("latency", script)}};
}

std::vector<Plot> build_plots(const Results& results) {
  std::vector<Plot> plots = latency_plots(results);
  return plots;
}

}  // namespace memprobe::analysis
