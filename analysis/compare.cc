#include "analysis/compare.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <map>
#include <set>
#include <stdexcept>

#include "analysis/compare_detail.h"
#include "analysis/family.h"
#include "analysis/table_format.h"

namespace memprobe::analysis {
namespace {

using nlohmann::json;
using namespace compare_detail;

// Members of a derived row that describe rather than identify it: they may
// differ between two runs of the same figure, so they neither match rows nor
// get compared.
constexpr std::array<std::string_view, 9> kFreeTextMembers = {"note",   "notes",        "reason",  "comment", "status",
                                                               "how_verified", "message", "evidence", "verdict"};

// Numeric members that say which figure a row is (its parameters), not what
// was measured.
constexpr std::array<std::string_view, 14> kParameterMembers = {
    "working_set_bytes", "footprint_bytes", "size_bytes", "page_bytes", "stride_bytes", "threads",      "pages",
    "level",             "ways",            "cpu_node",   "mem_node",   "a_cpu",        "b_cpu", "stride_pages"};

// The family whose cases a derived table summarises (its noise), if any.
std::optional<std::string> family_of_noisy_table(std::string_view table) {
  const DerivedTable* description = nullptr;
  const FamilyDescriptor* family = family_of_table(table, &description);
  if (!family || !description->noise_from_cases) return std::nullopt;
  return family->name;
}

// Whether compare matches a derived table row by row (FamilyDescriptor::compared).
bool compared_table(std::string_view table) {
  const DerivedTable* description = nullptr;
  const FamilyDescriptor* family = family_of_table(table, &description);
  return !family || family->compared;
}

// A side's cases without those of families compare does not match.
std::vector<Case> compared_cases(std::vector<Case> cases) {
  std::erase_if(cases, [](const Case& c) {
    const FamilyDescriptor* family = find_family(c.family);
    return family && !family->compared;
  });
  return cases;
}

// How far a cache level moved within the run, %, by the families that
// measure the run's noise (FamilyDescriptor::level_noise_pct); the largest.
std::optional<double> level_noise_pct(const Results& r, const std::string& level) {
  std::optional<double> largest;
  for (const FamilyDescriptor* family : families_in_run_order())
    if (family->level_noise_pct)
      if (const auto pct = family->level_noise_pct(r, level); pct && (!largest || *pct > *largest)) largest = pct;
  return largest;
}

// How a cache level's knee moved within the run, by the families that
// re-check knees (FamilyDescriptor::level_knee_moved); the first that says.
std::optional<std::string> level_knee_moved(const Results& r, const std::string& level) {
  for (const FamilyDescriptor* family : families_in_run_order())
    if (family->level_knee_moved)
      if (auto how = family->level_knee_moved(r, level)) return how;
  return std::nullopt;
}

// A derived table's compare rank (FamilyDescriptor::tables); unknown tables by name.
int compare_rank(std::string_view table) {
  const DerivedTable* description = nullptr;
  return family_of_table(table, &description) ? description->compare_rank : kCompareByName;
}

template <std::size_t N>
bool one_of(std::string_view name, const std::array<std::string_view, N>& names) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

bool ends_with(std::string_view text, std::string_view suffix) {
  return text.size() >= suffix.size() && text.substr(text.size() - suffix.size()) == suffix;
}

std::optional<double> ratio_of(const std::optional<double>& a, const std::optional<double>& b) {
  if (!a || !b || *a <= 0 || *b < 0) return std::nullopt;
  return *b / *a;
}


// ---- machine and settings ------------------------------------------------

std::string caches_text(const MachineInfo& m) {
  std::string text;
  for (const CacheInfo& c : caches_by_level(m.caches))
    text += fmt::format("{}{} {}", text.empty() ? "" : ", ", cache_label(c), format_bytes(c.size_bytes));
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

// The access pattern a case's chain used (params.tlb_method: "page-groups-32",
// "huge-pages"); empty where the family records none.
std::string case_method(const Case& c) { return param_string(c, "tlb_method"); }

// The access pattern each family's chains used, per page policy: curves
// measured two ways differ by method, not by the machine.
void method_differences(const Results& ra, const Results& rb, std::vector<Difference>& out) {
  std::map<std::string, std::pair<std::set<std::string>, std::set<std::string>>> methods;
  for (const auto& [results, is_a] : {std::pair{&ra, true}, std::pair{&rb, false}})
    for (const Case& c : results->cases)
      if (const std::string m = case_method(c); !m.empty())
        (is_a ? methods[c.family + " " + page_of(c)].first : methods[c.family + " " + page_of(c)].second).insert(m);
  for (const auto& [what, sides] : methods) {
    const auto joined = [](const std::set<std::string>& s) {
      std::string out;
      for (const std::string& m : s) out += (out.empty() ? "" : ", ") + m;
      return out;
    };
    if (!sides.first.empty() && !sides.second.empty() && sides.first != sides.second)
      out.push_back({what + " chain pattern", joined(sides.first), joined(sides.second)});
  }
}

// Scalar derived members (e.g. which page policy's curve the cache table
// used) explain differences in the figures below.
void scalar_derived_differences(const Results& ra, const Results& rb, std::vector<Difference>& out) {
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
    const std::string a = scalar(ra), b = scalar(rb);
    if (a != b) out.push_back({"derived." + key, a.empty() ? "unknown" : a, b.empty() ? "unknown" : b});
  }
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
  add("host", a.host, b.host);
  add("memory", a.memory_bytes ? format_bytes(*a.memory_bytes) : "", b.memory_bytes ? format_bytes(*b.memory_bytes) : "");
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
  method_differences(ra, rb, out);
  scalar_derived_differences(ra, rb, out);
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

// One derived figure of one run, or of a side's runs merged.
struct FigureValue {
  std::string table;               // "cache", "tlb", ...
  std::string row;                 // the row's identity within its table ("cache L1", "tlb level=...;")
  std::string key;                 // row + member: what the figure is matched by
  std::string label;               // "cache L1 latency_ns"
  std::string metric;              // the member
  std::optional<Measured> value;   // numeric members; nullopt where the row lacks a value
  std::string text;                // boolean members: "true" / "false"
};

bool is_detected_size(std::string_view member) {
  return member.rfind("detected_", 0) == 0 || member == "reach_bytes";
}

// A derived row's identity: the key rows are matched by, and its label.
struct RowIdentity {
  std::string key;
  std::string label;
};

std::string parameter_label(const std::string& name, double value) {
  if (ends_with(name, "_bytes")) return format_bytes(value);
  if (ends_with(name, "_cpu")) return fmt::format("cpu {}", format_number(value));
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

// The sweep grid a detected size of derived table `table` lies on
// (DerivedTable::size_sweep_parameter), over its family's cases of `page`
// (all of them when `page` is empty); empty without one.
std::vector<double> size_sweep_grid(const Results& r, std::string_view table, const std::string& page) {
  const DerivedTable* description = nullptr;
  const FamilyDescriptor* owner = family_of_table(table, &description);
  if (!owner || description->size_sweep_parameter.empty()) return {};
  const char* parameter = description->size_sweep_parameter.c_str();
  return page.empty() ? sweep_grid(r, owner->name, parameter) : sweep_grid(r, owner->name, parameter, "page", page);
}

void flatten_cache_levels(const Results& r, std::vector<FigureValue>& out) {
  const std::vector<double> grid = size_sweep_grid(r, "cache", "");
  for (const CacheLevelRow& row : r.derived.cache_levels) {
    // Latency carries its plateau's spread, or how far the level moved within
    // the run (drift) where that is more: one run's spread misses what the
    // machine does between runs, its drift shows some of it. A detected size
    // is a point on the sweep grid.
    const double noise_pct = std::max(row.spread_pct.value_or(0), level_noise_pct(r, row.level).value_or(0));
    const auto latency = [&](const std::optional<double>& value) -> std::optional<Measured> {
      if (!value) return std::nullopt;
      return spread_interval(*value, noise_pct);
    };
    std::optional<Measured> size;
    if (row.detected_bytes) size = grid_point(*row.detected_bytes, grid_step_at(grid, *row.detected_bytes));
    const std::string id = "cache " + row.level;
    for (auto& [member, value] : std::array<std::pair<const char*, std::optional<Measured>>, 3>{
             {{"latency_ns", latency(row.latency_ns)},
              {"latency_cycles", latency(row.latency_cycles)},
              {"detected_bytes", size}}})
      out.push_back({"cache", id, id + " " + member, id + " " + member, member, value, ""});
  }
}

// Rows of one derived table in their order, keyed by identity (a repeated
// identity gets "#2", "#3", ... so nothing is dropped).
void flatten_table(const Results& r, const std::string& table, const json& rows, std::vector<FigureValue>& out) {
  std::map<std::string, int> seen;
  for (const json& row : rows) {
    if (!row.is_object()) continue;
    RowIdentity id = identity_of(row);
    if (const int n = ++seen[id.key]; n > 1) {
      id.key += fmt::format("#{}", n);
      id.label += fmt::format(" #{}", n);
    }
    const std::string label = table + (id.label.empty() ? "" : " " + id.label) + " ";
    const std::string row_key = table + " " + id.key;
    // A detected size lies on its family's sweep of its page policy.
    const std::vector<double> grid = size_sweep_grid(r, table, json_string(row, "page"));
    const double page_bytes = json_number(row, "page_bytes").value_or(1);
    const auto family = family_of_noisy_table(table);
    const auto noise_pct = family ? family_spread_pct(r, *family, json_string(row, "page")) : std::nullopt;
    for (const auto& [name, value] : row.items()) {
      FigureValue f{table, row_key, row_key + "." + name, label + name, name, std::nullopt, ""};
      if (value.is_boolean()) {
        f.text = value.dump();
      } else if (is_compared_number(name, value)) {
        const double v = value.get<double>();
        f.value = noise_pct && metric_direction(name) != Direction::kNeutral ? spread_interval(v, *noise_pct) : point(v);
        if (is_detected_size(name)) {
          const double entries = name == "reach_bytes" && page_bytes > 0 ? v / page_bytes : v;
          f.value = grid_point(v, grid_step_at(grid, entries));
        }
      } else if (!(value.is_null() && !one_of(name, kFreeTextMembers))) {
        continue;  // identity and free text; a null stays as a row member without a value
      }
      out.push_back(std::move(f));
    }
  }
}

// Every derived figure of a run: cache levels, then the tables of
// derived.extra by their families' compare rank (then by name).
std::vector<FigureValue> flatten_figures(const Results& r) {
  std::vector<FigureValue> out;
  flatten_cache_levels(r, out);
  if (!r.derived.extra.is_object()) return out;
  std::vector<std::string> keys;
  for (const auto& [key, value] : r.derived.extra.items())
    if (value.is_array() && compared_table(key)) keys.push_back(key);
  std::stable_sort(keys.begin(), keys.end(), [](const std::string& a, const std::string& b) {
    return std::make_pair(compare_rank(a), a) < std::make_pair(compare_rank(b), b);
  });
  for (const std::string& key : keys) flatten_table(r, key, r.derived.extra.at(key), out);
  return out;
}

// A side's figures: each figure's runs merged (median value, hull of the
// intervals; a boolean that differs between runs reads "true/false"), in the
// order of first appearance.
std::vector<FigureValue> merge_figures(std::span<const Results> runs) {
  std::vector<FigureValue> merged;
  std::map<std::string, std::size_t> index;
  std::vector<std::vector<Measured>> values;
  for (const Results& run : runs) {
    for (FigureValue& f : flatten_figures(run)) {
      auto [it, added] = index.emplace(f.key, merged.size());
      if (added) {
        merged.push_back(f);
        values.emplace_back();
      } else if (!f.text.empty() && merged[it->second].text.find(f.text) == std::string::npos) {
        FigureValue& m = merged[it->second];
        m.text = m.text.empty() ? f.text : m.text + "/" + f.text;
      }
      if (f.value) values[it->second].push_back(*f.value);
    }
  }
  for (std::size_t i = 0; i < merged.size(); ++i) {
    if (values[i].empty()) continue;
    std::vector<double> centre;
    Measured m = values[i].front();
    for (const Measured& v : values[i]) {
      centre.push_back(v.value);
      m.low = std::min(m.low, v.low);
      m.high = std::max(m.high, v.high);
    }
    m.value = median_of(centre);
    merged[i].value = m;
  }
  return merged;
}

// Pairs two sides' figures: per table (in first appearance), A's figures in
// order, then B's that A lacks.
// What pairing the figures of two sides needs to know besides the figures.
struct FigureSides {
  std::set<std::string> rows_a, rows_b;
  const SideSummary& side_a;
  const SideSummary& side_b;
  const CompareOptions& options;

  // A value one side lacks although it has the row: hidden when that side
  // was interrupted (its row is there, empty), else not comparable.
  Verdict missing_on_one_side(bool a_has_value) const {
    if (a_has_value) return side_b.interrupted > 0 ? Verdict::kHiddenInB : Verdict::kNotComparable;
    return side_a.interrupted > 0 ? Verdict::kHiddenInA : Verdict::kNotComparable;
  }
};

// The comparison of a figure of A (x) with B's (y), either may be missing;
// nullopt where nothing is listed (a categorical figure that agrees, a value
// null on both sides, text or null on one side only).
std::optional<FigureComparison> compare_figure(const FigureValue* x, const FigureValue* y, const FigureSides& sides) {
  const FigureValue& f = x ? *x : *y;
  FigureComparison c;
  c.table = f.table;
  c.figure = f.label;
  c.metric = f.metric;
  const bool textual = (x && !x->text.empty()) || (y && !y->text.empty());
  if (x && y) {
    if (textual) {
      if (x->text == y->text) return std::nullopt;  // categorical: listed only when it differs
      c.a_text = x->text;
      c.b_text = y->text;
      c.verdict = Verdict::kDiffers;
      return c;
    }
    if (!x->value && !y->value) return std::nullopt;  // null on both sides
    if (x->value) c.a = x->value->value;
    if (y->value) c.b = y->value->value;
    c.ratio = ratio_of(c.a, c.b);
    c.verdict = x->value && y->value ? judge(*x->value, *y->value, c.metric, sides.options.noise_floor_pct)
                                     : sides.missing_on_one_side(x->value.has_value());
    return c;
  }
  if (textual || !f.value) return std::nullopt;
  const bool in_a = x != nullptr;
  (in_a ? c.a : c.b) = f.value->value;
  if ((in_a ? sides.rows_b : sides.rows_a).count(f.row)) {  // the other side has the row, not this value
    c.verdict = sides.missing_on_one_side(in_a);
    return c;
  }
  const bool hidden = (in_a ? sides.side_b : sides.side_a).interrupted > 0;
  c.verdict = in_a ? (hidden ? Verdict::kHiddenInB : Verdict::kOnlyInA) : (hidden ? Verdict::kHiddenInA : Verdict::kOnlyInB);
  return c;
}

// A TLB-like row whose knee moved beyond a grid step measured its cost at
// another step: its other figures are not comparable.
void mark_moved_knees(std::vector<FigureComparison>& out, const std::vector<std::string>& row_of) {
  std::set<std::string> moved_rows;
  for (std::size_t i = 0; i < out.size(); ++i)
    if (out[i].table != "cache" && is_detected_size(out[i].metric) &&
        (out[i].verdict == Verdict::kLarger || out[i].verdict == Verdict::kSmaller))
      moved_rows.insert(row_of[i]);
  for (std::size_t i = 0; i < out.size(); ++i)
    if (moved_rows.count(row_of[i]) && !is_detected_size(out[i].metric) && out[i].a && out[i].b) {
      out[i].verdict = Verdict::kNotComparable;
      out[i].note = "the knee moved";
    }
}

// A cache level's detected size whose knee moved within a run of either
// side: the two sizes differ by the run's own movement, not as a verdict.
void mark_knees_moved_within_runs(std::vector<FigureComparison>& out, const std::vector<std::string>& row_of,
                                  const SideSummary& side_a, const SideSummary& side_b) {
  for (std::size_t i = 0; i < out.size(); ++i) {
    FigureComparison& f = out[i];
    if (f.table != "cache" || f.metric != "detected_bytes") continue;
    if (f.verdict != Verdict::kLarger && f.verdict != Verdict::kSmaller) continue;
    std::string sides;
    for (const auto& [name, side] : {std::pair{"A", &side_a}, std::pair{"B", &side_b}})
      for (const auto& [level, how] : side->knee_moved)
        if (row_of[i] == "cache " + level) sides += sides.empty() ? name : std::string(" and ") + name;
    if (sides.empty()) continue;
    f.verdict = Verdict::kWithinNoise;
    f.note = fmt::format("knee moved within run {}", sides);
  }
}

std::vector<FigureComparison> pair_figures(const std::vector<FigureValue>& fa, const std::vector<FigureValue>& fb,
                                           const SideSummary& side_a, const SideSummary& side_b,
                                           const CompareOptions& options) {
  std::map<std::string, const FigureValue*> by_key_a, by_key_b;
  FigureSides sides{{}, {}, side_a, side_b, options};
  std::vector<std::string> tables;
  for (const auto* side : {&fa, &fb})
    for (const FigureValue& f : *side)
      if (std::find(tables.begin(), tables.end(), f.table) == tables.end()) tables.push_back(f.table);
  for (const FigureValue& f : fa) by_key_a.emplace(f.key, &f), sides.rows_a.insert(f.row);
  for (const FigureValue& f : fb) by_key_b.emplace(f.key, &f), sides.rows_b.insert(f.row);

  std::vector<FigureComparison> out;
  std::vector<std::string> row_of;  // out[i]'s row
  const auto compare_and_note_row = [&](const FigureValue* x, const FigureValue* y) {
    if (std::optional<FigureComparison> c = compare_figure(x, y, sides)) {
      out.push_back(std::move(*c));
      row_of.push_back((x ? x : y)->row);
    }
  };
  for (const std::string& table : tables) {
    for (const FigureValue& f : fa) {
      if (f.table != table) continue;
      const auto it = by_key_b.find(f.key);
      compare_and_note_row(&f, it == by_key_b.end() ? nullptr : it->second);
    }
    for (const FigureValue& f : fb)
      if (f.table == table && !by_key_a.count(f.key)) compare_and_note_row(nullptr, &f);
  }
  mark_moved_knees(out, row_of);
  mark_knees_moved_within_runs(out, row_of, side_a, side_b);
  return out;
}

// ---- cases ----------------------------------------------------------------


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

CaseComparison compare_case(const Case& a, const Case& b, const CompareOptions& options) {
  CaseComparison c;
  c.family = a.family;
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
  // Two access patterns measure two things: no verdict between them.
  const std::string method_a = case_method(a), method_b = case_method(b);
  if (method_a != method_b) {
    c.verdict = Verdict::kNotComparable;
    c.note = fmt::format("method differs: {} vs {}", method_a.empty() ? "unrecorded" : method_a,
                         method_b.empty() ? "unrecorded" : method_b);
  }
  return c;
}

// `hidden`: the other side was interrupted, which is why it lacks the case.
CaseComparison one_sided_case(const Case& only, bool in_a, bool hidden) {
  CaseComparison c;
  c.family = only.family;
  c.name = only.name;
  c.metric = headline_metric(only);
  if (const auto m = case_measured(only, c.metric)) (in_a ? c.a : c.b) = m->value;
  (in_a ? c.spread_a_pct : c.spread_b_pct) = case_spread_pct(only);
  c.verdict = in_a ? (hidden ? Verdict::kHiddenInB : Verdict::kOnlyInA)
                   : (hidden ? Verdict::kHiddenInA : Verdict::kOnlyInB);
  return c;
}

// A side's cases, each merged over the runs that have it (in first-appearance
// order): every metric the median of its runs, the spread the hull of the
// runs' values and repetitions. One run: its cases as they are.
std::vector<Case> merge_cases(std::span<const Results> runs) {
  if (runs.size() == 1) return runs.front().cases;
  std::vector<Case> merged;
  std::vector<std::vector<const Case*>> instances;
  std::map<std::string, std::size_t> index;
  for (const Results& run : runs)
    for (const Case& c : run.cases) {
      const auto [it, added] = index.emplace(c.name, merged.size());
      if (added) {
        merged.push_back(c);
        instances.emplace_back();
      }
      instances[it->second].push_back(&c);
    }
  for (std::size_t i = 0; i < merged.size(); ++i) {
    Case& m = merged[i];
    std::map<std::string, std::vector<double>> metric_values;
    for (const Case* c : instances[i])
      for (const auto& [name, value] : c->metrics) metric_values[name].push_back(value);
    for (auto& [name, values] : metric_values) m.metrics[name] = median_of(values);
    const std::string headline = headline_metric(m);
    if (headline.empty()) continue;
    Spread s;
    s.median = m.metrics[headline];
    s.min = s.max = s.median;
    for (const Case* c : instances[i]) {
      const auto value = metric(*c, headline.c_str());
      if (value) s.min = std::min(s.min, *value), s.max = std::max(s.max, *value);
      if (c->spread.repetitions > 0 && headline_metric(*c) == headline) {
        const auto [low, high] = outlier_free_range(c->spread);
        s.min = std::min(s.min, low), s.max = std::max(s.max, high);
        s.outliers += c->spread.outliers;
      }
      s.repetitions += std::max(c->spread.repetitions, 1);
    }
    s.noisy = spread_pct(s) > kNoisySpreadPct;
    m.spread = s;
  }
  return merged;
}

// Two runs of different --pages (4k in A, 2m in B) share no case names. Within
// a family whose unmatched cases use exactly one page policy on each side,
// pair them by the rest of their name, so the huge-page effect gets verdicts.
void pair_across_page_policies(const std::vector<Case>& a, const std::vector<Case>& b,
                               std::vector<std::optional<std::size_t>>& partner, std::vector<bool>& b_matched) {
  std::map<std::string, std::set<std::string>> pages_a, pages_b;  // family -> pages of unmatched cases
  for (std::size_t i = 0; i < a.size(); ++i)
    if (!partner[i]) pages_a[a[i].family].insert(page_of(a[i]));
  for (std::size_t j = 0; j < b.size(); ++j)
    if (!b_matched[j]) pages_b[b[j].family].insert(page_of(b[j]));
  for (const auto& [family, pa] : pages_a) {
    const auto pb = pages_b.find(family);
    if (pa.size() != 1 || pb == pages_b.end() || pb->second.size() != 1) continue;
    const std::string& page_a = *pa.begin();
    const std::string& page_b = *pb->second.begin();
    if (page_a.empty() || page_b.empty() || page_a == page_b) continue;
    std::map<std::string, std::size_t> b_by_key;
    for (std::size_t j = 0; j < b.size(); ++j)
      if (!b_matched[j] && b[j].family == family)
        if (const std::string key = replace_page_segment(b[j].name, page_b, "*"); !key.empty())
          b_by_key.emplace(key, j);
    for (std::size_t i = 0; i < a.size(); ++i) {
      if (partner[i] || a[i].family != family) continue;
      const std::string key = replace_page_segment(a[i].name, page_a, "*");
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

}  // namespace

std::string derived_table_of_family(std::string_view family) {
  const FamilyDescriptor* f = find_family(family);
  return f && !f->tables.empty() ? f->tables.front().key : std::string();
}

Comparison compare_results(const Results& a, const Results& b, const CompareOptions& options) {
  return compare_runs(std::span<const Results>(&a, 1), std::span<const Results>(&b, 1), options);
}

Comparison compare_runs(std::span<const Results> a, std::span<const Results> b, const CompareOptions& options) {
  if (a.empty() || b.empty()) throw std::invalid_argument("compare_runs: each side needs at least one run");
  Comparison out;
  out.options = options;
  const auto summarise = [](std::span<const Results> runs, std::string& text, SideSummary& side) {
    side.runs = runs.size();
    for (const Results& r : runs) {
      text += (text.empty() ? "" : "\n   ") + run_text(r);
      if (r.interrupted) ++side.interrupted;
      for (const CacheLevelRow& level : r.derived.cache_levels) {
        const auto drift = level_noise_pct(r, level.level);
        if (!drift) continue;
        auto known = std::find_if(side.drift_pct.begin(), side.drift_pct.end(),
                                  [&](const auto& d) { return d.first == level.level; });
        if (known == side.drift_pct.end())
          side.drift_pct.emplace_back(level.level, *drift);
        else
          known->second = std::max(known->second, *drift);
      }
      for (const CacheLevelRow& level : r.derived.cache_levels) {
        const auto how = level_knee_moved(r, level.level);
        if (how && std::none_of(side.knee_moved.begin(), side.knee_moved.end(),
                                [&](const auto& k) { return k.first == level.level; }))
          side.knee_moved.emplace_back(level.level, *how);
      }
    }
  };
  summarise(a, out.run_a, out.side_a);
  summarise(b, out.run_b, out.side_b);
  out.machine = machine_differences(a.front(), b.front(), options);
  out.unavailable = unavailable_differences(a.front(), b.front());
  out.figures = pair_figures(merge_figures(a), merge_figures(b), out.side_a, out.side_b, options);

  const std::vector<Case> cases_a = compared_cases(merge_cases(a));
  const std::vector<Case> cases_b = compared_cases(merge_cases(b));
  // Exact matches by name first.
  std::map<std::string, std::size_t> b_by_name;
  for (std::size_t i = 0; i < cases_b.size(); ++i) b_by_name.emplace(cases_b[i].name, i);
  std::vector<std::optional<std::size_t>> partner(cases_a.size());
  std::vector<bool> b_matched(cases_b.size(), false);
  for (std::size_t i = 0; i < cases_a.size(); ++i) {
    const auto it = b_by_name.find(cases_a[i].name);
    if (it == b_by_name.end() || b_matched[it->second]) continue;
    partner[i] = it->second;
    b_matched[it->second] = true;
  }
  pair_across_page_policies(cases_a, cases_b, partner, b_matched);

  for (std::size_t i = 0; i < cases_a.size(); ++i)
    out.cases.push_back(partner[i] ? compare_case(cases_a[i], cases_b[*partner[i]], options)
                                   : one_sided_case(cases_a[i], true, out.side_b.interrupted > 0));
  for (std::size_t j = 0; j < cases_b.size(); ++j)
    if (!b_matched[j]) out.cases.push_back(one_sided_case(cases_b[j], false, out.side_a.interrupted > 0));
  return out;
}

}  // namespace memprobe::analysis
