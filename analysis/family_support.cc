#include "analysis/family_support.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <set>

#include "analysis/table_format.h"

namespace memprobe::analysis {
namespace {

constexpr const char* kPageOrder[] = {"4k", "thp", "hugetlb-2m", "hugetlb-1g"};

// The page count a short-pool reason asks for ("... (need 128, free 0): ..."), 0 if none.
std::uint64_t pages_needed(const std::string& reason) {
  const auto at = reason.find("(need ");
  if (at == std::string::npos) return 0;
  std::uint64_t need = 0;
  for (std::size_t i = at + 6; i < reason.size() && reason[i] >= '0' && reason[i] <= '9' && need < (1ULL << 40); ++i)
    need = need * 10 + static_cast<std::uint64_t>(reason[i] - '0');
  return need;
}

}  // namespace

int page_rank(const std::string& page) {
  for (int i = 0; i < 4; ++i)
    if (page == kPageOrder[i]) return i;
  return 4;
}

bool page_less(const std::string& a, const std::string& b) {
  const int ra = page_rank(a), rb = page_rank(b);
  return ra != rb ? ra < rb : a < b;
}

double page_bytes_of(const Results& results, const std::string& page) {
  for (const Case& c : results.cases) {
    if (param_text(c.params, "page") != page) continue;
    const auto bytes = c.params.find("page_bytes");
    if (bytes != c.params.end() && bytes->is_number() && bytes->get<double>() > 0) return bytes->get<double>();
  }
  if (page == "4k") return 4096;
  if (page == "thp" || page == "hugetlb-2m") return 2.0 * 1024 * 1024;
  if (page == "hugetlb-1g") return 1024.0 * 1024 * 1024;
  return 0;
}

std::string param_text(const nlohmann::json& params, const char* key) {
  const auto it = params.find(key);
  if (it == params.end()) return "";
  if (it->is_string()) return it->get<std::string>();
  return it->dump();
}

std::optional<double> cycles_of(const Case& c, double core_hz) {
  if (auto it = c.metrics.find("cycles_per_load"); it != c.metrics.end()) return it->second;
  if (auto it = c.metrics.find("ns_per_load"); it != c.metrics.end() && core_hz > 0)
    return it->second * core_hz / 1e9;
  return std::nullopt;
}

std::optional<double> reported_entries(const Results& results, int level, double page_bytes) {
  for (const TlbInfo& t : results.machine.tlb)
    if (t.level == level && t.page_bytes == page_bytes) return t.entries;
  return std::nullopt;
}

std::string vm_reason(const Results& results) {
  if (!results.machine.hypervisor) return "";
  return fmt::format(" ({} guest: nested paging, and the host's page size, shape what the guest sees)",
                     *results.machine.hypervisor);
}

void append_note(std::string& note, const std::string& text) {
  if (!note.empty()) note += "; ";
  note += text;
}

std::string opt_number(const std::optional<double>& v, const char* format) {
  return v ? fmt::format(fmt::runtime(format), *v) : std::string(kMissing);
}

nlohmann::json json_opt(const std::optional<double>& v) { return v ? nlohmann::json(*v) : nlohmann::json(nullptr); }

const nlohmann::json* derived_rows(const Results& results, const char* key) {
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

std::map<std::string, std::string> unavailable_pages(const Results& results, const std::string& family) {
  std::map<std::string, std::string> out;
  const std::string prefix = family + "/";
  for (const UnavailableFigure& u : results.unavailable) {
    if (u.what.rfind(prefix, 0) != 0) continue;
    std::string page = u.what.substr(prefix.size());
    page = page.substr(0, page.find('/'));
    const auto [it, inserted] = out.emplace(page, u.reason);
    if (!inserted && pages_needed(u.reason) > pages_needed(it->second)) it->second = u.reason;
  }
  return out;
}

std::string format_gbps(double v) { return v < 10 ? fmt::format("{:.2f}", v) : fmt::format("{:.1f}", v); }

std::string format_times(double v) { return fmt::format("{:.2f}x", v); }

std::string format_spread(const std::optional<double>& spread_pct) {
  if (!spread_pct) return std::string(kMissing);
  return fmt::format("±{:.1f}%{}", *spread_pct, *spread_pct > kNoisySpreadPct ? "!" : "");
}

std::vector<CacheInfo> labelling_caches(const Results& results) {
  std::vector<CacheInfo> measured;
  bool any_detected = false;
  for (const CacheLevelRow& row : results.derived.cache_levels) {
    if (row.level.size() < 2 || row.level[0] != 'L') continue;
    const std::optional<double> bytes = row.detected_bytes ? row.detected_bytes : row.reported_bytes;
    if (!bytes) continue;
    any_detected |= row.detected_bytes.has_value();
    measured.push_back({std::atoi(row.level.c_str() + 1), "unified", *bytes, 0, 0});
  }
  return any_detected ? measured : results.machine.caches;
}

}  // namespace memprobe::analysis
