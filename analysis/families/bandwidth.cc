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
// The mixes as core::kAllBandwidthMixes lists them (analysis does not link core/).
constexpr const char* kMixOrder[] = {"1:0", "3:1", "2:1", "1:1", "triad"};

// The position of `name` in `order`, N past the end for others.
template <std::size_t N>
int rank_in(const char* const (&order)[N], const std::string& name) {
  for (std::size_t i = 0; i < N; ++i)
    if (name == order[i]) return static_cast<int>(i);
  return static_cast<int>(N);
}

int kernel_rank(const std::string& kernel) { return rank_in(kKernelOrder, kernel); }
int mix_rank(const std::string& mix) { return rank_in(kMixOrder, mix); }

// Unlike param_string, a number reads as its text too: "vector" is 256 or "avx2".
std::string param_text(const Case& c, const char* key) {
  const auto it = c.params.find(key);
  if (it == c.params.end()) return {};
  if (it->is_string()) return it->get<std::string>();
  if (it->is_number()) return fmt::format("{}", it->get<double>());
  return {};
}

// The two row types differ only in their first member, which names the
// figure: "kernel" (derived.bandwidth) or "mix" (derived.bandwidth_mix).
std::string& name_of(BandwidthRow& r) { return r.kernel; }
std::string& name_of(BandwidthMixRow& r) { return r.mix; }
const std::string& name_of(const BandwidthRow& r) { return r.kernel; }
const std::string& name_of(const BandwidthMixRow& r) { return r.mix; }
template <class Row>
constexpr const char* kNameKey = "kernel";
template <>
constexpr const char* kNameKey<BandwidthMixRow> = "mix";

template <class Row>
json to_json(const Row& r) {
  return {{kNameKey<Row>, name_of(r)}, {"threads", r.threads},   {"working_set_bytes", r.working_set_bytes},
          {"level", r.level},          {"gb_per_s", r.gb_per_s}, {"vector", r.vector},
          {"page", r.page},            {"backing", r.backing}};
}

template <class Row>
Row row_from_json(const json& row) {
  Row r;
  name_of(r) = json_string(row, kNameKey<Row>);
  r.threads = json_number(row, "threads").value_or(1);
  r.working_set_bytes = json_number(row, "working_set_bytes").value_or(0);
  r.level = json_string(row, "level");
  r.gb_per_s = json_number(row, "gb_per_s").value_or(0);
  r.vector = json_string(row, "vector");
  r.page = json_string(row, "page");
  r.backing = json_string(row, "backing");
  return r;
}

// The row of a measured bandwidth case.
template <class Row>
Row row_of(const Case& c, const std::vector<CacheInfo>& caches) {
  Row r;
  name_of(r) = param_text(c, kNameKey<Row>);
  r.threads = param_number(c, "threads").value_or(1);
  r.working_set_bytes = *param_number(c, "working_set_bytes");
  r.level = memory_level(r.working_set_bytes, caches);
  r.gb_per_s = *metric(c, "gb_per_s");
  r.vector = param_text(c, "vector");
  r.page = param_text(c, "page");
  r.backing = c.backing.verified;
  return r;
}

// The measured bandwidth cases, sorted by (threads, rank of their `key`
// parameter, working set), or by (rank, threads, working set) when
// `by_rank_first`.
std::vector<const Case*> bandwidth_cases(const Results& results, const char* key, int (*rank)(const std::string&),
                                         bool by_rank_first) {
  std::vector<const Case*> cases;
  for (const Case& c : results.cases)
    if (c.family == "bandwidth" && metric(c, "gb_per_s") && param_number(c, "working_set_bytes")) cases.push_back(&c);
  const auto order = [&](const Case* c) {
    const double threads = param_number(*c, "threads").value_or(0);
    const auto r = static_cast<double>(rank(param_text(*c, key)));
    const double ws = *param_number(*c, "working_set_bytes");
    return by_rank_first ? std::make_tuple(r, threads, ws) : std::make_tuple(threads, r, ws);
  };
  std::stable_sort(cases.begin(), cases.end(), [&](const Case* a, const Case* b) { return order(a) < order(b); });
  return cases;
}

// The mixes' table: one row per mix, one column per (threads, working set).
std::string render_mix_table(const Results& results, TableFormat format) {
  const std::vector<BandwidthMixRow> mixes = bandwidth_mix_rows(results);
  if (mixes.empty()) return "";
  std::map<std::pair<double, double>, std::string> points;  // (threads, working set) -> level
  std::map<std::string, std::map<std::pair<double, double>, double>> grid;  // mix -> point -> GB/s
  // The points where a mix of its own kernel (3:1, 2:1, triad) ran; at the
  // others only 1:0 and 1:1 (read, copy) are known, and the table above has them.
  std::map<std::pair<double, double>, std::string> mixed_points;
  for (const BandwidthMixRow& row : mixes) {
    points[{row.threads, row.working_set_bytes}] = row.level;
    grid[row.mix][{row.threads, row.working_set_bytes}] = row.gb_per_s;
    if (row.mix != "1:0" && row.mix != "1:1") mixed_points[{row.threads, row.working_set_bytes}] = row.level;
  }
  if (!mixed_points.empty()) points = mixed_points;
  std::vector<Column> columns = {{"mix", false}};
  for (const auto& [point, level] : points)
    columns.push_back({fmt::format("{}{} x{:.0f} GB/s", level.empty() ? "" : level + " ", format_bytes(point.second),
                                   point.first),
                       true});
  std::vector<std::string> names;
  for (const auto& [mix, by_point] : grid) names.push_back(mix);
  std::sort(names.begin(), names.end(), [](const std::string& a, const std::string& b) {
    return mix_rank(a) != mix_rank(b) ? mix_rank(a) < mix_rank(b) : a < b;
  });
  std::vector<std::vector<std::string>> rows;
  for (const std::string& mix : names) {
    std::vector<std::string> cells = {mix};
    for (const auto& [point, level] : points) {
      const auto it = grid[mix].find(point);
      cells.push_back(it != grid[mix].end() ? format_gbps(it->second) : std::string(kMissing));
    }
    rows.push_back(std::move(cells));
  }
  return note_line("Read:write mixes (as Intel MLC --peak_injection_bandwidth names them): N:1 = N streams read per "
                   "stream written; 1:0 = read, 1:1 = copy, triad = a[i] = b[i] + s*c[i]; GB/s = (bytes read + "
                   "bytes written) / s, write-allocate reads not counted; working set per thread, all streams; "
                   "xN = N threads; the points where 3:1, 2:1 and triad ran (`--only bandwidth`: all)",
                   format) +
         render_table(columns, rows, format);
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
  // The four kernels' cases, and any other kernel without a mix parameter; a
  // kernel of a mix alone (mix_3_1, mix_2_1, triad) is only in the mix table.
  std::vector<BandwidthRow> rows;
  for (const Case* c : bandwidth_cases(results, "kernel", kernel_rank, false)) {
    if (kernel_rank(param_text(*c, "kernel")) == 4 && c->params.contains("mix")) continue;
    rows.push_back(row_of<BandwidthRow>(*c, caches));
  }
  store_rows(results, "bandwidth", rows, to_json<BandwidthRow>);
  std::vector<BandwidthMixRow> mixes;
  for (const Case* c : bandwidth_cases(results, "mix", mix_rank, true)) {
    if (!param_text(*c, "mix").empty()) mixes.push_back(row_of<BandwidthMixRow>(*c, caches));
  }
  store_rows(results, "bandwidth_mix", mixes, to_json<BandwidthMixRow>);
}

std::vector<BandwidthMixRow> bandwidth_mix_rows(const Results& results) {
  return load_rows(results, "bandwidth_mix", row_from_json<BandwidthMixRow>);
}

std::vector<BandwidthRow> bandwidth_rows(const Results& results) {
  return load_rows(results, "bandwidth", row_from_json<BandwidthRow>);
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
  out += render_mix_table(results, format);
  for (const std::string& u : unavailable) out += note_line(u, format);
  return out;
}

std::vector<SummaryLine> bandwidth_summary(const Results& results) {
  const std::vector<BandwidthMixRow> mixes = bandwidth_mix_rows(results);
  if (mixes.empty()) return {};
  // The most threads, then the largest working set.
  std::pair<double, double> best{0, 0};
  for (const BandwidthMixRow& row : mixes) best = std::max(best, std::make_pair(row.threads, row.working_set_bytes));
  std::string text;
  std::string level;
  for (const BandwidthMixRow& row : mixes) {
    if (std::make_pair(row.threads, row.working_set_bytes) != best) continue;
    level = row.level;
    text += fmt::format("{}{} {}", text.empty() ? "" : ", ", row.mix, format_gbps(row.gb_per_s));
  }
  return {{35, "bandwidth mixes",
           fmt::format("{}{}, {:.0f} thread{}: {} GB/s (read:write; bytes read + written)",
                       level.empty() ? "" : level + " ", format_bytes(best.second), best.first,
                       best.first == 1 ? "" : "s", text)}};
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
                     "set ylabel 'GB/s (1e9 bytes/s)'\n",
                     "sequential bandwidth against working set per thread, per kernel and thread count");
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
  return {.name = "bandwidth", .run_rank = 5, .report_rank = 6, .tables = {{"bandwidth", 5}, {"bandwidth_mix", 5}},
          .headline_metrics = {"gb_per_s"}, .derive = derive_bandwidth, .render = render_bandwidth_table,
          .summary = bandwidth_summary, .plots = bandwidth_plots,
          .fleet_columns = {{"DRAM read GB/s", "gb_per_s", false, dram_read_gb_per_s}}};
}

}  // namespace memprobe::analysis
