#include "analysis/families/loaded.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>
#include <tuple>

#include "analysis/family.h"
#include "analysis/family_support.h"

namespace memprobe::analysis {

using nlohmann::json;

void derive_loaded(Results& results) {
  std::map<double, const Case*> by_pct;
  for (const Case& c : results.cases)
    if (c.family == "loaded" && metric(c, "ns_per_load") && param_number(c, "intensity_pct"))
      by_pct[*param_number(c, "intensity_pct")] = &c;
  if (by_pct.empty()) {
    results.derived.extra.erase("loaded");
    return;
  }
  const double idle = by_pct.count(0) ? metric(*by_pct.at(0), "ns_per_load").value_or(0) : 0;
  json rows = json::array();
  for (const auto& [pct, c] : by_pct) {
    const double ns = *metric(*c, "ns_per_load");
    json row = {{"intensity_pct", pct},
                {"background_gb_per_s", metric(*c, "background_gb_per_s").value_or(0)},
                {"ns_per_load", ns},
                {"latency_vs_idle", nullptr}};
    if (idle > 0) row["latency_vs_idle"] = ns / idle;
    rows.push_back(std::move(row));
  }
  results.derived.extra["loaded"] = std::move(rows);
}

std::string render_loaded_table(const Results& results, TableFormat format) {
  const json* rows_json = derived_rows(results, "loaded");
  const std::vector<std::string> unavailable = unavailable_of(results, "loaded");
  if (!rows_json && unavailable.empty()) return "";
  std::vector<std::vector<std::string>> rows;
  if (rows_json) {
    for (const json& row : *rows_json) {
      const auto v = json_number(row, "latency_vs_idle");
      rows.push_back({fmt::format("{:.0f} %", json_number(row, "intensity_pct").value_or(0)),
                      format_gbps(json_number(row, "background_gb_per_s").value_or(0)),
                      format_ns(json_number(row, "ns_per_load").value_or(0)),
                      v ? format_times(*v) : std::string(kMissing)});
    }
  }
  std::string out = note_line(
      "Loaded latency: DRAM random chase on one core while the other cores read (duty cycle of a 100 us period)",
      format);
  if (!rows.empty())
    out += render_table({{"background load", true}, {"background GB/s", true}, {"ns/load", true}, {"vs idle", true}},
                        rows, format);
  for (const std::string& u : unavailable) out += note_line(u, format);
  return out;
}

std::vector<Plot> loaded_plots(const Results& results) {
  return series_plot(results,
                     {"loaded", "background_gb_per_s", "ns_per_load",
                      [](const nlohmann::json&) { return std::string("DRAM chase"); }, 1},
                     "loaded", "loaded latency", "set xlabel 'background read GB/s'\nset ylabel 'ns per load'\n");
}

FamilyDescriptor describe_loaded() {
  return {.name = "loaded", .run_rank = 7, .report_rank = 8,
          .tables = {{"loaded", kCompareByName, true, "loaded_latency"}}, .headline_metrics = {"ns_per_load"},
          .derive = derive_loaded, .render = render_loaded_table, .summary = nullptr, .plots = loaded_plots};
}

}  // namespace memprobe::analysis
