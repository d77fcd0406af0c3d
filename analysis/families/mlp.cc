#include "analysis/families/mlp.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>
#include <tuple>

#include "analysis/family.h"
#include "analysis/family_support.h"

namespace memprobe::analysis {

using nlohmann::json;

std::optional<double> mlp_saturation_k(const std::vector<MlpPoint>& points) {
  double best = 0;
  for (const MlpPoint& p : points)
    if (p.ns_per_load > 0) best = std::max(best, 1.0 / p.ns_per_load);
  if (!(best > 0)) return std::nullopt;
  std::optional<double> k;
  for (const MlpPoint& p : points)
    if (p.ns_per_load > 0 && 1.0 / p.ns_per_load >= kMlpSaturation * best && (!k || p.k < *k)) k = p.k;
  return k;
}

void derive_mlp(Results& results) {
  std::map<double, const Case*> by_k;
  for (const Case& c : results.cases)
    if (c.family == "mlp" && metric(c, "ns_per_load") && param_number(c, "k")) by_k[*param_number(c, "k")] = &c;
  if (by_k.empty()) {
    results.derived.extra.erase("mlp");
    results.derived.extra.erase("mlp_parallelism");
    return;
  }
  // 0 without a k = 1 case (a plain double: GCC 12 misreads optionals here).
  const double ns1 = by_k.count(1) ? metric(*by_k.at(1), "ns_per_load").value_or(0) : 0;
  json rows = json::array();
  std::vector<MlpPoint> points;
  for (const auto& [k, c] : by_k) {
    const double ns = *metric(*c, "ns_per_load");
    points.push_back({k, ns});
    json row = {{"k", k},
                {"working_set_bytes", param_number(*c, "working_set_bytes").value_or(0)},
                {"ns_per_load", ns},
                {"speedup_vs_k1", nullptr}};
    if (ns1 > 0 && ns > 0) row["speedup_vs_k1"] = ns1 / ns;
    rows.push_back(std::move(row));
  }
  results.derived.extra["mlp"] = std::move(rows);
  json parallelism = {{"k", nullptr},
                      {"speedup_vs_k1", nullptr},
                      {"saturation", kMlpSaturation},
                      {"definition", "smallest k whose loads per second reach 90 % of the best k's"}};
  if (const auto k = mlp_saturation_k(points)) {
    parallelism["k"] = *k;
    // Only the largest k reaches 90 %: loads per second were still rising.
    parallelism["saturated"] = *k < by_k.rbegin()->first;
    const double ns = *metric(*by_k.at(*k), "ns_per_load");
    if (ns1 > 0 && ns > 0) parallelism["speedup_vs_k1"] = ns1 / ns;
  }
  results.derived.extra["mlp_parallelism"] = std::move(parallelism);
}

std::string render_mlp_table(const Results& results, TableFormat format) {
  const json* rows_json = derived_rows(results, "mlp");
  const std::vector<std::string> unavailable = unavailable_of(results, "mlp");
  if (!rows_json && unavailable.empty()) return "";
  std::vector<std::vector<std::string>> rows;
  double ws = 0;
  if (rows_json) {
    for (const json& row : *rows_json) {
      const auto s = json_number(row, "speedup_vs_k1");
      ws = std::max(ws, json_number(row, "working_set_bytes").value_or(0));
      rows.push_back({fmt::format("{:.0f}", json_number(row, "k").value_or(0)),
                      format_ns(json_number(row, "ns_per_load").value_or(0)),
                      s ? format_times(*s) : std::string(kMissing)});
    }
  }
  std::string out = note_line(
      fmt::format("Memory-level parallelism: k independent random chases in one thread over {}; ns per load = "
                  "time / loads of all chains",
                  ws > 0 ? format_bytes(ws) : std::string(kMissing)),
      format);
  if (!rows.empty()) out += render_table({{"k", true}, {"ns/load", true}, {"speed-up vs k=1", true}}, rows, format);
  const auto it = results.derived.extra.find("mlp_parallelism");
  if (it != results.derived.extra.end() && it->is_object()) {
    const auto k = json_number(*it, "k");
    const auto s = json_number(*it, "speedup_vs_k1");
    const auto saturated = it->find("saturated");
    const bool open_ended = saturated != it->end() && saturated->is_boolean() && !saturated->get<bool>();
    if (k && open_ended)
      out += note_line(fmt::format("Effective parallelism: at least {:.0f}{}: loads per second still rising at the "
                                   "largest k measured.",
                                   *k, s ? fmt::format(" ({:.1f}x the loads per second of k = 1)", *s) : ""),
                       format);
    else if (k)
      out += note_line(fmt::format("Effective parallelism: k = {:.0f}{} (smallest k reaching {:.0f} % of the best "
                                   "throughput).",
                                   *k, s ? fmt::format(", {:.1f}x the loads per second of k = 1", *s) : "",
                                   kMlpSaturation * 100),
                       format);
  }
  for (const std::string& u : unavailable) out += note_line(u, format);
  return out;
}

std::vector<Plot> mlp_plots(const Results& results) {
  return series_plot(results, {"mlp", "k", "ns_per_load", [](const nlohmann::json&) { return std::string("DRAM"); }, 1},
                     "mlp", "memory-level parallelism",
                     "set logscale y 10\nset xlabel 'independent chains k'\nset ylabel 'ns per load'\n");
}

FamilyDescriptor describe_mlp() {
  return {.name = "mlp", .run_rank = 6, .report_rank = 7, .tables = {{"mlp"}}, .headline_metrics = {"ns_per_load"},
          .derive = derive_mlp, .render = render_mlp_table, .summary = nullptr, .plots = mlp_plots};
}

}  // namespace memprobe::analysis
