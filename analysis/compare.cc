#include "analysis/compare.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <map>
#include <set>

#include "analysis/table_format.h"

namespace memprobe::analysis {
namespace {

using nlohmann::json;

// Members of a derived row that describe rather than identify it: they may
// differ between two runs of the same figure, so they neither match rows nor
// get compared.
constexpr std::array<std::string_view, 7> kFreeTextMembers = {"note",   "notes",        "reason", "comment",
                                                               "status", "how_verified", "message"};

// Numeric members that say which figure a row is (its parameters), not what
// was measured.
constexpr std::array<std::string_view, 9> kParameterMembers = {
    "working_set_bytes", "footprint_bytes", "size_bytes", "page_bytes", "stride_bytes",
    "threads",           "pages",           "level",      "ways"};

// The order DESIGN.md lists the derived tables in; others follow by name.
constexpr std::array<std::string_view, 5> kDerivedOrder = {"tlb", "page_walk", "hugepage", "page_fault", "bandwidth"};

template <std::size_t N>
bool one_of(std::string_view name, const std::array<std::string_view, N>& names) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

std::vector<std::string_view> name_parts(std::string_view name) {
  std::vector<std::string_view> parts;
  while (true) {
    const auto underscore = name.find('_');
    parts.push_back(name.substr(0, underscore));
    if (underscore == std::string_view::npos) break;
    name.remove_prefix(underscore + 1);
  }
  return parts;
}

bool is_time_unit(std::string_view part) {
  return part == "ns" || part == "us" || part == "ms" || part == "cycles" || part == "ticks";
}

bool ends_with(std::string_view text, std::string_view suffix) {
  return text.size() >= suffix.size() && text.substr(text.size() - suffix.size()) == suffix;
}

// Plain number without scientific notation: integers as such, else 2
// decimals below 10, 1 below 100, none above.
std::string format_number(double value) {
  if (value == std::floor(value) && std::fabs(value) < 1e15) return fmt::format("{:.0f}", value);
  const double magnitude = std::fabs(value);
  if (magnitude < 10) return fmt::format("{:.2f}", value);
  if (magnitude < 100) return fmt::format("{:.1f}", value);
  return fmt::format("{:.0f}", value);
}

// A value in the unit its metric's name says.
std::string format_value(std::string_view metric, double value) {
  if (metric == "bytes" || ends_with(metric, "_bytes")) return format_bytes(value);
  const auto parts = name_parts(metric);
  if (parts.front() == "ns" || parts.back() == "ns") return format_ns(value);
  return format_number(value);
}

std::string format_ratio(const std::optional<double>& ratio) {
  return ratio ? fmt::format("{:.2f}", *ratio) : std::string(kMissing);
}

std::string format_pct(const std::optional<double>& pct) {
  return pct ? fmt::format("{:.1f}%", *pct) : std::string(kMissing);
}

std::optional<double> ratio_of(const std::optional<double>& a, const std::optional<double>& b) {
  if (!a || !b || *a <= 0 || *b < 0) return std::nullopt;
  return *b / *a;
}

Measured point(double value) { return {value, value, value}; }

// ---- machine and settings ------------------------------------------------

std::string caches_text(const MachineInfo& m) {
  std::vector<CacheInfo> caches = m.caches;
  std::stable_sort(caches.begin(), caches.end(), [](const CacheInfo& x, const CacheInfo& y) {
    return x.level != y.level ? x.level < y.level : x.kind < y.kind;
  });
  std::string text;
  for (const CacheInfo& c : caches) {
    const char* suffix = c.kind == "data" ? "d" : c.kind == "instruction" ? "i" : "";
    text += fmt::format("{}L{}{} {}", text.empty() ? "" : ", ", c.level, suffix, format_bytes(c.size_bytes));
  }
  return text.empty() ? "unknown" : text;
}

std::string tlb_text(const MachineInfo& m) {
  std::string text;
  for (const TlbInfo& t : m.tlb)
    text += fmt::format("{}L{} {} {}", text.empty() ? "" : ", ", t.level, page_label(t.page_bytes),
                        t.entries ? format_number(*t.entries) : std::string("?"));
  return text.empty() ? "unknown" : text;
}

std::string clock_text(double hz, const std::string& source) {
  if (hz <= 0) return "unknown";
  return source.empty() ? fmt::format("{:.3f} GHz", hz / 1e9) : fmt::format("{:.3f} GHz ({})", hz / 1e9, source);
}

bool differ_by_more_than(double a, double b, double pct) {
  if (a <= 0 || b <= 0) return a != b;
  return std::fabs(b / a - 1) * 100 > pct;
}

std::vector<Difference> machine_differences(const Results& ra, const Results& rb, const CompareOptions& options) {
  const MachineInfo& a = ra.machine;
  const MachineInfo& b = rb.machine;
  std::vector<Difference> out;
  const auto add = [&](std::string what, const std::string& x, const std::string& y) {
    if (x != y) out.push_back({std::move(what), x.empty() ? "unknown" : x, y.empty() ? "unknown" : y});
  };
  add("command", ra.command, rb.command);
  add("CPU model", a.cpu_model, b.cpu_model);
  add("CPU vendor", a.vendor, b.vendor);
  add("logical CPUs", std::to_string(a.logical_cpus), std::to_string(b.logical_cpus));
  add("kernel", a.kernel, b.kernel);
  add("hypervisor", a.hypervisor.value_or("none"), b.hypervisor.value_or("none"));
  if (differ_by_more_than(a.core_hz, b.core_hz, options.core_hz_tolerance_pct) || a.core_hz_source != b.core_hz_source)
    out.push_back({"core clock", clock_text(a.core_hz, a.core_hz_source), clock_text(b.core_hz, b.core_hz_source)});
  if (differ_by_more_than(a.tsc_hz, b.tsc_hz, options.core_hz_tolerance_pct))
    out.push_back({"TSC", clock_text(a.tsc_hz, ""), clock_text(b.tsc_hz, "")});
  add("THP enabled", a.thp_enabled, b.thp_enabled);
  add("THP defrag", a.thp_defrag, b.thp_defrag);
  add("hugetlb 2 MiB pool", fmt::format("{} pages", format_number(a.hugepages_2m_reserved)),
      fmt::format("{} pages", format_number(b.hugepages_2m_reserved)));
  add("hugetlb 1 GiB pool", fmt::format("{} pages", format_number(a.hugepages_1g_reserved)),
      fmt::format("{} pages", format_number(b.hugepages_1g_reserved)));
  if (a.pmu_available != b.pmu_available) {
    const auto pmu = [](const MachineInfo& m) {
      return m.pmu_available ? std::string("available")
                             : "unavailable" + (m.pmu_reason.empty() ? "" : ": " + m.pmu_reason);
    };
    out.push_back({"PMU", pmu(a), pmu(b)});
  }
  add("caches", caches_text(a), caches_text(b));
  add("TLB (CPUID)", tlb_text(a), tlb_text(b));

  // Scalar derived members (e.g. which page policy's curve the cache table
  // used) explain differences in the figures below.
  std::set<std::string> keys;
  for (const Results* r : {&ra, &rb})
    if (r->derived.extra.is_object())
      for (const auto& [key, value] : r->derived.extra.items())
        if (value.is_primitive()) keys.insert(key);
  for (const std::string& key : keys) {
    const auto scalar = [&](const Results& r) -> std::string {
      const auto it = r.derived.extra.find(key);
      if (it == r.derived.extra.end() || it->is_null()) return "none";
      return it->is_string() ? it->get<std::string>() : it->dump();
    };
    add("derived." + key, scalar(ra), scalar(rb));
  }
  return out;
}

std::vector<Difference> unavailable_differences(const Results& a, const Results& b) {
  const auto has = [](const Results& r, const std::string& what) {
    return std::any_of(r.unavailable.begin(), r.unavailable.end(),
                       [&](const UnavailableFigure& u) { return u.what == what; });
  };
  std::vector<Difference> out;
  for (const UnavailableFigure& u : a.unavailable)
    if (!has(b, u.what)) out.push_back({u.what, "unavailable: " + u.reason, "measured"});
  for (const UnavailableFigure& u : b.unavailable)
    if (!has(a, u.what)) out.push_back({u.what, "measured", "unavailable: " + u.reason});
  return out;
}

// ---- derived figures ------------------------------------------------------

FigureComparison numeric_figure(std::string figure, std::string metric, const std::optional<Measured>& a,
                                const std::optional<Measured>& b, double noise_floor_pct) {
  FigureComparison f;
  f.figure = std::move(figure);
  f.metric = std::move(metric);
  if (a) f.a = a->value;
  if (b) f.b = b->value;
  f.ratio = ratio_of(f.a, f.b);
  f.verdict = a && b ? judge(*a, *b, f.metric, noise_floor_pct) : Verdict::kNotComparable;
  return f;
}

FigureComparison one_sided(std::string figure, std::string metric, std::optional<double> value, bool in_a) {
  FigureComparison f;
  f.figure = std::move(figure);
  f.metric = std::move(metric);
  (in_a ? f.a : f.b) = value;
  f.verdict = in_a ? Verdict::kOnlyInA : Verdict::kOnlyInB;
  return f;
}

void compare_cache_levels(const Results& ra, const Results& rb, const CompareOptions& options,
                          std::vector<FigureComparison>& out) {
  const auto find = [](const Results& r, const std::string& level) -> const CacheLevelRow* {
    for (const CacheLevelRow& row : r.derived.cache_levels)
      if (row.level == level) return &row;
    return nullptr;
  };
  // Latency carries its plateau's spread; a detected size is a point on the sweep grid.
  const auto latency = [](const CacheLevelRow& row, const std::optional<double>& value) -> std::optional<Measured> {
    if (!value) return std::nullopt;
    const double half = row.spread_pct ? *row.spread_pct / 200 : 0.0;
    return Measured{*value, *value * (1 - half), *value * (1 + half)};
  };
  // A knee lies on the sweep grid (4 points per octave), so a detected size is
  // known to one grid step either way.
  const auto size = [](const std::optional<double>& value) -> std::optional<Measured> {
    if (!value) return std::nullopt;
    const double grid_step = std::exp2(0.25);
    return Measured{*value, *value / grid_step, *value * grid_step};
  };
  const auto members = [&](const CacheLevelRow& row) {
    return std::array<std::pair<const char*, std::optional<Measured>>, 3>{
        {{"latency_ns", latency(row, row.latency_ns)},
         {"latency_cycles", latency(row, row.latency_cycles)},
         {"detected_bytes", size(row.detected_bytes)}}};
  };

  std::vector<std::string> levels;
  for (const Results* r : {&ra, &rb})
    for (const CacheLevelRow& row : r->derived.cache_levels)
      if (std::find(levels.begin(), levels.end(), row.level) == levels.end()) levels.push_back(row.level);

  for (const std::string& level : levels) {
    const CacheLevelRow* a = find(ra, level);
    const CacheLevelRow* b = find(rb, level);
    const std::string prefix = "cache " + level + " ";
    if (a && b) {
      const auto ma = members(*a), mb = members(*b);
      for (std::size_t i = 0; i < ma.size(); ++i)
        if (ma[i].second || mb[i].second)
          out.push_back(numeric_figure(prefix + ma[i].first, ma[i].first, ma[i].second, mb[i].second,
                                       options.noise_floor_pct));
      continue;
    }
    const CacheLevelRow& only = a ? *a : *b;
    for (const auto& [name, value] : members(only))
      if (value) out.push_back(one_sided(prefix + name, name, value->value, a != nullptr));
  }
}

// A derived row's identity: the key rows are matched by, and its label.
struct RowIdentity {
  std::string key;
  std::string label;
};

std::string parameter_label(const std::string& name, double value) {
  if (ends_with(name, "_bytes")) return format_bytes(value);
  if (name == "threads") return fmt::format("{} thread{}", format_number(value), value == 1 ? "" : "s");
  return fmt::format("{} {}", format_number(value), name);
}

RowIdentity identity_of(const json& row) {
  RowIdentity id;
  for (const auto& [name, value] : row.items()) {
    std::string part;
    if (value.is_string() && !one_of(name, kFreeTextMembers))
      part = value.get<std::string>();
    else if (value.is_number() && one_of(name, kParameterMembers))
      part = parameter_label(name, value.get<double>());
    else
      continue;
    id.key += fmt::format("{}={};", name, value.dump());
    id.label += (id.label.empty() ? "" : " ") + part;
  }
  return id;
}

bool is_compared_number(const std::string& name, const json& value) {
  return value.is_number() && !one_of(name, kParameterMembers) && name.rfind("reported_", 0) != 0;
}

// Rows of one derived table, keyed by identity (a repeated identity gets
// "#2", "#3", ... so nothing is dropped), in their order.
std::vector<std::pair<RowIdentity, const json*>> keyed_rows(const json* table) {
  std::vector<std::pair<RowIdentity, const json*>> rows;
  if (!table || !table->is_array()) return rows;
  std::map<std::string, int> seen;
  for (const json& row : *table) {
    if (!row.is_object()) continue;
    RowIdentity id = identity_of(row);
    if (const int n = ++seen[id.key]; n > 1) {
      id.key += fmt::format("#{}", n);
      id.label += fmt::format(" #{}", n);
    }
    rows.emplace_back(std::move(id), &row);
  }
  return rows;
}

void compare_rows(const std::string& prefix, const json& a, const json& b, const CompareOptions& options,
                  std::vector<FigureComparison>& out) {
  std::set<std::string> names;
  for (const json* row : {&a, &b})
    for (const auto& [name, value] : row->items())
      if (is_compared_number(name, value) || value.is_boolean()) names.insert(name);
  for (const std::string& name : names) {
    const json* x = a.contains(name) ? &a.at(name) : nullptr;
    const json* y = b.contains(name) ? &b.at(name) : nullptr;
    if ((x && x->is_boolean()) || (y && y->is_boolean())) {
      // Categorical: listed only when it differs.
      if (x && y && *x == *y) continue;
      FigureComparison f;
      f.figure = prefix + name;
      f.metric = name;
      f.a_text = x ? x->dump() : "";
      f.b_text = y ? y->dump() : "";
      f.verdict = x && y ? Verdict::kDiffers : Verdict::kNotComparable;
      out.push_back(std::move(f));
      continue;
    }
    const auto measured = [](const json* v) -> std::optional<Measured> {
      if (!v || !v->is_number()) return std::nullopt;
      return point(v->get<double>());
    };
    out.push_back(numeric_figure(prefix + name, name, measured(x), measured(y), options.noise_floor_pct));
  }
}

void compare_derived_tables(const Results& ra, const Results& rb, const CompareOptions& options,
                            std::vector<FigureComparison>& out) {
  const auto table = [](const Results& r, const std::string& key) -> const json* {
    if (!r.derived.extra.is_object()) return nullptr;
    const auto it = r.derived.extra.find(key);
    if (it == r.derived.extra.end() || !it->is_array()) return nullptr;
    if (!std::any_of(it->begin(), it->end(), [](const json& row) { return row.is_object(); })) return nullptr;
    return &*it;
  };
  std::vector<std::string> keys(kDerivedOrder.begin(), kDerivedOrder.end());
  std::set<std::string> others;
  for (const Results* r : {&ra, &rb})
    if (r->derived.extra.is_object())
      for (const auto& [key, value] : r->derived.extra.items())
        if (!one_of(key, kDerivedOrder)) others.insert(key);
  keys.insert(keys.end(), others.begin(), others.end());

  for (const std::string& key : keys) {
    const auto rows_a = keyed_rows(table(ra, key));
    const auto rows_b = keyed_rows(table(rb, key));
    const auto find = [](const auto& rows, const std::string& id) -> const json* {
      for (const auto& [identity, row] : rows)
        if (identity.key == id) return row;
      return nullptr;
    };
    const auto label = [&](const RowIdentity& id) { return key + (id.label.empty() ? "" : " " + id.label) + " "; };
    for (const auto& [id, row] : rows_a) {
      if (const json* other = find(rows_b, id.key)) {
        compare_rows(label(id), *row, *other, options, out);
        continue;
      }
      for (const auto& [name, value] : row->items())
        if (is_compared_number(name, value)) out.push_back(one_sided(label(id) + name, name, value.get<double>(), true));
    }
    for (const auto& [id, row] : rows_b) {
      if (find(rows_a, id.key)) continue;
      for (const auto& [name, value] : row->items())
        if (is_compared_number(name, value)) out.push_back(one_sided(label(id) + name, name, value.get<double>(), false));
    }
  }
}

// ---- cases ----------------------------------------------------------------

// A case's page policy (params.page), or empty.
std::string page_of(const Case& c) {
  const auto it = c.params.find("page");
  return it != c.params.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// The case name with its page-policy segment replaced by `replacement`
// ("latency/4k/1MiB" -> "latency/*/1MiB"); empty if no segment is the page.
std::string replace_page_segment(const std::string& name, const std::string& page, const std::string& replacement) {
  if (page.empty()) return {};
  std::size_t start = 0;
  while (start <= name.size()) {
    const std::size_t end = std::min(name.find('/', start), name.size());
    if (name.compare(start, end - start, page) == 0 && end - start == page.size())
      return name.substr(0, start) + replacement + name.substr(end);
    start = end + 1;
  }
  return {};
}

std::optional<double> case_spread_pct(const Case& c) {
  if (c.spread.repetitions < 2 || c.spread.median <= 0) return std::nullopt;
  return spread_pct(c.spread);
}

// The case's value of `metric` with its interval: the repetitions' [min, max]
// when the spread describes this metric, else a point.
std::optional<Measured> case_measured(const Case& c, const std::string& metric) {
  const auto it = c.metrics.find(metric);
  if (it == c.metrics.end()) return std::nullopt;
  Measured m = point(it->second);
  if (c.spread.repetitions > 0 && metric == headline_metric(c)) {
    m.low = std::min(c.spread.min, m.value);
    m.high = std::max(c.spread.max, m.value);
  }
  return m;
}

CaseComparison compare_case(const Case& a, const Case& b, const CompareOptions& options) {
  CaseComparison c;
  c.name = a.name;
  if (a.name != b.name) {
    c.page_a = page_of(a);
    c.page_b = page_of(b);
    c.name = replace_page_segment(a.name, c.page_a, c.page_a + "→" + c.page_b);
  }
  c.metric = headline_metric(a);
  if (c.metric.empty()) c.metric = headline_metric(b);
  const auto ma = case_measured(a, c.metric);
  const auto mb = case_measured(b, c.metric);
  if (ma) c.a = ma->value;
  if (mb) c.b = mb->value;
  c.spread_a_pct = case_spread_pct(a);
  c.spread_b_pct = case_spread_pct(b);
  c.ratio = ratio_of(c.a, c.b);
  c.verdict = ma && mb ? judge(*ma, *mb, c.metric, options.noise_floor_pct) : Verdict::kNotComparable;
  return c;
}

CaseComparison one_sided_case(const Case& only, bool in_a) {
  CaseComparison c;
  c.name = only.name;
  c.metric = headline_metric(only);
  if (const auto m = case_measured(only, c.metric)) (in_a ? c.a : c.b) = m->value;
  (in_a ? c.spread_a_pct : c.spread_b_pct) = case_spread_pct(only);
  c.verdict = in_a ? Verdict::kOnlyInA : Verdict::kOnlyInB;
  return c;
}

// Two runs of different --pages (4k in A, 2m in B) share no case names. Within
// a family whose unmatched cases use exactly one page policy on each side,
// pair them by the rest of their name, so the huge-page effect gets verdicts.
void pair_across_page_policies(const Results& a, const Results& b, std::vector<std::optional<std::size_t>>& partner,
                               std::vector<bool>& b_matched) {
  std::map<std::string, std::set<std::string>> pages_a, pages_b;  // family -> pages of unmatched cases
  for (std::size_t i = 0; i < a.cases.size(); ++i)
    if (!partner[i]) pages_a[a.cases[i].family].insert(page_of(a.cases[i]));
  for (std::size_t j = 0; j < b.cases.size(); ++j)
    if (!b_matched[j]) pages_b[b.cases[j].family].insert(page_of(b.cases[j]));
  for (const auto& [family, pa] : pages_a) {
    const auto pb = pages_b.find(family);
    if (pa.size() != 1 || pb == pages_b.end() || pb->second.size() != 1) continue;
    const std::string& page_a = *pa.begin();
    const std::string& page_b = *pb->second.begin();
    if (page_a.empty() || page_b.empty() || page_a == page_b) continue;
    std::map<std::string, std::size_t> b_by_key;
    for (std::size_t j = 0; j < b.cases.size(); ++j)
      if (!b_matched[j] && b.cases[j].family == family)
        if (const std::string key = replace_page_segment(b.cases[j].name, page_b, "*"); !key.empty())
          b_by_key.emplace(key, j);
    for (std::size_t i = 0; i < a.cases.size(); ++i) {
      if (partner[i] || a.cases[i].family != family) continue;
      const std::string key = replace_page_segment(a.cases[i].name, page_a, "*");
      const auto it = key.empty() ? b_by_key.end() : b_by_key.find(key);
      if (it == b_by_key.end() || b_matched[it->second]) continue;
      partner[i] = it->second;
      b_matched[it->second] = true;
    }
  }
}

std::string run_text(const Results& r) {
  std::string text = r.started_at.empty() ? "unknown time" : r.started_at;
  if (!r.command.empty()) text += "  " + r.command;
  return text;
}

std::string csv_field(const std::string& text) {
  if (text.find_first_of(",\"\n") == std::string::npos) return text;
  std::string quoted = "\"";
  for (char ch : text) {
    if (ch == '"') quoted += '"';
    quoted += ch;
  }
  return quoted + "\"";
}

std::string csv_number(const std::optional<double>& value) { return value ? fmt::format("{}", *value) : ""; }

}  // namespace

std::string_view verdict_name(Verdict verdict) {
  switch (verdict) {
    case Verdict::kWithinNoise: return "within noise";
    case Verdict::kFaster: return "faster";
    case Verdict::kSlower: return "slower";
    case Verdict::kLarger: return "larger";
    case Verdict::kSmaller: return "smaller";
    case Verdict::kDiffers: return "differs";
    case Verdict::kOnlyInA: return "only in A";
    case Verdict::kOnlyInB: return "only in B";
    case Verdict::kNotComparable: return "n/a";
  }
  return "n/a";
}

Direction metric_direction(std::string_view metric) {
  const auto parts = name_parts(metric);
  if (std::find(parts.begin(), parts.end(), "speedup") != parts.end() || metric.rfind("speedup", 0) == 0 ||
      ends_with(metric, "per_s") || parts.back() == "gbps")
    return Direction::kHigherIsBetter;
  if (is_time_unit(parts.front()) || is_time_unit(parts.back())) return Direction::kLowerIsBetter;
  return Direction::kNeutral;
}

Verdict judge(const Measured& a, const Measured& b, std::string_view metric, double noise_floor_pct) {
  const bool overlap = a.low <= b.high && b.low <= a.high;
  if (a.value == b.value || overlap) return Verdict::kWithinNoise;
  if (a.value <= 0 || b.value < 0) return Verdict::kNotComparable;  // no meaningful ratio
  const double ratio = b.value / a.value;
  if (std::fabs(ratio - 1) * 100 < noise_floor_pct) return Verdict::kWithinNoise;
  switch (metric_direction(metric)) {
    case Direction::kLowerIsBetter: return ratio > 1 ? Verdict::kSlower : Verdict::kFaster;
    case Direction::kHigherIsBetter: return ratio > 1 ? Verdict::kFaster : Verdict::kSlower;
    case Direction::kNeutral: break;
  }
  return ratio > 1 ? Verdict::kLarger : Verdict::kSmaller;
}

Comparison compare_results(const Results& a, const Results& b, const CompareOptions& options) {
  Comparison out;
  out.options = options;
  out.run_a = run_text(a);
  out.run_b = run_text(b);
  out.machine = machine_differences(a, b, options);
  out.unavailable = unavailable_differences(a, b);
  compare_cache_levels(a, b, options, out.figures);
  compare_derived_tables(a, b, options, out.figures);

  // Exact matches by name first.
  std::map<std::string, std::size_t> b_by_name;
  for (std::size_t i = 0; i < b.cases.size(); ++i) b_by_name.emplace(b.cases[i].name, i);
  std::vector<std::optional<std::size_t>> partner(a.cases.size());
  std::vector<bool> b_matched(b.cases.size(), false);
  for (std::size_t i = 0; i < a.cases.size(); ++i) {
    const auto it = b_by_name.find(a.cases[i].name);
    if (it == b_by_name.end() || b_matched[it->second]) continue;
    partner[i] = it->second;
    b_matched[it->second] = true;
  }
  pair_across_page_policies(a, b, partner, b_matched);

  for (std::size_t i = 0; i < a.cases.size(); ++i)
    out.cases.push_back(partner[i] ? compare_case(a.cases[i], b.cases[*partner[i]], options)
                                   : one_sided_case(a.cases[i], true));
  for (std::size_t j = 0; j < b.cases.size(); ++j)
    if (!b_matched[j]) out.cases.push_back(one_sided_case(b.cases[j], false));
  return out;
}

std::string render_comparison(const Comparison& comparison) {
  std::string out = fmt::format("A  {}\nB  {}\n\n", comparison.run_a, comparison.run_b);

  if (comparison.machine.empty()) {
    out += "machine and settings: no differences\n";
  } else {
    out += "machine and settings differences:\n";
    std::vector<std::vector<std::string>> rows;
    for (const Difference& d : comparison.machine) rows.push_back({d.what, d.a, d.b});
    out += render_table({{"what", false}, {"A", false}, {"B", false}}, rows);
  }
  if (!comparison.unavailable.empty()) {
    out += "\nmeasured on one side only:\n";
    std::vector<std::vector<std::string>> rows;
    for (const Difference& d : comparison.unavailable) rows.push_back({d.what, d.a, d.b});
    out += render_table({{"figure", false}, {"A", false}, {"B", false}}, rows);
  }

  const double floor_pct = comparison.options.noise_floor_pct;
  out += "\nderived figures:\n";
  if (comparison.figures.empty()) {
    out += "none in either file\n";
  } else {
    std::vector<std::vector<std::string>> rows;
    for (const FigureComparison& f : comparison.figures) {
      const auto cell = [&](const std::optional<double>& v, const std::string& text) {
        if (!text.empty()) return text;
        return v ? format_value(f.metric, *v) : std::string(kMissing);
      };
      rows.push_back({f.figure, cell(f.a, f.a_text), cell(f.b, f.b_text), format_ratio(f.ratio),
                      std::string(verdict_name(f.verdict))});
    }
    out += render_table({{"figure", false}, {"A"}, {"B"}, {"B/A"}, {"verdict", false}}, rows);
  }

  out += "\ncases (headline metric, median of the repetitions):\n";
  std::vector<std::vector<std::string>> rows;
  std::size_t within_noise = 0;
  for (const CaseComparison& c : comparison.cases) {
    if (c.verdict == Verdict::kWithinNoise) {
      ++within_noise;
      if (!comparison.options.all_cases) continue;
    }
    const auto cell = [&](const std::optional<double>& v) {
      return v ? format_value(c.metric, *v) : std::string(kMissing);
    };
    rows.push_back({c.name, c.metric.empty() ? std::string(kMissing) : c.metric, cell(c.a), cell(c.b),
                    format_ratio(c.ratio), format_pct(c.spread_a_pct), format_pct(c.spread_b_pct),
                    std::string(verdict_name(c.verdict))});
  }
  if (comparison.cases.empty()) {
    out += "none in either file\n";
  } else {
    if (!rows.empty())
      out += render_table({{"case", false}, {"metric", false}, {"A"}, {"B"}, {"B/A"}, {"A spread"}, {"B spread"},
                           {"verdict", false}},
                          rows);
    if (!comparison.options.all_cases)
      out += fmt::format("{} of {} cases within noise{}\n", within_noise, comparison.cases.size(),
                         within_noise > 0 ? " (not listed; --all lists every case)" : "");
  }
  out += fmt::format(
      "\nverdict: within noise if the sides' ranges overlap (cases: min..max of the repetitions; cache latency: "
      "± spread/2) or |B/A - 1| < {} %; otherwise faster/slower by the metric (time: lower is better; GB/s, "
      "speed-up: higher), larger/smaller for sizes and counts\n",
      format_number(floor_pct));
  return out;
}

std::string render_comparison_csv(const Comparison& comparison) {
  std::string out = "section,name,metric,a,b,ratio,verdict\n";
  for (const Difference& d : comparison.machine)
    out += fmt::format("machine,{},,{},{},,differs\n", csv_field(d.what), csv_field(d.a), csv_field(d.b));
  for (const FigureComparison& f : comparison.figures)
    out += fmt::format("figure,{},{},{},{},{},{}\n", csv_field(f.figure), csv_field(f.metric),
                       f.a_text.empty() ? csv_number(f.a) : csv_field(f.a_text),
                       f.b_text.empty() ? csv_number(f.b) : csv_field(f.b_text), csv_number(f.ratio),
                       verdict_name(f.verdict));
  for (const CaseComparison& c : comparison.cases)
    out += fmt::format("case,{},{},{},{},{},{}\n", csv_field(c.name), csv_field(c.metric), csv_number(c.a),
                       csv_number(c.b), csv_number(c.ratio), verdict_name(c.verdict));
  return out;
}

}  // namespace memprobe::analysis
