#include "analysis/plots.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cmath>

#include "analysis/derived.h"
#include "analysis/table_format.h"
#include "analysis/tlb.h"

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

// "hugetlb-2m" -> "$hugetlb_2m": a gnuplot datablock name. The page comes
// from the results file: anything but a letter or digit becomes '_', so a
// name cannot end the line and append a command (system(...)) to the script.
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

}  // namespace

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

std::vector<Plot> latency_plots(const Results& results) {
  const std::vector<std::string> pages = latency_pages(results);
  if (pages.empty()) return {};
  std::string script;
  for (const std::string& page : pages) {
    script += block_name("latency", page) + " << EOD\n";
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
  // A knee marker sits on the curve the levels were derived from, at the
  // measured point nearest the knee (a knee is a measured working set), not
  // at the level's latency, which can lie far from the curve there.
  std::string knee_page = preferred_latency_page(results);
  if (auto it = results.derived.extra.find("latency_curve_page"); it != results.derived.extra.end() && it->is_string())
    knee_page = it->get<std::string>();
  const std::vector<CurvePoint> knee_curve = latency_curve(results, knee_page);
  for (const CacheLevelRow& row : results.derived.cache_levels) {
    if (!row.detected_bytes || knee_curve.empty()) continue;
    const CurvePoint* nearest = &knee_curve.front();
    for (const CurvePoint& p : knee_curve)
      if (std::fabs(std::log2(p.size_bytes / *row.detected_bytes)) <
          std::fabs(std::log2(nearest->size_bytes / *row.detected_bytes)))
        nearest = &p;
    script += fmt::format("set label {} {} at {:.0f}, {:.6g} point pt 7 ps 1.2 lc rgb 'red' offset 0.8,-0.8\n", arrow,
                          gnuplot_quote(row.level + " knee " + format_bytes(*row.detected_bytes)),
                          nearest->size_bytes / 1024.0, nearest->value);
    ++arrow;
  }
  std::vector<std::string> blocks, titles;
  for (const std::string& page : pages) {
    blocks.push_back(block_name("latency", page));
    titles.push_back(page + " pages");
  }
  script += plot_series(blocks, titles, "linespoints pt 7 ps 0.6");
  return {{"latency", with_outputs("latency", script)}};
}

std::vector<Plot> tlb_plots(const Results& results) {
  std::string script;
  std::vector<std::string> blocks, titles;
  for (const std::string& page : tlb_pages(results)) {
    const std::vector<TlbPoint> curve = tlb_curve(results, page);
    if (curve.empty()) continue;
    blocks.push_back(block_name("tlb", page));
    titles.push_back(page + " pages");
    script += blocks.back() + " << EOD\n";
    for (const TlbPoint& p : curve) script += fmt::format("{:.0f} {:.6g}\n", p.pages, p.delta_cycles());
    script += "EOD\n";
  }
  if (blocks.empty()) return {};
  script += fmt::format("set title {} noenhanced\n",
                        gnuplot_quote("TLB: extra cycles per load over a same-footprint reference, " + title_of(results)));
  script +=
      "set logscale x 2\nset grid xtics ytics\nset xlabel 'pages touched (one line each)'\n"
      "set ylabel 'tlb - reference (cycles per load)'\nset key top left\nset format x '%.0f'\n";
  int arrow = 1;
  for (const TlbInfo& tlb : results.machine.tlb) {
    if (!tlb.entries || tlb.page_bytes != 4096) continue;
    script += fmt::format("set arrow {} from {:.6g}, graph 0 to {:.6g}, graph 1 nohead dashtype 2 lc rgb 'gray40'\n",
                          arrow, *tlb.entries, *tlb.entries);
    script += fmt::format("set label {} {} at {:.6g}, graph 0.97 right rotate by 90 offset -0.5,0 tc rgb 'gray40'\n",
                          arrow, gnuplot_quote(fmt::format("L{} DTLB 4K: {:.0f} entries (CPUID)", tlb.level, *tlb.entries)),
                          *tlb.entries);
    ++arrow;
  }
  script += plot_series(blocks, titles, "linespoints pt 7 ps 0.6");
  return {{"tlb", with_outputs("tlb", script)}};
}

std::vector<Plot> hugepage_plots(const Results& results) {
  const auto rows = results.derived.extra.find("hugepage");
  if (rows == results.derived.extra.end() || !rows->is_array() || rows->empty()) return {};
  std::vector<std::string> pages;
  for (const auto& row : *rows) {
    const std::string page = row.value("page", std::string());
    if (!page.empty() && std::find(pages.begin(), pages.end(), page) == pages.end()) pages.push_back(page);
  }
  std::string script;
  std::vector<std::string> blocks, titles;
  for (const std::string& page : pages) {
    blocks.push_back(block_name("hugepage", page));
    titles.push_back(page + " pages");
    script += blocks.back() + " << EOD\n";
    for (const auto& row : *rows) {
      // Only verified backings are plotted: an unverified huge page is not a huge-page figure.
      if (row.value("page", std::string()) != page || !row.value("backing_verified", false)) continue;
      script += fmt::format("{:.6g} {:.6g}\n", row.value("working_set_bytes", 0.0) / 1024.0,
                            row.value("ns_per_load", 0.0));
    }
    script += "EOD\n";
  }
  script += fmt::format("set title {} noenhanced\n",
                        gnuplot_quote("huge pages: random chase, verified backing only, " + title_of(results)));
  script +=
      "set logscale x 2\nset logscale y 10\nset grid xtics ytics mytics\nset xlabel 'working set (KiB)'\n"
      "set ylabel 'ns per load'\nset key top left\nset format x '%.0f'\n";
  script += plot_series(blocks, titles, "linespoints pt 7 ps 0.8");
  return {{"hugepage", with_outputs("hugepage", script)}};
}

namespace {

// One series per distinct series_key(row) of derived.extra[member]: x, y from
// the rows' numeric members; rows without them are skipped.
struct SeriesSpec {
  std::string member, x, y;
  std::string (*series_key)(const nlohmann::json& row);
  double x_scale = 1;  // x is divided by this (bytes -> KiB)
};

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

std::vector<Plot> series_plot(const Results& results, const SeriesSpec& spec, const std::string& name,
                              const std::string& title, const std::string& axes) {
  std::vector<std::string> blocks, titles;
  std::string script = series_script(results, spec, name, blocks, titles);
  if (blocks.empty()) return {};
  script += fmt::format("set title {} noenhanced\n", gnuplot_quote(title + ", " + title_of(results)));
  script += axes + "set grid xtics ytics\nset key top left\n";
  script += plot_series(blocks, titles, "linespoints pt 7 ps 0.7");
  return {{name, with_outputs(name, script)}};
}

}  // namespace

std::vector<Plot> bandwidth_plots(const Results& results) {
  std::vector<Plot> plots;
  for (auto&& p : {series_plot(results,
                               {"bandwidth", "working_set_bytes", "gb_per_s",
                                [](const nlohmann::json& r) {
                                  return fmt::format("{} {:.0f} thread(s)", r.value("kernel", std::string()),
                                                     r.value("threads", 0.0));
                                },
                                1024.0},
                               "bandwidth", "sequential bandwidth",
                               "set logscale x 2\nset format x '%.0f'\nset xlabel 'working set per thread (KiB)'\n"
                               "set ylabel 'GB/s (1e9 bytes/s)'\n"),
                   series_plot(results,
                               {"mlp", "k", "ns_per_load", [](const nlohmann::json&) { return std::string("DRAM"); }, 1},
                               "mlp", "memory-level parallelism",
                               "set logscale y 10\nset xlabel 'independent chains k'\nset ylabel 'ns per load'\n"),
                   series_plot(results,
                               {"loaded_latency", "background_gb_per_s", "ns_per_load",
                                [](const nlohmann::json&) { return std::string("DRAM chase"); }, 1},
                               "loaded_latency", "loaded latency",
                               "set xlabel 'background read GB/s'\nset ylabel 'ns per load'\n")})
    plots.insert(plots.end(), p.begin(), p.end());
  return plots;
}

std::vector<Plot> build_plots(const Results& results) {
  std::vector<Plot> plots;
  for (auto&& family : {latency_plots(results), hugepage_plots(results), tlb_plots(results), bandwidth_plots(results)})
    plots.insert(plots.end(), family.begin(), family.end());
  return plots;
}

}  // namespace memprobe::analysis
