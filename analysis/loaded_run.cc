#include "analysis/loaded_run.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "analysis/derived.h"
#include "analysis/results_json.h"
#include "analysis/table_format.h"

namespace memprobe::analysis {
namespace {

using nlohmann::json;

// Where two derived sections differ: how many leaves, and the first.
struct Differences {
  std::size_t count = 0;
  std::string first_pointer;
  std::string first_stored, first_derived;
};

// A value short enough for one line: a number or string as written, a
// container by its size.
std::string value_text(const json* value) {
  if (!value) return "absent";
  if (value->is_object()) return "an object";
  if (value->is_array()) return fmt::format("{} row{}", value->size(), value->size() == 1 ? "" : "s");
  std::string text = value->dump(-1, ' ', false, json::error_handler_t::replace);
  return text.size() > 40 ? text.substr(0, 37) + "..." : text;
}

void note_difference(Differences& d, const std::string& pointer, const json* stored, const json* derived) {
  if (d.count++ > 0) return;
  d.first_pointer = pointer.empty() ? "/derived" : "/derived" + pointer;
  d.first_stored = value_text(stored);
  d.first_derived = value_text(derived);
}

// A JSON pointer (RFC 6901) one level down.
std::string child_pointer(const std::string& parent, const std::string& key) {
  std::string out = parent + "/";
  for (const char c : key) out += c == '~' ? "~0" : c == '/' ? "~1" : std::string(1, c);
  return out;
}

// Numbers compare by value within rounding (a file's 32768 and a fresh
// 32768.0 are one figure); everything else by equality, leaf by leaf.
void collect_differences(const json* stored, const json* derived, const std::string& pointer, Differences& d) {
  if (!stored || !derived) {
    if (stored != derived) note_difference(d, pointer, stored, derived);
    return;
  }
  if (stored->is_number() && derived->is_number()) {
    const double s = stored->get<double>(), f = derived->get<double>();
    if (std::fabs(s - f) > 1e-9 * std::max(std::fabs(s), std::fabs(f))) note_difference(d, pointer, stored, derived);
    return;
  }
  if (stored->is_object() && derived->is_object()) {
    std::set<std::string> keys;
    for (const auto& [key, value] : stored->items()) keys.insert(key);
    for (const auto& [key, value] : derived->items()) keys.insert(key);
    for (const std::string& key : keys) {
      const auto s = stored->find(key);
      const auto f = derived->find(key);
      collect_differences(s == stored->end() ? nullptr : &*s, f == derived->end() ? nullptr : &*f,
                          child_pointer(pointer, key), d);
    }
    return;
  }
  if (stored->is_array() && derived->is_array()) {
    for (std::size_t i = 0; i < std::max(stored->size(), derived->size()); ++i)
      collect_differences(i < stored->size() ? &(*stored)[i] : nullptr, i < derived->size() ? &(*derived)[i] : nullptr,
                          fmt::format("{}/{}", pointer, i), d);
    return;
  }
  if (*stored != *derived) note_difference(d, pointer, stored, derived);
}

// A null member and an absent one both say "no figure".
json without_nulls(const json& value) {
  if (value.is_object()) {
    json out = json::object();
    for (const auto& [key, member] : value.items())
      if (!member.is_null()) out[key] = without_nulls(member);
    return out;
  }
  if (value.is_array()) {
    json out = json::array();
    for (const json& element : value) out.push_back(without_nulls(element));
    return out;
  }
  return value;
}

// The analysis that wrote the stored section: the memprobe that wrote the file.
std::string writer_of(const Results& r) {
  std::string version;
  if (const auto it = r.extra.find("memprobe_version"); it != r.extra.end() && it->is_string())
    version = it->get<std::string>();
  if (version.empty() && r.git.empty()) return "an unrecorded memprobe version";
  if (r.git.empty() || version.empty()) return "memprobe " + version + r.git;
  return fmt::format("memprobe {}, git {}", version, r.git);
}

}  // namespace

LoadedRun derive_from_cases(Results results, const std::string& path) {
  const json stored = without_nulls(to_json(results)["derived"]);
  results.derived = Derived{};
  derive_all(results);
  const json derived = without_nulls(to_json(results)["derived"]);
  Differences d;
  collect_differences(&stored, &derived, "", d);
  LoadedRun out{std::move(results), {}};
  if (d.count > 0)
    out.stored_derived_note = escape_control(fmt::format(
        "{}: its stored derived figures (written by {}) differ from this version's derivation from its cases in {} "
        "place{}, first {} (stored {}, derived {}); the figures shown are derived from the cases",
        path, writer_of(out.results), d.count, d.count == 1 ? "" : "s", d.first_pointer, d.first_stored,
        d.first_derived));
  return out;
}

LoadedRun load_run(const std::string& path) { return derive_from_cases(load_results(path), path); }

}  // namespace memprobe::analysis
