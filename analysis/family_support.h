// Helpers the family files (analysis/families/) share: page-policy order,
// case lookups, optional numbers in cells and JSON, unavailable lines.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "analysis/results.h"

namespace memprobe::analysis {

// Page policies in report order: 4k, thp, hugetlb-2m, hugetlb-1g (0..3), any other 4.
int page_rank(const std::string& page);
// By page_rank, then by name.
bool page_less(const std::string& a, const std::string& b);
// Bytes of one page of a policy as its cases recorded it (params.page_bytes:
// "4k" is the base page, 16 or 64 KiB on some arm64 kernels; "thp" the PMD
// size); for files without it "4k" 4096, "thp"/"hugetlb-2m" 2 MiB,
// "hugetlb-1g" 1 GiB; 0 if unknown.
double page_bytes_of(const Results& results, const std::string& page);

// A params member as text: a string as is, any other value as JSON; "" if absent.
std::string param_text(const nlohmann::json& params, const char* key);

// Cycles per load of a case: its cycles_per_load, or ns_per_load * core_hz; nullopt if neither.
std::optional<double> cycles_of(const Case& c, double core_hz);

// CPUID's entry count of the DTLB at `level` for pages of page_bytes (machine.tlb); nullopt if unknown.
std::optional<double> reported_entries(const Results& results, int level, double page_bytes);

// " (KVM guest: nested paging, ...)" on a VM guest, else "": why TLB figures can differ from CPUID.
std::string vm_reason(const Results& results);

// The capacities a working set is labelled against (bandwidth rows, stride sets): the cache
// levels this run's latency curve found (derived.cache_levels: the knee, or
// the reported size where a level has none), else the reported caches (no
// latency family in the run, an older file). A guest's CPUID may claim an
// L3 of hundreds of MiB; a set 4x the measured L3 is DRAM, not "L3".
std::vector<CacheInfo> labelling_caches(const Results& results);

// Adds a sentence to a row's note, "; "-separated.
void append_note(std::string& note, const std::string& text);

// "{:.0f}"-formatted (or `format`) value, or kMissing.
std::string opt_number(const std::optional<double>& v, const char* format = "{:.0f}");
// The value, or JSON null.
nlohmann::json json_opt(const std::optional<double>& v);
// row[key] if it is true or false; nullopt if absent or of another type.
inline std::optional<bool> json_bool(const nlohmann::json& row, const char* key) {
  const auto it = row.find(key);
  return it != row.end() && it->is_boolean() ? std::optional<bool>(it->get<bool>()) : std::nullopt;
}

// results.derived.extra[key] if it is a non-empty array, else nullptr.
const nlohmann::json* derived_rows(const Results& results, const char* key);

// Stores typed rows as derived.extra[key], each through to_json; removes
// the member when there are none (a family without cases has no member).
template <typename Row>
void store_rows(Results& results, const char* key, const std::vector<Row>& rows,
                nlohmann::json (*to_json)(const Row&)) {
  if (rows.empty()) {
    results.derived.extra.erase(key);
    return;
  }
  nlohmann::json out = nlohmann::json::array();
  for (const Row& row : rows) out.push_back(to_json(row));
  results.derived.extra[key] = std::move(out);
}

// The typed rows of derived.extra[key] (store_rows' inverse); none if absent.
template <typename Row>
std::vector<Row> load_rows(const Results& results, const char* key, Row (*from_json)(const nlohmann::json&)) {
  std::vector<Row> rows;
  if (const nlohmann::json* json = derived_rows(results, key))
    for (const nlohmann::json& row : *json)
      if (row.is_object()) rows.push_back(from_json(row));
  return rows;
}

// "<what>: unavailable: <reason>" for the unavailable figures of `family`, one per reason.
std::vector<std::string> unavailable_of(const Results& results, const std::string& family);

// The unavailable figures of `family` by page (the name's second part): page ->
// reason. Of a page's several reasons the one asking for the most pages is
// kept: the fix line under a table must reserve enough for every case.
std::map<std::string, std::string> unavailable_pages(const Results& results, const std::string& family);

// GB/s with 2 decimals below 10, 1 above.
std::string format_gbps(double v);
// A ratio as "1.23x".
std::string format_times(double v);
// A repetition spread as "±1.2%", with "!" above kNoisySpreadPct; kMissing without one.
std::string format_spread(const std::optional<double>& spread_pct);

}  // namespace memprobe::analysis
