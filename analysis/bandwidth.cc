#include "analysis/bandwidth.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <tuple>

namespace memprobe::analysis {
namespace {

using nlohmann::json;

constexpr const char* kKernelOrder[] = {"read", "write", "copy", "nt-write"};

int kernel_rank(const std::string& kernel) {
  for (int i = 0; i < 4; ++i)
    if (kernel == kKernelOrder[i]) return i;
  return 4;
}

std::string param_string(const Case& c, const char* key) {
  const auto it = c.params.find(key);
  if (it == c.params.end()) return {};
  if (it->is_string()) return it->get<std::string>();
  if (it->is_number()) return fmt::format("{}", it->get<double>());
  return {};
}

const json* extra_array(const Results& results, const char* key) {
  const auto it = results.derived.extra.find(key);
  return it != results.derived.extra.end() && it->is_array() && !it->empty() ? &*it : nullptr;
}

std::vector<std::string> unavailable_of(const Results& results, const std::string& family) {
  std::vector<std::string> out;
  std::set<std::string> seen;
  for (const UnavailableFigure& u : results.unavailable)
    if (u.what.rfind(family + "/", 0) == 0 && seen.insert(u.reason).second)
      out.push_back(fmt::format("{}: unavailable: {}", u.what, u.reason));
  return out;
}

std::string format_gbps(double v) { return v < 10 ? fmt::format("{:.2f}", v) : fmt::format("{:.1f}", v); }
std::string format_ratio(double v) { return fmt::format("{:.2f}x", v); }

void derive_bandwidth_rows(Results& results) {
  std::vector<const Case*> cases;
  for (const Case& c : results.cases)
    if (c.family == "bandwidth" && metric(c, "gb_per_s") && param_number(c, "working_set_bytes")) cases.push_back(&c);
  if (cases.empty()) {
    results.derived.extra.erase("bandwidth");
    return;
  }
  std::stable_sort(cases.begin(), cases.end(), [](const Case* a, const Case* b) {
    return std::make_tuple(param_number(*a, "threads").value_or(0), kernel_rank(param_string(*a, "kernel")),
                           *param_number(*a, "working_set_bytes")) <
           std::make_tuple(param_number(*b, "threads").value_or(0), kernel_rank(param_string(*b, "kernel")),
                           *param_number(*b, "working_set_bytes"));
  });
  json rows = json::array();
  for (const Case* c : cases) {
    const double ws = *param_number(*c, "working_set_bytes");
    rows.push_back({{"kernel", param_string(*c, "kernel")},
                    {"threads", param_number(*c, "threads").value_or(1)},
                    {"working_set_bytes", ws},
                    {"level", memory_level(ws, results.machine.caches)},
                    {"gb_per_s", *metric(*c, "gb_per_s")},
                    {"vector", param_string(*c, "vector")},
                    {"page", param_string(*c, "page")},
                    {"backing", c->backing.verified}});
  }
  results.derived.extra["bandwidth"] = std::move(rows);
}

void derive_mlp_rows(Results& results) {
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

void derive_loaded_rows(Results& results) {
  std::map<double, const Case*> by_pct;
  for (const Case& c : results.cases)
    if (c.family == "loaded" && metric(c, "ns_per_load") && param_number(c, "intensity_pct"))
      by_pct[*param_number(c, "intensity_pct")] = &c;
  if (by_pct.empty()) {
    results.derived.extra.erase("loaded_latency");
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
  results.derived.extra["loaded_latency"] = std::move(rows);
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

std::string memory_level(double working_set_bytes, const std::vector<CacheInfo>& caches) {
  std::vector<const CacheInfo*> data;
  for (const CacheInfo& c : caches)
    if (c.kind != "instruction" && c.size_bytes > 0) data.push_back(&c);
  if (data.empty()) return "";
  std::sort(data.begin(), data.end(), [](const CacheInfo* a, const CacheInfo* b) { return a->level < b->level; });
  for (const CacheInfo* c : data)
    if (working_set_bytes <= c->size_bytes) return fmt::format("L{}", c->level);
  return "DRAM";
}

void derive_bandwidth(Results& results) {
  derive_bandwidth_rows(results);
  derive_mlp_rows(results);
  derive_loaded_rows(results);
}

std::string render_bandwidth_table(const Results& results, TableFormat format) {
  const json* rows_json = extra_array(results, "bandwidth");
  const std::vector<std::string> unavailable = unavailable_of(results, "bandwidth");
  if (!rows_json && unavailable.empty()) return "";
  // (threads, working set) -> kernel -> GB/s
  std::map<std::pair<double, double>, std::map<std::string, double>> grid;
  std::map<std::pair<double, double>, std::string> levels;
  std::set<std::string> kernels_seen;
  std::set<std::string> vectors;
  if (rows_json) {
    for (const json& row : *rows_json) {
      const auto key = std::make_pair(json_number(row, "threads").value_or(1),
                                      json_number(row, "working_set_bytes").value_or(0));
      grid[key][json_string(row, "kernel")] = json_number(row, "gb_per_s").value_or(0);
      levels[key] = json_string(row, "level");
      kernels_seen.insert(json_string(row, "kernel"));
      if (!json_string(row, "vector").empty()) vectors.insert(json_string(row, "vector"));
    }
  }
  std::vector<std::string> kernels(kernels_seen.begin(), kernels_seen.end());
  std::sort(kernels.begin(), kernels.end(), [](const std::string& a, const std::string& b) {
    return kernel_rank(a) != kernel_rank(b) ? kernel_rank(a) < kernel_rank(b) : a < b;
  });
  std::vector<Column> columns = {{"threads", true}, {"level", false}, {"working set", true}};
  for (const std::string& k : kernels) columns.push_back({k + " GB/s", true});
  std::vector<std::vector<std::string>> rows;
  for (const auto& [key, by_kernel] : grid) {
    std::vector<std::string> cells = {fmt::format("{:.0f}", key.first),
                                      levels[key].empty() ? std::string(kMissing) : levels[key],
                                      format_bytes(key.second)};
    for (const std::string& k : kernels) {
      const auto it = by_kernel.find(k);
      cells.push_back(it != by_kernel.end() ? format_gbps(it->second) : std::string(kMissing));
    }
    rows.push_back(std::move(cells));
  }
  std::string vector_text;
  for (const std::string& v : vectors) vector_text += (vector_text.empty() ? "" : ", ") + v;
  std::string out = note_line(
      fmt::format("Bandwidth: sequential kernels ({}), GB/s = 1e9 bytes/s; working set per thread; copy counts "
                  "bytes read + bytes written",
                  vector_text.empty() ? std::string("vector width unknown") : vector_text),
      format);
  if (!rows.empty()) out += render_table(columns, rows, format);
  for (const std::string& u : unavailable) out += note_line(u, format);
  return out;
}

std::string render_mlp_table(const Results& results, TableFormat format) {
  const json* rows_json = extra_array(results, "mlp");
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
                      s ? format_ratio(*s) : std::string(kMissing)});
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

std::string render_loaded_latency_table(const Results& results, TableFormat format) {
  const json* rows_json = extra_array(results, "loaded_latency");
  const std::vector<std::string> unavailable = unavailable_of(results, "loaded");
  if (!rows_json && unavailable.empty()) return "";
  std::vector<std::vector<std::string>> rows;
  if (rows_json) {
    for (const json& row : *rows_json) {
      const auto v = json_number(row, "latency_vs_idle");
      rows.push_back({fmt::format("{:.0f} %", json_number(row, "intensity_pct").value_or(0)),
                      format_gbps(json_number(row, "background_gb_per_s").value_or(0)),
                      format_ns(json_number(row, "ns_per_load").value_or(0)),
                      v ? format_ratio(*v) : std::string(kMissing)});
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

}  // namespace memprobe::analysis
