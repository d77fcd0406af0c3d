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

namespace {

json to_json(const MlpRow& r) {
  return {{"k", r.k}, {"working_set_bytes", r.working_set_bytes}, {"ns_per_load", r.ns_per_load},
          {"speedup_vs_k1", json_opt(r.speedup_vs_k1)}};
}

MlpRow mlp_row_from_json(const json& row) {
  return {json_number(row, "k").value_or(0), json_number(row, "working_set_bytes").value_or(0),
          json_number(row, "ns_per_load").value_or(0), json_number(row, "speedup_vs_k1")};
}

json to_json(const MlpParallelism& p) {
  json out = {{"k", json_opt(p.k)},
              {"speedup_vs_k1", json_opt(p.speedup_vs_k1)},
              {"saturation", kMlpSaturation},
              {"definition", "smallest k whose loads per second reach 90 % of the best k's"}};
  if (p.saturated) out["saturated"] = *p.saturated;
  return out;
}

// "Effective parallelism: k = 8, 7.2x the loads per second of k = 1 (...)".
std::string parallelism_note(const MlpParallelism& p, TableFormat format) {
  if (!p.k) return "";
  const auto& k = p.k;
  const auto& s = p.speedup_vs_k1;
  if (p.saturated && !*p.saturated)
    return note_line(fmt::format("Effective parallelism: at least {:.0f}{}: loads per second still rising at the "
                                 "largest k measured.",
                                 *k, s ? fmt::format(" ({:.1f}x the loads per second of k = 1)", *s) : ""),
                     format);
  return note_line(fmt::format("Effective parallelism: k = {:.0f}{} (smallest k reaching {:.0f} % of the best "
                               "throughput).",
                               *k, s ? fmt::format(", {:.1f}x the loads per second of k = 1", *s) : "",
                               kMlpSaturation * 100),
                   format);
}

}  // namespace

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
  // 0 without a k = 1 case (a plain double: GCC 12 misreads optionals here).
  const double ns1 = by_k.count(1) ? metric(*by_k.at(1), "ns_per_load").value_or(0) : 0;
  const auto speedup = [&](double ns) { return ns1 > 0 && ns > 0 ? std::optional<double>(ns1 / ns) : std::nullopt; };
  std::vector<MlpRow> rows;
  std::vector<MlpPoint> points;
  for (const auto& [k, c] : by_k) {
    const double ns = *metric(*c, "ns_per_load");
    points.push_back({k, ns});
    rows.push_back({k, param_number(*c, "working_set_bytes").value_or(0), ns, speedup(ns)});
  }
  store_rows(results, "mlp", rows, to_json);
  if (rows.empty()) {
    results.derived.extra.erase("mlp_parallelism");
    return;
  }
  MlpParallelism parallelism;
  if (const auto k = mlp_saturation_k(points)) {
    parallelism.k = *k;
    // Only the largest k reaches 90 %: loads per second were still rising.
    parallelism.saturated = *k < by_k.rbegin()->first;
    parallelism.speedup_vs_k1 = speedup(*metric(*by_k.at(*k), "ns_per_load"));
  }
  results.derived.extra["mlp_parallelism"] = to_json(parallelism);
}

std::vector<MlpRow> mlp_rows(const Results& results) { return load_rows(results, "mlp", mlp_row_from_json); }

std::optional<MlpParallelism> mlp_parallelism(const Results& results) {
  const auto it = results.derived.extra.find("mlp_parallelism");
  if (it == results.derived.extra.end() || !it->is_object()) return std::nullopt;
  MlpParallelism p;
  p.k = json_number(*it, "k");
  p.speedup_vs_k1 = json_number(*it, "speedup_vs_k1");
  if (const auto saturated = it->find("saturated"); saturated != it->end() && saturated->is_boolean())
    p.saturated = saturated->get<bool>();
  return p;
}

std::string render_mlp_table(const Results& results, TableFormat format) {
  const std::vector<MlpRow> mlp = mlp_rows(results);
  const std::vector<std::string> unavailable = unavailable_of(results, "mlp");
  if (mlp.empty() && unavailable.empty()) return "";
  std::vector<std::vector<std::string>> rows;
  double ws = 0;
  for (const MlpRow& row : mlp) {
    ws = std::max(ws, row.working_set_bytes);
    rows.push_back({fmt::format("{:.0f}", row.k), format_ns(row.ns_per_load),
                    row.speedup_vs_k1 ? format_times(*row.speedup_vs_k1) : std::string(kMissing)});
  }
  std::string out = note_line(
      fmt::format("Memory-level parallelism: k independent random chases in one thread over {}; ns per load = "
                  "time / loads of all chains",
                  ws > 0 ? format_bytes(ws) : std::string(kMissing)),
      format);
  if (!rows.empty()) out += render_table({{"k", true}, {"ns/load", true}, {"speed-up vs k=1", true}}, rows, format);
  if (const auto parallelism = mlp_parallelism(results)) out += parallelism_note(*parallelism, format);
  for (const std::string& u : unavailable) out += note_line(u, format);
  return out;
}

std::vector<Plot> mlp_plots(const Results& results) {
  return series_plot(results, {"mlp", "k", "ns_per_load", [](const nlohmann::json&) { return std::string("DRAM"); }, 1},
                     "mlp", "memory-level parallelism",
                     "set logscale y 10\nset xlabel 'independent chains k'\nset ylabel 'ns per load'\n",
                     "memory-level parallelism: ns per load against the number of independent chains");
}

FamilyDescriptor describe_mlp() {
  return {.name = "mlp", .run_rank = 6, .report_rank = 7, .tables = {{"mlp"}}, .headline_metrics = {"ns_per_load"},
          .derive = derive_mlp, .render = render_mlp_table, .summary = nullptr, .plots = mlp_plots};
}

}  // namespace memprobe::analysis
