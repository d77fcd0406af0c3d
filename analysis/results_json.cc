#include "analysis/results_json.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <set>
#include <string_view>
#include <system_error>

#include "analysis/family.h"
#include "analysis/metric_names.h"
#include "analysis/table_format.h"

namespace memprobe::analysis {
namespace {

using nlohmann::json;

// Integral values (sizes, counts) are written as JSON integers so the file
// reads "32768", not "32768.0"; everything else as a double. Non-finite values
// become null (JSON has no NaN).
json number(double value) {
  if (!std::isfinite(value)) return nullptr;
  if (value == std::floor(value) && std::fabs(value) < 9007199254740992.0)  // 2^53
    return static_cast<std::int64_t>(value);
  return value;
}

json optional_number(const std::optional<double>& value) { return value ? number(*value) : json(nullptr); }

json number_map(const std::map<std::string, double>& values) {
  json out = json::object();
  for (const auto& [key, value] : values) out[key] = number(value);
  return out;
}

// A JSON pointer (RFC 6901) one level down: "/cases/12" + "params".
std::string pointer_to(const std::string& parent, std::string_view key) {
  std::string out = parent + "/";
  for (char c : key) {
    if (c == '~') out += "~0";
    else if (c == '/') out += "~1";
    else out += c;
  }
  return out;
}

[[noreturn]] void fail(const std::string& pointer, std::string_view problem) {
  throw ResultsError(fmt::format("{}: {}", pointer, problem));
}

// How a member of a case's params or of a derived row must be typed, by name:
// the analysis reads these as text or as numbers. Other members are kept as
// they are and only read where their type matches.
enum class Expected { kAny, kString, kNumber, kBoolean };

Expected expected_type(std::string_view key) {
  static constexpr std::string_view kStrings[] = {
      "page", "level", "kind", "phase", "region", "backing", "role", "pte", "for_page", "tlb_method", "note",
      "kernel", "pattern", "pair", "chain", "dir", "evict", "touch", "background_backing", "readahead", "reuse",
      "vector", "definition", "verdict", "evidence"};
  static constexpr std::string_view kBooleans[] = {"backing_verified", "saturated", "counts_match",
                                                   "way_stride_upper_bound", "sets_lower_bound"};
  static constexpr std::string_view kNumbers[] = {
      "k", "threads", "pages", "seed", "cycles", "ns", "saturation", "faults_counted", "faults_expected",
      "detected_entries", "reported_entries", "huge_fraction", "lines_touched", "background_threads", "bytes",
      "gb_per_s", "ways", "measured_ways", "sets", "entries", "reported_ways", "ways_gradual_to"};
  for (std::string_view s : kStrings)
    if (key == s) return Expected::kString;
  for (std::string_view b : kBooleans)
    if (key == b) return Expected::kBoolean;
  for (std::string_view n : kNumbers)
    if (key == n) return Expected::kNumber;
  const auto ends_with = [&](std::string_view suffix) {
    return key.size() >= suffix.size() && key.substr(key.size() - suffix.size()) == suffix;
  };
  if (ends_with("_bytes") || ends_with("_ns") || ends_with("_pct") || ends_with("_cycles") || ends_with("_pages") ||
      key.find("_per_") != std::string_view::npos || key.rfind("speedup_", 0) == 0 || key.rfind("latency_vs", 0) == 0)
    return Expected::kNumber;
  return Expected::kAny;
}

// Checks the typed members of an object (a case's params, a derived row);
// null stands for "not measured" where nulls_allowed.
void check_typed_members(const json& object, const std::string& pointer, bool nulls_allowed) {
  for (const auto& [key, value] : object.items()) {
    if (nulls_allowed && value.is_null()) continue;
    switch (expected_type(key)) {
      case Expected::kString:
        if (!value.is_string()) fail(pointer_to(pointer, key), "expected a string");
        break;
      case Expected::kNumber:
        if (!value.is_number())
          fail(pointer_to(pointer, key), nulls_allowed ? "expected a number or null" : "expected a number");
        break;
      case Expected::kBoolean:
        if (!value.is_boolean()) fail(pointer_to(pointer, key), "expected true or false");
        break;
      case Expected::kAny:
        break;
    }
  }
}

// Reads one member of a JSON object, naming it by its JSON pointer in every
// error ("/cases/3/metrics: expected an object").
class Reader {
 public:
  Reader(const json& object, std::string pointer) : object_(object), pointer_(std::move(pointer)) {}

  const json& value() const { return object_; }
  const std::string& pointer() const { return pointer_; }
  std::string member_pointer(std::string_view key) const { return pointer_to(pointer_, key); }

  const json* find(std::string_view key) const {
    auto it = object_.find(key);
    return it == object_.end() ? nullptr : &*it;
  }

  const json& require(std::string_view key) const {
    const json* value = find(key);
    if (!value) fail(member_pointer(key), "missing");
    return *value;
  }

  std::string string(std::string_view key, bool required = false) const {
    const json* value = required ? &require(key) : find(key);
    if (!value || (!required && value->is_null())) return {};
    if (!value->is_string()) fail(member_pointer(key), "expected a string");
    return value->get<std::string>();
  }

  std::optional<std::string> optional_string(std::string_view key) const {
    const json* value = find(key);
    if (!value || value->is_null()) return std::nullopt;
    if (!value->is_string()) fail(member_pointer(key), "expected a string or null");
    return value->get<std::string>();
  }

  // A finite number within [min, max]; 0 when absent (or null, unless required).
  double number(std::string_view key, bool required = false, double min = -kHuge, double max = kHuge) const {
    const json* value = required ? &require(key) : find(key);
    if (!value || (!required && value->is_null())) return 0;
    return checked_number(*value, member_pointer(key), min, max);
  }

  std::optional<double> optional_number(std::string_view key, double min = -kHuge, double max = kHuge) const {
    const json* value = find(key);
    if (!value || value->is_null()) return std::nullopt;
    return checked_number(*value, member_pointer(key), min, max, " or null");
  }

  // A JSON integer within [min, max] (no silent wrap: 1e12 logical CPUs is an
  // error, not -727379968); `absent` when missing or null.
  std::int64_t integer(std::string_view key, std::int64_t min, std::int64_t max, std::int64_t absent = 0) const {
    const json* value = find(key);
    if (!value || value->is_null()) return absent;
    const std::string where = member_pointer(key);
    const std::string range = fmt::format("expected an integer from {} to {}", min, max);
    if (!value->is_number_integer()) fail(where, range);
    // A parsed non-negative integer is unsigned in nlohmann: compare it as one.
    const bool in_range = value->is_number_unsigned()
                              ? value->get<std::uint64_t>() <= static_cast<std::uint64_t>(max) &&
                                    (min <= 0 || value->get<std::uint64_t>() >= static_cast<std::uint64_t>(min))
                              : value->get<std::int64_t>() >= min && value->get<std::int64_t>() <= max;
    if (!in_range)
      fail(where, fmt::format("{} (got {})", range, value->dump()));
    return value->get<std::int64_t>();
  }

  bool boolean(std::string_view key) const {
    const json* value = find(key);
    if (!value || value->is_null()) return false;
    if (!value->is_boolean()) fail(member_pointer(key), "expected true or false");
    return value->get<bool>();
  }

  // An object member; an empty object if absent and not required.
  const json& object(std::string_view key, bool required = false) const {
    static const json kEmpty = json::object();
    return container(key, required, kEmpty, &json::is_object, "expected an object");
  }

  Reader child(std::string_view key, bool required = false) const {
    return Reader(object(key, required), member_pointer(key));
  }

  const json& array(std::string_view key, bool required = false) const {
    static const json kEmpty = json::array();
    return container(key, required, kEmpty, &json::is_array, "expected an array");
  }

  // An object or array member (`is` says which); `empty` if absent or null and not required.
  const json& container(std::string_view key, bool required, const json& empty, bool (json::*is)() const noexcept,
                        const char* expected) const {
    const json* value = required ? &require(key) : find(key);
    if (!value || (!required && value->is_null())) return empty;
    if (!(value->*is)()) fail(member_pointer(key), expected);
    return *value;
  }

  // An object of numbers; a null member (written for a non-finite value) is
  // left out, so it reads as missing, never as NaN.
  std::map<std::string, double> number_map(std::string_view key, bool required = false) const {
    std::map<std::string, double> out;
    const std::string where = member_pointer(key);
    for (const auto& [name, value] : object(key, required).items()) {
      if (value.is_null()) continue;
      out[name] = checked_number(value, pointer_to(where, name), -kHuge, kHuge, " or null");
    }
    return out;
  }

  // Reader over element i of an array member, which must be an object.
  Reader element(const json& array, std::size_t i, std::string_view key) const {
    const std::string where = fmt::format("{}/{}", member_pointer(key), i);
    if (!array[i].is_object()) fail(where, "expected an object");
    return Reader(array[i], where);
  }

 private:
  static constexpr double kHuge = std::numeric_limits<double>::max();

  static double checked_number(const json& value, const std::string& where, double min, double max,
                               std::string_view or_null = "") {
    if (!value.is_number()) fail(where, fmt::format("expected a number{}", or_null));
    const double number = value.get<double>();
    if (!std::isfinite(number)) fail(where, "expected a finite number");
    if (number < min || number > max)
      fail(where, fmt::format("expected a number from {} to {} (got {})", min, max, value.dump()));
    return number;
  }

  const json& object_;
  std::string pointer_;
};

json cache_level_to_json(const CacheLevelRow& row) {
  json out = json::object();
  out["level"] = row.level;
  if (row.reported_bytes) out["reported_bytes"] = number(*row.reported_bytes);
  out["detected_bytes"] = optional_number(row.detected_bytes);
  out["latency_ns"] = optional_number(row.latency_ns);
  out["latency_cycles"] = optional_number(row.latency_cycles);
  out["spread_pct"] = optional_number(row.spread_pct);
  if (row.figure_bytes) out["figure_working_set_bytes"] = number(*row.figure_bytes);
  if (!row.note.empty()) out["note"] = row.note;
  return out;
}

// Bounds of the machine description: a cache or TLB level, ways, CPUs.
constexpr std::int64_t kMaxLevel = 16;
constexpr std::int64_t kMaxLogicalCpus = 65536;

MachineInfo machine_from_json(const Reader& r) {
  MachineInfo m;
  m.cpu_model = r.string("cpu_model");
  m.vendor = r.string("vendor");
  m.logical_cpus = static_cast<int>(r.integer("logical_cpus", 1, kMaxLogicalCpus));
  m.kernel = r.string("kernel");
  m.hypervisor = r.optional_string("hypervisor");
  m.tsc_hz = r.number("tsc_hz", false, 0);
  m.core_hz = r.number("core_hz", false, 0);
  m.core_hz_source = r.string("core_hz_source");
  const json& caches = r.array("caches");
  for (std::size_t i = 0; i < caches.size(); ++i) {
    const Reader c = r.element(caches, i, "caches");
    m.caches.push_back({static_cast<int>(c.integer("level", 0, kMaxLevel)), c.string("kind"),
                        c.number("size_bytes", true, 0), c.number("line_bytes", false, 0),
                        static_cast<int>(c.integer("ways", -1, 1 << 20))});
  }
  const json& tlbs = r.array("tlb");
  for (std::size_t i = 0; i < tlbs.size(); ++i) {
    const Reader t = r.element(tlbs, i, "tlb");
    TlbInfo tlb;
    tlb.level = static_cast<int>(t.integer("level", 0, kMaxLevel));
    tlb.page_bytes = t.number("page_bytes", false, 0);
    tlb.entries = t.optional_number("entries", 0);
    tlb.ways = static_cast<int>(t.optional_number("ways", -1).value_or(0));
    m.tlb.push_back(tlb);
  }
  m.tlb_source = r.string("tlb_source");
  m.cpu_family = r.optional_number("cpu_family", 0);
  m.base_page_bytes = r.optional_number("base_page_bytes", 0);
  m.thp_page_bytes = r.optional_number("thp_page_bytes", 0);
  const Reader thp = r.child("thp");
  m.thp_enabled = thp.string("enabled");
  m.thp_defrag = thp.string("defrag");
  const Reader hugepages = r.child("hugepages");
  m.hugepages_2m_reserved = hugepages.number("2m_reserved", false, 0);
  m.hugepages_1g_reserved = hugepages.number("1g_reserved", false, 0);
  const Reader pmu = r.child("pmu");
  m.pmu_available = pmu.boolean("available");
  m.pmu_reason = pmu.string("reason");
  m.host = r.string("host");
  m.memory_bytes = r.optional_number("memory_bytes");
  return m;
}

// A case's figures must be possible and agree with each other, or no table
// derived from them means anything. A time (a name with a time unit:
// ns_per_load, cycles_per_load, us_per_fault, us_per_page) is above 0: no
// access takes no time. A rate (*_per_s) is never negative; it may be a
// counted 0 where nothing ran (the loaded family's background at intensity
// 0), except for the case's headline metric, the quantity it measured,
// which is above 0 when it is a time or a rate. The spread describes the
// headline metric: min <= median <= max, all above 0 for a time or a rate,
// and the median is the metric itself (both are the median of the same
// repetitions).
void check_case_figures(const Case& c, const Reader& r) {
  const std::string metrics_pointer = r.member_pointer("metrics");
  for (const auto& [name, value] : c.metrics) {
    const Direction direction = metric_direction(name);
    if (direction == Direction::kLowerIsBetter && !(value > 0))
      fail(pointer_to(metrics_pointer, name), fmt::format("a time must be above 0 (got {})", value));
    if (direction == Direction::kHigherIsBetter && value < 0)
      fail(pointer_to(metrics_pointer, name), fmt::format("a rate cannot be negative (got {})", value));
  }
  // A metric written as null (not finite) still takes its place in the
  // headline rule: a case whose headline is null has nothing to check.
  Case named = c;
  for (const auto& [name, value] : r.object("metrics").items())
    if (value.is_null()) named.metrics.emplace(name, 0.0);
  const std::string headline = headline_metric(named);
  const auto measured = c.metrics.find(headline);
  if (headline.empty() || measured == c.metrics.end()) return;
  const std::string headline_pointer = pointer_to(metrics_pointer, headline);
  const bool time_or_rate = metric_direction(headline) != Direction::kNeutral;
  if (time_or_rate && !(measured->second > 0))
    fail(headline_pointer, fmt::format("the case's measured figure must be above 0 (got {})", measured->second));
  const Spread& s = c.spread;
  if (s.repetitions == 0 && s.min == 0 && s.median == 0 && s.max == 0) return;  // no spread recorded
  const std::string spread_pointer = r.member_pointer("spread");
  if (time_or_rate && !(s.min > 0))
    fail(pointer_to(spread_pointer, "min"), fmt::format("must be above 0 for {} (got {})", headline, s.min));
  if (!(s.min <= s.median))
    fail(pointer_to(spread_pointer, "median"), fmt::format("{} is below min {}", s.median, s.min));
  if (!(s.median <= s.max))
    fail(pointer_to(spread_pointer, "max"), fmt::format("{} is below median {}", s.max, s.median));
  // Both are written from one double: any difference beyond rounding means
  // the file was edited inconsistently.
  constexpr double kSameValue = 1e-9;
  if (std::fabs(measured->second - s.median) > kSameValue * std::max(std::fabs(measured->second), std::fabs(s.median)))
    fail(headline_pointer, fmt::format("{} disagrees with the case's spread/median {}, the median of the same "
                                       "repetitions",
                                       measured->second, s.median));
}

Case case_from_json(const Reader& r) {
  Case c;
  c.family = r.string("family", true);
  c.name = r.string("name", true);
  c.params = r.object("params", true);
  check_typed_members(c.params, r.member_pointer("params"), false);
  c.metrics = r.number_map("metrics", true);
  const Reader spread = r.child("spread");
  c.spread.repetitions = static_cast<int>(spread.integer("repetitions", 0, std::numeric_limits<int>::max()));
  c.spread.min = spread.number("min");
  c.spread.median = spread.number("median");
  c.spread.max = spread.number("max");
  c.spread.noisy = spread.boolean("noisy");
  c.spread.outliers = static_cast<int>(spread.integer("outliers", 0, std::numeric_limits<int>::max()));
  c.spread.outlier_free_min = spread.optional_number("outlier_free_min");
  c.spread.outlier_free_max = spread.optional_number("outlier_free_max");
  const Reader backing = r.child("backing");
  c.backing.requested = backing.string("requested");
  c.backing.verified = backing.string("verified");
  c.backing.huge_fraction = backing.number("huge_fraction", false, 0, 1);
  c.counters = r.number_map("counters");
  check_case_figures(c, r);
  return c;
}

// Members of the document this version does not model but reads: typed here
// so the renderers never meet a wrong type.
void check_top_level_extras(const Reader& top) {
  (void)top.string("memprobe_version");
  (void)top.string("max_working_set_source");
  (void)top.integer("pinned_cpu", -1, kMaxLogicalCpus);
  for (const char* key : {"seed", "max_working_set_bytes"})
    if (const json* value = top.find(key);
        value && !value->is_null() &&
        !(value->is_number_unsigned() || (value->is_number_integer() && value->get<std::int64_t>() >= 0)))
      fail(top.member_pointer(key), "expected an integer from 0 to 18446744073709551615");
  const json& counters = top.array("counters");
  for (std::size_t i = 0; i < counters.size(); ++i) {
    const Reader c = top.element(counters, i, "counters");
    for (const char* key : {"event", "column", "reason", "meaning"}) (void)c.string(key);
    for (const char* key : {"available", "software"}) (void)c.boolean(key);
  }
}

// derived: cache_levels is modelled; the other members are tables of rows
// (objects whose typed members are checked), a few scalars and one object.
void check_derived_extras(const Reader& derived) {
  (void)derived.string("latency_curve_page");
  (void)derived.optional_number("stride_line_estimate_bytes");
  if (const json* p = derived.find("mlp_parallelism"); p && !p->is_null())
    check_typed_members(derived.object("mlp_parallelism"), derived.member_pointer("mlp_parallelism"), true);
  for (const auto& [key, value] : derived.value().items()) {
    if (key == "cache_levels" || !value.is_array()) continue;
    for (std::size_t i = 0; i < value.size(); ++i)
      check_typed_members(derived.element(value, i, key).value(), fmt::format("{}/{}", derived.member_pointer(key), i),
                          true);
  }
}

// A derived member's name today: files written before a family's tables took
// the family's name (page_walk, page_fault, loaded_latency) load under the new
// one (DerivedTable::legacy_key), unless the file also has the new member.
std::string current_derived_key(const std::string& key, const json& derived) {
  const DerivedTable* table = nullptr;
  if (!family_of_table(key, &table, true) || table->key == key || derived.contains(table->key)) return key;
  return table->key;
}

[[noreturn]] void throw_system_error(int error, const std::string& what) {
  throw std::system_error(error, std::generic_category(), what);
}

json machine_to_json(const MachineInfo& m) {
  json machine = json::object();
  machine["cpu_model"] = m.cpu_model;
  machine["vendor"] = m.vendor;
  machine["logical_cpus"] = m.logical_cpus;
  machine["kernel"] = m.kernel;
  machine["hypervisor"] = m.hypervisor ? json(*m.hypervisor) : json(nullptr);
  machine["tsc_hz"] = number(m.tsc_hz);
  machine["core_hz"] = number(m.core_hz);
  machine["core_hz_source"] = m.core_hz_source;
  machine["caches"] = json::array();
  for (const CacheInfo& c : m.caches) {
    machine["caches"].push_back({{"level", c.level},
                                 {"kind", c.kind},
                                 {"size_bytes", number(c.size_bytes)},
                                 {"line_bytes", number(c.line_bytes)},
                                 {"ways", c.ways}});
  }
  machine["tlb"] = json::array();
  for (const TlbInfo& t : m.tlb) {
    machine["tlb"].push_back(
        {{"level", t.level}, {"page_bytes", number(t.page_bytes)}, {"entries", optional_number(t.entries)},
         {"ways", t.ways}});
  }
  machine["tlb_source"] = m.tlb_source;
  machine["cpu_family"] = optional_number(m.cpu_family);
  machine["base_page_bytes"] = optional_number(m.base_page_bytes);
  machine["thp_page_bytes"] = optional_number(m.thp_page_bytes);
  machine["thp"] = {{"enabled", m.thp_enabled}, {"defrag", m.thp_defrag}};
  machine["hugepages"] = {{"2m_reserved", number(m.hugepages_2m_reserved)},
                          {"1g_reserved", number(m.hugepages_1g_reserved)}};
  machine["pmu"] = {{"available", m.pmu_available}, {"reason", m.pmu_reason}};
  machine["host"] = m.host;
  machine["memory_bytes"] = optional_number(m.memory_bytes);
  return machine;
}

json case_to_json(const Case& c) {
  json item = json::object();
  item["family"] = c.family;
  item["name"] = c.name;
  item["params"] = c.params.is_null() ? json::object() : c.params;
  item["metrics"] = number_map(c.metrics);
  item["spread"] = {{"repetitions", c.spread.repetitions},
                    {"min", number(c.spread.min)},
                    {"median", number(c.spread.median)},
                    {"max", number(c.spread.max)},
                    {"noisy", c.spread.noisy},
                    {"outliers", c.spread.outliers}};
  if (c.spread.outlier_free_min) item["spread"]["outlier_free_min"] = number(*c.spread.outlier_free_min);
  if (c.spread.outlier_free_max) item["spread"]["outlier_free_max"] = number(*c.spread.outlier_free_max);
  item["backing"] = {{"requested", c.backing.requested},
                     {"verified", c.backing.verified},
                     {"huge_fraction", number(c.backing.huge_fraction)}};
  item["counters"] = number_map(c.counters);
  return item;
}

}  // namespace

nlohmann::json to_json(const Results& results) {
  json doc = json::object();
  doc["schema"] = results.schema;
  doc["command"] = results.command;
  doc["started_at"] = results.started_at;
  doc["git"] = results.git;
  doc["machine"] = machine_to_json(results.machine);

  json cases = json::array();
  for (const Case& c : results.cases) cases.push_back(case_to_json(c));
  doc["cases"] = std::move(cases);

  json unavailable = json::array();
  for (const UnavailableFigure& u : results.unavailable)
    unavailable.push_back({{"what", u.what}, {"reason", u.reason}});
  doc["unavailable"] = std::move(unavailable);

  json derived = json::object();
  json levels = json::array();
  for (const CacheLevelRow& row : results.derived.cache_levels) levels.push_back(cache_level_to_json(row));
  derived["cache_levels"] = std::move(levels);
  if (results.derived.extra.is_object())
    for (const auto& [key, value] : results.derived.extra.items())
      if (!derived.contains(key)) derived[key] = value;
  doc["derived"] = std::move(derived);
  if (results.interrupted) doc["interrupted"] = true;

  // Members this version does not model are kept as they were read; the
  // modelled ones win if a name collides.
  if (results.extra.is_object())
    for (const auto& [key, value] : results.extra.items())
      if (!doc.contains(key)) doc[key] = value;
  return doc;
}

Results results_from_json(const nlohmann::json& document) {
  if (!document.is_object()) throw ResultsError("not a memprobe results file (expected a JSON object)");
  auto schema = document.find("schema");
  if (schema == document.end()) throw ResultsError("not a memprobe results file (no 'schema')");
  if (!schema->is_string()) throw ResultsError("not a memprobe results file ('schema' is not a string)");
  if (schema->get<std::string>() != kSchema)
    throw ResultsError(fmt::format("not a {} results file (schema '{}')", kSchema, schema->get<std::string>()));

  const Reader top(document, "");
  Results results;
  results.schema = kSchema;
  results.command = top.string("command");
  results.started_at = top.string("started_at");
  results.git = top.string("git");
  results.machine = machine_from_json(top.child("machine", true));

  const json& cases = top.array("cases", true);
  results.cases.reserve(cases.size());
  for (std::size_t i = 0; i < cases.size(); ++i)
    results.cases.push_back(case_from_json(top.element(cases, i, "cases")));

  const json& unavailable = top.array("unavailable");
  for (std::size_t i = 0; i < unavailable.size(); ++i) {
    const Reader u = top.element(unavailable, i, "unavailable");
    results.unavailable.push_back({u.string("what", true), u.string("reason", true)});
  }

  const Reader derived = top.child("derived");
  const json& levels = derived.array("cache_levels");
  for (std::size_t i = 0; i < levels.size(); ++i) {
    const Reader l = derived.element(levels, i, "cache_levels");
    CacheLevelRow row;
    row.level = l.string("level", true);
    row.reported_bytes = l.optional_number("reported_bytes", 0);
    row.detected_bytes = l.optional_number("detected_bytes", 0);
    row.latency_ns = l.optional_number("latency_ns");
    row.latency_cycles = l.optional_number("latency_cycles");
    row.spread_pct = l.optional_number("spread_pct");
    row.figure_bytes = l.optional_number("figure_working_set_bytes", 0);
    row.note = l.string("note");
    results.derived.cache_levels.push_back(std::move(row));
  }
  check_derived_extras(derived);
  for (const auto& [key, value] : derived.value().items())
    if (key != "cache_levels") results.derived.extra[current_derived_key(key, derived.value())] = value;

  results.interrupted = top.boolean("interrupted");
  check_top_level_extras(top);
  static constexpr std::string_view kKnown[] = {"schema",      "command", "started_at", "git",        "machine",
                                                "cases",       "unavailable", "derived", "interrupted"};
  for (const auto& [key, value] : document.items()) {
    bool known = false;
    for (std::string_view k : kKnown) known = known || key == k;
    if (!known) results.extra[key] = value;
  }
  return results;
}

namespace {

// Reads the whole of a regular file of at most kMaxResultsFileBytes. Anything
// else (a FIFO, a device such as /dev/zero, a directory) is refused at once:
// O_NONBLOCK keeps open() of a FIFO without a writer from waiting.
std::string read_results_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (fd < 0) throw ResultsError(fmt::format("cannot read {}: {}", path, std::strerror(errno)));
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat info {};
  if (::fstat(fd, &info) != 0) throw ResultsError(fmt::format("cannot read {}: {}", path, std::strerror(errno)));
  if (S_ISDIR(info.st_mode)) throw ResultsError(fmt::format("cannot read {}: {}", path, std::strerror(EISDIR)));
  if (!S_ISREG(info.st_mode)) {
    const char* kind = S_ISFIFO(info.st_mode)   ? "a FIFO"
                       : S_ISCHR(info.st_mode)  ? "a character device"
                       : S_ISBLK(info.st_mode)  ? "a block device"
                       : S_ISSOCK(info.st_mode) ? "a socket"
                                                : "a special file";
    throw ResultsError(fmt::format("cannot read {}: {}, not a regular file (results files are regular files)", path,
                                   kind));
  }
  const auto too_big = [&] {
    return ResultsError(fmt::format("{}: larger than {} MiB, the most a results file may be", path,
                                    kMaxResultsFileBytes >> 20));
  };
  if (static_cast<std::uint64_t>(info.st_size) > kMaxResultsFileBytes) throw too_big();
  std::string text(static_cast<std::size_t>(info.st_size), '\0');
  std::size_t size = 0;
  for (;;) {
    // A file that grows while being read is still held to the bound.
    if (size == text.size()) {
      if (text.size() >= kMaxResultsFileBytes + 1) throw too_big();
      text.resize(std::min<std::size_t>(kMaxResultsFileBytes + 1, std::max<std::size_t>(text.size() * 2, 1 << 16)));
    }
    const ssize_t got = ::read(fd, text.data() + size, text.size() - size);
    if (got < 0) {
      if (errno == EINTR) continue;
      throw ResultsError(fmt::format("cannot read {}: {}", path, std::strerror(errno)));
    }
    if (got == 0) break;
    size += static_cast<std::size_t>(got);
  }
  if (size > kMaxResultsFileBytes) throw too_big();
  text.resize(size);
  return text;
}

// Where the brackets of a JSON text nest deeper than kMaxResultsNesting (the
// byte offset), checked before parsing: a value nested 100,000 deep would
// overflow the stack of every recursive copy or destructor after the parse.
std::optional<std::size_t> too_deep_at(std::string_view text) {
  std::size_t depth = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') ++i;
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > kMaxResultsNesting) return i;
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return std::nullopt;
}

// "line 3, column 7" of a byte offset.
std::string line_and_column(std::string_view text, std::size_t offset) {
  std::size_t line = 1, line_start = 0;
  for (std::size_t i = 0; i < offset && i < text.size(); ++i)
    if (text[i] == '\n') {
      ++line;
      line_start = i + 1;
    }
  return fmt::format("line {}, column {}", line, offset - line_start + 1);
}

// A library message without its "[json.exception.parse_error.101] " tag.
std::string library_message(const std::exception& e) {
  std::string message = e.what();
  if (auto close = message.find("] "); message.rfind("[json.exception.", 0) == 0 && close != std::string::npos)
    message.erase(0, close + 2);
  return message;
}

// Finds the first key that appears twice in one object of a JSON text, as a
// JSON pointer. nlohmann keeps the last of two equal keys; another reader
// may keep the first, so such a file means two things and is refused. Fed
// by the parser's callback, which sees every object at every depth.
class DuplicateKeyFinder {
 public:
  bool operator()(int /*depth*/, json::parse_event_t event, json& parsed) {
    switch (event) {
      case json::parse_event_t::object_start:
      case json::parse_event_t::array_start: {
        std::string position = child_position();
        stack_.push_back({event == json::parse_event_t::array_start, std::move(position), {}, {}, 0});
        break;
      }
      case json::parse_event_t::object_end:
      case json::parse_event_t::array_end:
        if (!stack_.empty()) stack_.pop_back();
        break;
      case json::parse_event_t::key: {
        Container& object = stack_.back();
        object.last_key = parsed.get<std::string>();
        if (!object.keys.insert(object.last_key).second && !duplicate_) duplicate_ = pointer_of_last_key();
        break;
      }
      case json::parse_event_t::value:
        (void)child_position();
        break;
    }
    return true;
  }

  const std::optional<std::string>& duplicate() const { return duplicate_; }

 private:
  struct Container {
    bool is_array = false;
    std::string position;           // its key or index in its parent; "" for the document
    std::set<std::string> keys;     // an object's keys so far
    std::string last_key;
    std::size_t next_index = 0;     // an array's next element
  };

  // The position of a value starting now within the innermost container.
  std::string child_position() {
    if (stack_.empty()) return {};
    Container& parent = stack_.back();
    return parent.is_array ? std::to_string(parent.next_index++) : parent.last_key;
  }

  std::string pointer_of_last_key() const {
    std::string pointer;
    for (std::size_t i = 1; i < stack_.size(); ++i) pointer = pointer_to(pointer, stack_[i].position);
    return pointer_to(pointer, stack_.back().last_key);
  }

  std::vector<Container> stack_;
  std::optional<std::string> duplicate_;
};

}  // namespace

Results load_results(const std::string& path) { return parse_results(read_results_file(path), path); }

Results parse_results(std::string_view text, const std::string& path) {
  // Every message is one line: text from the file (a key, a parse excerpt)
  // has its control characters escaped.
  const auto error = [&](const std::string& message) { return ResultsError(escape_control(message)); };
  if (text.find_first_not_of(" \t\r\n") == std::string::npos) throw error(fmt::format("{}: empty file", path));
  if (const auto offset = too_deep_at(text))
    throw error(fmt::format("{}: nested deeper than {} levels at {}; not a results file", path, kMaxResultsNesting,
                            line_and_column(text, *offset)));
  json document;
  DuplicateKeyFinder duplicates;
  try {
    document = json::parse(text, std::ref(duplicates));
  } catch (const json::parse_error& e) {
    throw error(fmt::format("{}: not valid JSON (truncated?): {}", path, library_message(e)));
  } catch (const json::exception& e) {  // out_of_range: a number such as 1e999 overflows a double
    throw error(fmt::format("{}: not a usable JSON number: {}", path, library_message(e)));
  }
  if (const auto& pointer = duplicates.duplicate())
    throw error(fmt::format("{}: {}: key given twice in one object; the file means two things", path, *pointer));
  try {
    return results_from_json(document);
  } catch (const ResultsError& e) {
    throw error(fmt::format("{}: {}", path, e.what()));
  } catch (const json::exception& e) {
    throw error(fmt::format("{}: {}", path, library_message(e)));
  }
}

std::string atomic_write_temp_path(const std::string& path) {
  // Per process, so two runs writing the same file never share a temporary.
  return path + ".tmp." + std::to_string(::getpid());
}

namespace {

// Every signal that can be blocked, for the duration of one atomic write: a
// signal arriving meanwhile is delivered once the file is complete (or the
// temporary removed), so no handler and no default action can end the
// process with a temporary file left behind.
class SignalsHeld {
 public:
  SignalsHeld() {
    sigset_t all;
    sigfillset(&all);
    held_ = ::pthread_sigmask(SIG_BLOCK, &all, &previous_) == 0;
  }
  ~SignalsHeld() {
    if (held_) ::pthread_sigmask(SIG_SETMASK, &previous_, nullptr);
  }
  SignalsHeld(const SignalsHeld&) = delete;
  SignalsHeld& operator=(const SignalsHeld&) = delete;

 private:
  sigset_t previous_{};
  bool held_ = false;
};

}  // namespace

void write_text_atomic(const std::string& path, const std::string& text) {
  const std::string tmp_path = atomic_write_temp_path(path);
  const SignalsHeld signals_held;

  const int fd = ::open(tmp_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw_system_error(errno, fmt::format("cannot write {}", tmp_path));
  const auto fail = [&](int error, const std::string& what) {
    ::unlink(tmp_path.c_str());
    throw_system_error(error, what);
  };

  std::size_t written = 0;
  while (written < text.size()) {
    const ssize_t n = ::write(fd, text.data() + written, text.size() - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      // EFBIG past RLIMIT_FSIZE (SIGXFSZ is ignored), ENOSPC, EIO...
      const int error = errno;
      ::close(fd);
      fail(error, fmt::format("cannot write {}", tmp_path));
    }
    written += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0) {
    const int error = errno;
    ::close(fd);
    fail(error, fmt::format("cannot write {}", tmp_path));
  }
  // close() can report a deferred write error (NFS): it counts as a failed write.
  if (::close(fd) != 0) fail(errno, fmt::format("cannot write {}", tmp_path));
  // Only a regular file is ever replaced: a rename over /dev/null or a FIFO
  // would put a regular file in its place (the harness refuses such a path
  // before measuring; this holds it for any caller and for a path that
  // changed since).
  struct stat target {};
  if (::lstat(path.c_str(), &target) == 0 && !S_ISREG(target.st_mode))
    fail(EEXIST, fmt::format("cannot replace {}: not a regular file", path));
  if (::rename(tmp_path.c_str(), path.c_str()) != 0) fail(errno, fmt::format("cannot rename {} to {}", tmp_path, path));
}

void write_results_atomic(const std::string& path, const Results& results) {
  write_text_atomic(path, to_json(results).dump(2) + "\n");
}

}  // namespace memprobe::analysis
