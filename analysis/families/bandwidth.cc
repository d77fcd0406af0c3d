#include "analysis/families/bandwidth.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>
#include <tuple>

#include "analysis/family.h"
#include "analysis/family_support.h"

namespace memprobe::analysis {
namespace {

using nlohmann::json;

constexpr const char* kKernelOrder[] = {"read", "write", "copy", "nt-write"};

int kernel_rank(const std::string& kernel) {
  for (int i = 0; i < 4; ++i)
    if (kernel == kKernelOrder[i]) return i;
  return 4;
}

// Unlike param_string, a number reads as its text too: "vector" is 256 or "avx2".
std::string param_text(const Case& c, const char* key) {
  const auto it = c.params.find(key);
  if (it == c.params.end()) return {};
  if (it->is_string()) return it->get<std::string>();
  if (it->is_number()) return fmt::format("{}", it->get<double>());
  return {};
}

json to_json(const BandwidthRow& r) {
  return {{"kernel", r.kernel},     {"threads", r.threads},   {"working_set_bytes", r.working_set_bytes},
          {"level", r.level},       {"gb_per_s", r.gb_per_s}, {"vector", r.vector},
          {"page", r.page},         {"backing", r.backing}};
}

BandwidthRow bandwidth_row_from_json(const json& row) {
  return {json_string(row, "kernel"),
          json_number(row, "threads").value_or(1),
          json_number(row, "working_set_bytes").value_or(0),
          json_string(row, "level"),
          json_number(row, "gb_per_s").value_or(0),
          json_string(row, "vector"),
          json_string(row, "page"),
          json_string(row, "backing")};
}

}  // namespace

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
  const std::vector<CacheInfo> caches = labelling_caches(results);
  std::vector<const Case*> cases;
  for (const Case& c : results.cases)
    if (c.family == "bandwidth" && metric(c, "gb_per_s") && param_number(c, "working_set_bytes")) cases.push_back(&c);
  std::stable_sort(cases.begin(), cases.end(), [](const Case* a, const Case* b) {
    return std::make_tuple(param_number(*a, "threads").value_or(0), kernel_rank(param_text(*a, "kernel")),
                           *param_number(*a, "working_set_bytes")) <
           std::make_tuple(param_number(*b, "threads").value_or(0), kernel_rank(param_text(*b, "kernel")),
                           *param_number(*b, "working_set_bytes"));
  });
  std::vector<BandwidthRow> rows;
  for (const Case* c : cases) {
    const double ws = *param_number(*c, "working_set_bytes");
    rows.push_back({param_text(*c, "kernel"), param_number(*c, "threads").value_or(1), ws,
                    memory_level(ws, caches), *metric(*c, "gb_per_s"), param_text(*c, "vector"),
                    param_text(*c, "page"), c->backing.verified});
  }
  store_rows(results, "bandwidth", rows, to_json);
}

std::vector<BandwidthRow> bandwidth_rows(const Results& results) {
  return load_rows(results, "bandwidth", bandwidth_row_from_json);
}

std::string render_bandwidth_table(const Results& results, TableFormat format) {
  const std::vector<BandwidthRow> bandwidth = bandwidth_rows(results);
  const std::vector<std::string> unavailable = unavailable_of(results, "bandwidth");
  if (bandwidth.empty() && unavailable.empty()) return "";
  // (threads, working set) -> kernel -> GB/s
  std::map<std::pair<double, double>, std::map<std::string, double>> grid;
  std::map<std::pair<double, double>, std::string> levels;
  std::set<std::string> kernels_seen;
  std::set<std::string> vectors;
  for (const BandwidthRow& row : bandwidth) {
    const auto key = std::make_pair(row.threads, row.working_set_bytes);
    grid[key][row.kernel] = row.gb_per_s;
    levels[key] = row.level;
    kernels_seen.insert(row.kernel);
    if (!row.vector.empty()) vectors.insert(row.vector);
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

std::vector<Plot> bandwidth_plots(const Results& results) {
  return series_plot(results,
                     {"bandwidth", "working_set_bytes", "gb_per_s",
                      [](const nlohmann::json& r) {
                        return fmt::format("{} {:.0f} thread(s)", r.value("kernel", std::string()),
                                           r.value("threads", 0.0));
                      },
                      1024.0},
                     "bandwidth", "sequential bandwidth",
                     "set logscale x 2\nset format x '%.0f'\nset xlabel 'working set per thread (KiB)'\n"
                     "set ylabel 'GB/s (1e9 bytes/s)'\n");
}

namespace {

// memprobe fleet: DRAM read bandwidth at the most threads measured.
std::optional<double> dram_read_gb_per_s(const Results& r) {
  std::optional<double> best_threads, value;
  const auto rows = r.derived.extra.find("bandwidth");
  if (rows != r.derived.extra.end() && rows->is_array())
    for (const nlohmann::json& row : *rows) {
      if (!row.is_object() || json_string(row, "kernel") != "read" || json_string(row, "level") != "DRAM") continue;
      const double threads = json_number(row, "threads").value_or(1);
      const auto gb = json_number(row, "gb_per_s");
      if (gb && (!best_threads || threads >= *best_threads)) best_threads = threads, value = gb;
    }
  return value;
}

}  // namespace

FamilyDescriptor describe_bandwidth() {
  return {.name = "bandwidth", .run_rank = 5, .report_rank = 6, .tables = {{"bandwidth", 5}},
          .headline_metrics = {"gb_per_s"}, .derive = derive_bandwidth, .render = render_bandwidth_table,
          .summary = nullptr, .plots = bandwidth_plots,
          .fleet_columns = {{"DRAM read GB/s", "gb_per_s", false, dram_read_gb_per_s}}};
}

}  // namespace memprobe::analysis
