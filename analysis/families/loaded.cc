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

namespace {

json to_json(const LoadedRow& r) {
  return {{"intensity_pct", r.intensity_pct},
          {"background_gb_per_s", r.background_gb_per_s},
          {"ns_per_load", r.ns_per_load},
          {"latency_vs_idle", json_opt(r.latency_vs_idle)}};
}

LoadedRow loaded_row_from_json(const json& row) {
  return {json_number(row, "intensity_pct").value_or(0), json_number(row, "background_gb_per_s").value_or(0),
          json_number(row, "ns_per_load").value_or(0), json_number(row, "latency_vs_idle")};
}

}  // namespace

void derive_loaded(Results& results) {
  std::map<double, const Case*> by_pct;
  for (const Case& c : results.cases)
    if (c.family == "loaded" && metric(c, "ns_per_load") && param_number(c, "intensity_pct"))
      by_pct[*param_number(c, "intensity_pct")] = &c;
  const double idle = by_pct.count(0) ? metric(*by_pct.at(0), "ns_per_load").value_or(0) : 0;
  std::vector<LoadedRow> rows;
  for (const auto& [pct, c] : by_pct) {
    const double ns = *metric(*c, "ns_per_load");
    rows.push_back({pct, metric(*c, "background_gb_per_s").value_or(0), ns,
                    idle > 0 ? std::optional<double>(ns / idle) : std::nullopt});
  }
  store_rows(results, "loaded", rows, to_json);
}

std::vector<LoadedRow> loaded_rows(const Results& results) { return load_rows(results, "loaded", loaded_row_from_json); }

std::string render_loaded_table(const Results& results, TableFormat format) {
  const std::vector<LoadedRow> loaded = loaded_rows(results);
  const std::vector<std::string> unavailable = unavailable_of(results, "loaded");
  if (loaded.empty() && unavailable.empty()) return "";
  std::vector<std::vector<std::string>> rows;
  for (const LoadedRow& row : loaded)
    rows.push_back({fmt::format("{:.0f} %", row.intensity_pct), format_gbps(row.background_gb_per_s),
                    format_ns(row.ns_per_load),
                    row.latency_vs_idle ? format_times(*row.latency_vs_idle) : std::string(kMissing)});
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
                     "loaded", "loaded latency", "set xlabel 'background read GB/s'\nset ylabel 'ns per load'\n",
                     "loaded latency: DRAM chase latency against the other cores' background read bandwidth");
}

FamilyDescriptor describe_loaded() {
  return {.name = "loaded", .run_rank = 7, .report_rank = 8,
          .tables = {{"loaded", kCompareByName, true, "loaded_latency"}}, .headline_metrics = {"ns_per_load"},
          .derive = derive_loaded, .render = render_loaded_table, .summary = nullptr, .plots = loaded_plots};
}

}  // namespace memprobe::analysis
