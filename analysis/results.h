// The results value (schema "memprobe/1", docs/results-schema.md): what `memprobe run`
// writes and `memprobe report/compare` read. Analysis is its lowest consumer,
// so it lives here; it knows nothing of core/ or Google Benchmark.
#pragma once

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace memprobe::analysis {

inline constexpr const char* kSchema = "memprobe/1";

struct CacheInfo {
  int level = 0;
  std::string kind;  // "data" / "unified"
  double size_bytes = 0;
  double line_bytes = 0;
  int ways = 0;      // -1 fully, 0 unknown
};

// The caches by level, data before instruction (kind order) within a level.
inline std::vector<CacheInfo> caches_by_level(std::vector<CacheInfo> caches) {
  std::stable_sort(caches.begin(), caches.end(), [](const CacheInfo& a, const CacheInfo& b) {
    return a.level != b.level ? a.level < b.level : a.kind < b.kind;
  });
  return caches;
}

// "L1d", "L1i", "L2": a cache's level and, for a split level, its kind.
inline std::string cache_label(const CacheInfo& c) {
  return "L" + std::to_string(c.level) + (c.kind == "data" ? "d" : c.kind == "instruction" ? "i" : "");
}

struct TlbInfo {
  int level = 0;
  double page_bytes = 0;
  std::optional<double> entries;  // null = unknown
  int ways = 0;                   // -1 fully associative, 0 unknown (and in older files)
};

struct MachineInfo {
  std::string cpu_model;
  std::string vendor;
  int logical_cpus = 0;
  std::string kernel;
  std::optional<std::string> hypervisor;
  double tsc_hz = 0;
  double core_hz = 0;
  std::string core_hz_source;  // "calibrated" | "pmu"
  std::vector<CacheInfo> caches;
  std::vector<TlbInfo> tlb;
  std::string tlb_source;                  // where `tlb` came from ("CPUID leaf 0x18"), or why it is empty; "" in older files
  std::optional<double> cpu_family;        // x86 display family (0x1A Zen 5, 6 Intel Core); null off x86 or in older files
  std::optional<double> base_page_bytes;   // sysconf(_SC_PAGESIZE); null in older files
  std::optional<double> thp_page_bytes;    // hpage_pmd_size; null where THP is absent or in older files
  std::string thp_enabled;
  std::string thp_defrag;
  double hugepages_2m_reserved = 0;
  double hugepages_1g_reserved = 0;
  bool pmu_available = false;
  std::string pmu_reason;
  std::string host;                     // host name ("" in files written before it was recorded)
  std::optional<double> memory_bytes;   // MemTotal; null if unknown or not recorded
};

// The median of `values` (mean of the middle two for an even count); 0 if empty.
inline double median_of(std::vector<double> values) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const std::size_t n = values.size();
  return n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

// The median absolute deviation of `values` from their `median`; 0 if empty.
inline double median_absolute_deviation(const std::vector<double>& values, double median) {
  std::vector<double> deviations;
  deviations.reserve(values.size());
  for (const double value : values) deviations.push_back(std::fabs(value - median));
  return median_of(std::move(deviations));
}

// kMadToSigma x the median absolute deviation estimates the standard
// deviation of normal noise, whose MAD is 0.6745 of it.
inline constexpr double kMadToSigma = 1.4826;

// A figure whose repetitions differ by more than this (max - min over the
// median, %) is flagged as noisy in the results file and the tables.
inline constexpr double kNoisySpreadPct = 10.0;

// A repetition is an outlier when it lies further from the median than this
// many robust standard deviations (1.4826 x the median absolute deviation,
// which estimates the standard deviation of normal noise without being
// moved by the outlier itself): 3.5, Iglewicz and Hoaglin's cut for the
// modified z-score...
inline constexpr double kOutlierRobustSigmas = 3.5;
// ...and is at least this many times the median, or at most its inverse: a
// pause (SIGSTOP, a descheduled vCPU) stops the world for a whole
// repetition, while noise of the figure moves it by tens of %. With the 3
// repetitions of --quick the median absolute deviation is the smaller gap
// alone, and the robust rule by itself would call a 1.4x repetition an
// outlier; this keeps such noise in the spread.
inline constexpr double kOutlierMinRatio = 2.0;

struct Spread {
  int repetitions = 0;
  double min = 0, median = 0, max = 0;  // of the case's headline metric, every repetition
  bool noisy = false;                   // spread_pct(*this) > kNoisySpreadPct: outliers left out
  // Repetitions the outlier rule (kOutlierRobustSigmas, kOutlierMinRatio)
  // names: one that a pause stopped for 1000x its time. Not in
  // outlier_free_min/max; 0 and nullopt in files written before they existed.
  int outliers = 0;
  std::optional<double> outlier_free_min = std::nullopt, outlier_free_max = std::nullopt;
};

// The repetitions' spread without outliers (spread_of): min..max in files
// written before outliers were named. What noise intervals are made of.
inline std::pair<double, double> outlier_free_range(const Spread& s) {
  return {s.outlier_free_min.value_or(s.min), s.outlier_free_max.value_or(s.max)};
}

// max - min of the outlier-free range, in the headline metric's unit.
inline double outlier_free_width(const Spread& s) {
  const auto [low, high] = outlier_free_range(s);
  return high - low;
}

// The outlier-free spread's (max - min) / median in %, 0 when the median is
// not positive.
inline double spread_pct(const Spread& s) { return s.median > 0 ? outlier_free_width(s) / s.median * 100 : 0; }

// The spread of one case's repetitions of its headline metric: min, median,
// max of all, the outliers named and left out of outlier_free_min/max and
// of noisy. Empty: repetitions 0.
Spread spread_of(const std::vector<double>& repetitions);

struct BackingInfo {
  std::string requested;  // "4k", "thp", "hugetlb-2m", "hugetlb-1g"
  std::string verified;   // what the kernel gave
  double huge_fraction = 0;
};

struct Case {
  std::string family;  // "latency"
  std::string name;    // "latency/4k/1MiB"
  nlohmann::json params = nlohmann::json::object();  // working_set_bytes, page, stride_bytes, ...
  std::map<std::string, double> metrics;             // ns_per_load, cycles_per_load, ...
  Spread spread;
  BackingInfo backing;
  std::map<std::string, double> counters;
};

// Typed lookups into a case's params/metrics and a derived row: nullopt (or
// "") where the member is absent or of another type.
inline std::optional<double> param_number(const Case& c, const char* key) {
  const auto it = c.params.find(key);
  if (it != c.params.end() && it->is_number()) return it->get<double>();
  return std::nullopt;
}

inline std::string param_string(const Case& c, const char* key) {
  const auto it = c.params.find(key);
  return it != c.params.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// A case's page policy (params.page: "4k", "thp", "2m", ...), or empty.
inline std::string page_of(const Case& c) { return param_string(c, "page"); }

inline std::optional<double> metric(const Case& c, const char* key) {
  const auto it = c.metrics.find(key);
  return it != c.metrics.end() ? std::optional<double>(it->second) : std::nullopt;
}

inline std::optional<double> json_number(const nlohmann::json& row, const char* key) {
  const auto it = row.find(key);
  return it != row.end() && it->is_number() ? std::optional<double>(it->get<double>()) : std::nullopt;
}

inline std::string json_string(const nlohmann::json& row, const char* key) {
  const auto it = row.find(key);
  return it != row.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// The metric a case is judged by, the one Case::spread describes: the first
// of its family's FamilyDescriptor::headline_metrics (analysis/family.h) it
// has; else the first of ns_per_load, us_per_fault, us_per_page, gb_per_s;
// else its first metric by name; empty if it has none.
std::string headline_metric(const Case& c);

struct UnavailableFigure {
  std::string what;
  std::string reason;
};

struct CacheLevelRow {
  std::string level;                       // "L1", "L2", "L3", "DRAM"
  std::optional<double> reported_bytes;    // hwloc; none for DRAM
  std::optional<double> detected_bytes;    // from the curve's knee; none if no knee
  std::optional<double> latency_ns;
  std::optional<double> latency_cycles;
  std::optional<double> spread_pct;        // median over the plateau's cases of (max-min)/median, %
  std::string note;                        // "detected differs from reported: ...", "no clear knee"
  // The working set of the curve point nearest latency_ns among the points it
  // is the median of: where the drift family re-measures the level.
  std::optional<double> figure_bytes = std::nullopt;
};

struct Derived {
  std::vector<CacheLevelRow> cache_levels;
  nlohmann::json extra = nlohmann::json::object();  // each family's tables, by family name (analysis/family.h)
};

struct Results {
  std::string schema = kSchema;
  std::string command;
  std::string started_at;  // ISO 8601 UTC
  std::string git;
  MachineInfo machine;
  std::vector<Case> cases;
  std::vector<UnavailableFigure> unavailable;
  Derived derived;
  // The run stopped early (a signal): the file holds the cases completed
  // before it. Written as a top-level "interrupted": true.
  bool interrupted = false;
  nlohmann::json extra = nlohmann::json::object();  // other top-level members, preserved
};


}  // namespace memprobe::analysis
