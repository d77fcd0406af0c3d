#include "analysis/fleet.h"

#include "analysis/family.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>

namespace memprobe::analysis {
namespace {

using nlohmann::json;

constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;

// ---- formatting ------------------------------------------------------------

std::string format_figure(const FleetFigure& figure, double value) {
  if (figure.metric == "latency_ns") return format_ns(value);
  if (figure.metric == "detected_bytes") return format_bytes(value);
  if (figure.metric == "detected_entries") return fmt::format("{:.0f}", value);
  if (figure.metric == "us_per_fault") return fmt::format("{:.2f}", value);
  return fmt::format("{:.1f}", value);
}

std::string format_pool(double pages) { return fmt::format("{:.0f}", pages); }

std::string pools_text(const FleetRun& run) {
  return fmt::format("2M:{} 1G:{}", format_pool(run.pool_2m), format_pool(run.pool_1g));
}

std::string thp_text(const FleetRun& run) {
  return (run.thp_enabled.empty() ? "?" : run.thp_enabled) + "/" + (run.thp_defrag.empty() ? "?" : run.thp_defrag);
}

std::string or_unknown(const std::string& text) { return text.empty() ? "unknown" : text; }

// ---- flags -----------------------------------------------------------------

void flag_outliers(FleetGroup& group, const FleetOptions& options) {
  const auto& figures = headline_figures();
  group.median.assign(figures.size(), std::nullopt);
  for (std::size_t f = 0; f < figures.size(); ++f) {
    std::vector<double> values;
    for (const FleetRun& run : group.runs)
      if (run.values[f]) values.push_back(*run.values[f]);
    if (values.empty()) continue;
    const double median = median_of(values);
    group.median[f] = median;
    const double mad = median_absolute_deviation(values, median);
    const double min_pct = figures[f].size ? options.min_size_deviation_pct : options.min_deviation_pct;
    for (FleetRun& run : group.runs) {
      if (!run.values[f] || median <= 0) continue;
      const double distance = std::fabs(*run.values[f] - median);
      run.deviation_pct[f] = (*run.values[f] - median) / median * 100;
      if (values.size() < 3) continue;
      if (distance > options.mad_k * kMadToSigma * mad && distance / median * 100 > min_pct) {
        run.outlier[f] = true;
        run.flags.push_back(fmt::format("{} {} ({:+.1f} % from the group median {})", figures[f].name,
                                        format_figure(figures[f], *run.values[f]), *run.deviation_pct[f],
                                        format_figure(figures[f], median)));
      }
    }
  }
}

void flag_settings(FleetGroup& group) {
  struct Setting {
    const char* name;
    std::string (*value)(const FleetRun&);
  };
  static const Setting kSettings[] = {
      {"THP enabled", [](const FleetRun& r) { return or_unknown(r.thp_enabled); }},
      {"THP defrag", [](const FleetRun& r) { return or_unknown(r.thp_defrag); }},
      {"2 MiB pool", [](const FleetRun& r) { return format_pool(r.pool_2m) + " pages"; }},
      {"1 GiB pool", [](const FleetRun& r) { return format_pool(r.pool_1g) + " pages"; }},
      {"kernel", [](const FleetRun& r) { return or_unknown(r.kernel); }},
  };
  for (const Setting& setting : kSettings) {
    std::map<std::string, std::size_t> counts;
    for (const FleetRun& run : group.runs) ++counts[setting.value(run)];
    if (counts.size() < 2) continue;
    const auto majority = std::max_element(counts.begin(), counts.end(),
                                           [](const auto& x, const auto& y) { return x.second < y.second; });
    const bool has_majority = majority->second * 2 > group.runs.size();
    for (FleetRun& run : group.runs) {
      const std::string value = setting.value(run);
      if (has_majority && value == majority->first) continue;
      run.flags.push_back(has_majority
                              ? fmt::format("{} {} (group: {})", setting.name, value, majority->first)
                              : fmt::format("{} {} (the group has no majority setting)", setting.name, value));
    }
  }
}

}  // namespace

std::vector<FleetFigure> headline_figures() {
  std::vector<FleetFigure> figures;
  for (const FamilyDescriptor* family : families_in_report_order())
    figures.insert(figures.end(), family->fleet_columns.begin(), family->fleet_columns.end());
  return figures;
}

std::vector<std::optional<double>> headline_values(const Results& r) {
  std::vector<std::optional<double>> values;
  for (const FleetFigure& figure : headline_figures())
    values.push_back(figure.value ? figure.value(r) : std::nullopt);
  return values;
}

std::string machine_fingerprint(const MachineInfo& m) {
  const std::string memory =
      m.memory_bytes ? fmt::format("{:.0f} GiB", std::round(*m.memory_bytes / kGiB)) : std::string("unknown memory");
  return fmt::format("{} / {} CPUs / {}", or_unknown(m.cpu_model), m.logical_cpus, memory);
}

std::size_t Fleet::flagged_runs() const {
  std::size_t n = 0;
  for (const FleetGroup& g : groups)
    for (const FleetRun& r : g.runs) n += !r.flags.empty();
  return n;
}

Fleet analyze_fleet(const std::vector<FleetInput>& inputs, const FleetOptions& options) {
  Fleet fleet;
  fleet.options = options;
  const std::size_t n_figures = headline_figures().size();
  for (const FleetInput& input : inputs) {
    const MachineInfo& m = input.results.machine;
    const std::string fingerprint = machine_fingerprint(m);
    auto group = std::find_if(fleet.groups.begin(), fleet.groups.end(),
                              [&](const FleetGroup& g) { return g.fingerprint == fingerprint; });
    if (group == fleet.groups.end()) {
      fleet.groups.push_back({fingerprint, {}, {}, ""});
      group = std::prev(fleet.groups.end());
    }
    FleetRun run;
    run.file = input.file;
    run.host = m.host;
    run.cpu_model = m.cpu_model;
    run.kernel = m.kernel;
    run.thp_enabled = m.thp_enabled;
    run.thp_defrag = m.thp_defrag;
    run.pool_2m = m.hugepages_2m_reserved;
    run.pool_1g = m.hugepages_1g_reserved;
    run.interrupted = input.results.interrupted;
    run.values = headline_values(input.results);
    run.deviation_pct.assign(n_figures, std::nullopt);
    run.outlier.assign(n_figures, false);
    group->runs.push_back(std::move(run));
  }
  for (FleetGroup& group : fleet.groups) {
    if (group.runs.size() == 1) {
      group.note = "one run: nothing to compare against";
      group.median = group.runs.front().values;
      continue;
    }
    flag_outliers(group, options);
    flag_settings(group);
    for (FleetRun& run : group.runs)
      if (run.interrupted) run.flags.push_back("interrupted: an incomplete run");
  }
  return fleet;
}

namespace {

// The figures some run has (indices into headline_figures()).
std::vector<std::size_t> shown_figures(const Fleet& fleet) {
  std::vector<std::size_t> shown;
  for (std::size_t f = 0; f < headline_figures().size(); ++f)
    for (const FleetGroup& g : fleet.groups)
      if (std::any_of(g.runs.begin(), g.runs.end(), [&](const FleetRun& r) { return r.values[f].has_value(); })) {
        shown.push_back(f);
        break;
      }
  return shown;
}

// One run's row: its settings, each shown figure (with its deviation from
// the group's median; in CSV a column of its own) and whether it is flagged.
std::vector<std::string> run_row(const std::string& number, const FleetRun& run, const std::vector<std::size_t>& shown,
                                 bool csv) {
  const auto& figures = headline_figures();
  std::vector<std::string> row = {number,       run.file,      or_unknown(run.host), or_unknown(run.cpu_model),
                                  or_unknown(run.kernel), thp_text(run), pools_text(run)};
  for (const std::size_t f : shown) {
    const auto& v = run.values[f];
    const auto& d = run.deviation_pct[f];
    if (csv) {
      row.push_back(v ? fmt::format("{}", *v) : "");
      row.push_back(d ? fmt::format("{:.2f}", *d) : "");
    } else {
      std::string cell = v ? format_figure(figures[f], *v) : std::string(kMissing);
      if (v && d) cell += fmt::format(" ({:+.1f}%){}", *d, run.outlier[f] ? "!" : "");
      row.push_back(cell);
    }
  }
  row.push_back(run.flags.empty() ? "" : "FLAGGED");
  return row;
}

// The flagged runs with their reasons, and the outlier rule.
std::string fleet_footer(const Fleet& fleet, TableFormat format) {
  std::string out;
  const std::size_t flagged = fleet.flagged_runs();
  if (flagged == 0) {
    out += note_line("no run flagged", format);
  } else {
    out += note_line(fmt::format("{} run{} flagged:", flagged, flagged == 1 ? "" : "s"), format);
    for (const FleetGroup& group : fleet.groups)
      for (const FleetRun& run : group.runs)
        for (const std::string& flag : run.flags) out += note_line(fmt::format("  {}: {}", run.file, flag), format);
  }
  out += note_line(fmt::format("rule: within a group (same CPU model, CPU count, memory), a figure is an outlier when "
                               "|x - median| > {:g} x 1.4826 x MAD and more than {:g} % off the median ({:g} % for "
                               "sizes and entries; needs 3 runs); a setting is flagged when it differs from the "
                               "group's majority; '!' marks an outlier",
                               fleet.options.mad_k, fleet.options.min_deviation_pct,
                               fleet.options.min_size_deviation_pct),
                   format);
  return out;
}

}  // namespace

std::string render_fleet(const Fleet& fleet, TableFormat format) {
  const auto& figures = headline_figures();
  const std::vector<std::size_t> shown = shown_figures(fleet);
  const bool csv = format == TableFormat::kCsv;
  std::vector<Column> columns = {{"group"},          {"file", false},  {"host", false}, {"CPU model", false},
                                 {"kernel", false},  {"THP", false},   {"pools", false}};
  for (const std::size_t f : shown) {
    columns.push_back({figures[f].name});
    if (csv) columns.push_back({figures[f].name + " dev %"});
  }
  columns.push_back({"flagged", false});

  std::vector<std::vector<std::string>> rows;
  for (std::size_t g = 0; g < fleet.groups.size(); ++g) {
    const FleetGroup& group = fleet.groups[g];
    const std::string number = std::to_string(g + 1);
    for (const FleetRun& run : group.runs) rows.push_back(run_row(number, run, shown, csv));
    if (group.runs.size() > 1) {
      std::vector<std::string> row = {number, "median", "", "", "", "", ""};
      for (const std::size_t f : shown) {
        const auto& m = group.median[f];
        row.push_back(m ? (csv ? fmt::format("{}", *m) : format_figure(figures[f], *m)) : (csv ? "" : kMissing));
        if (csv) row.push_back("");
      }
      row.push_back("");
      rows.push_back(std::move(row));
    }
  }

  std::string out;
  for (std::size_t g = 0; g < fleet.groups.size(); ++g) {
    const FleetGroup& group = fleet.groups[g];
    out += note_line(fmt::format("group {}: {}: {} run{}{}", g + 1, group.fingerprint, group.runs.size(),
                                 group.runs.size() == 1 ? "" : "s", group.note.empty() ? "" : " (" + group.note + ")"),
                     format);
  }
  if (format == TableFormat::kMarkdown) out += "\n";
  out += render_table(columns, rows, format);
  if (format == TableFormat::kMarkdown) out += "\n";
  return out + fleet_footer(fleet, format);
}

json fleet_to_json(const Fleet& fleet) {
  const auto& figures = headline_figures();
  const auto numbers = [](const std::vector<std::optional<double>>& values) {
    json out = json::array();
    for (const auto& v : values) out.push_back(v && std::isfinite(*v) ? json(*v) : json(nullptr));
    return out;
  };
  json doc = json::object();
  doc["options"] = {{"mad_k", fleet.options.mad_k},
                    {"min_deviation_pct", fleet.options.min_deviation_pct},
                    {"min_size_deviation_pct", fleet.options.min_size_deviation_pct}};
  doc["figures"] = json::array();
  for (const FleetFigure& f : figures) doc["figures"].push_back({{"name", f.name}, {"metric", f.metric}});
  doc["groups"] = json::array();
  for (const FleetGroup& group : fleet.groups) {
    json g = {{"fingerprint", group.fingerprint}, {"note", group.note}, {"median", numbers(group.median)}};
    g["runs"] = json::array();
    for (const FleetRun& run : group.runs)
      g["runs"].push_back({{"file", run.file},
                           {"host", run.host},
                           {"cpu_model", run.cpu_model},
                           {"kernel", run.kernel},
                           {"thp", {{"enabled", run.thp_enabled}, {"defrag", run.thp_defrag}}},
                           {"hugepages", {{"2m_reserved", run.pool_2m}, {"1g_reserved", run.pool_1g}}},
                           {"interrupted", run.interrupted},
                           {"values", numbers(run.values)},
                           {"deviation_pct", numbers(run.deviation_pct)},
                           {"flags", run.flags}});
    doc["groups"].push_back(std::move(g));
  }
  doc["flagged_runs"] = fleet.flagged_runs();
  return doc;
}

}  // namespace memprobe::analysis
