#include "harness/fleet_compare.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <string_view>

#include "analysis/compare.h"
#include "analysis/fleet.h"
#include "analysis/gate.h"
#include "analysis/results_json.h"
#include "harness/plan.h"

namespace memprobe::harness {

int compare_command(const CompareCommand& command, std::ostream& out) {
  if (command.format != "text" && command.format != "csv" && command.format != "junit")
    throw UsageError(fmt::format("--format: '{}' is not one of text, csv, junit", command.format));
  if (command.fail_on_regression_pct &&
      !(std::isfinite(*command.fail_on_regression_pct) && *command.fail_on_regression_pct >= 0 &&
        *command.fail_on_regression_pct <= 1000))
    throw UsageError(fmt::format("--fail-on-regression: {} is not a percentage between 0 and 1000",
                                 *command.fail_on_regression_pct));
  if (command.format == "junit" && !command.fail_on_regression_pct)
    throw UsageError("--format junit reports the regression gate: give --fail-on-regression PCT");
  const auto load = [](const std::vector<std::string>& files) {
    std::vector<analysis::Results> runs;
    for (const std::string& file : files) runs.push_back(analysis::load_results(file));
    return runs;
  };
  const auto a = load(command.a_files);
  const auto b = load(command.b_files);
  analysis::CompareOptions options;
  options.all_cases = command.all_cases;
  const auto comparison = analysis::compare_runs(a, b, options);
  std::optional<analysis::GateResult> gate;
  if (command.fail_on_regression_pct) gate = analysis::regression_gate(comparison, *command.fail_on_regression_pct);

  if (command.format == "junit") {
    out << analysis::render_junit(comparison, *gate);
  } else if (command.format == "csv") {
    out << analysis::render_comparison_csv(comparison);
  } else {
    out << analysis::render_comparison(comparison);
    if (gate) out << analysis::render_gate(*gate);
  }
  return gate && gate->failed() ? kExitFlagged : 0;
}

std::vector<std::string> fleet_files(const std::vector<std::string>& paths) {
  namespace fs = std::filesystem;
  std::vector<std::string> files;
  for (const std::string& path : paths) {
    std::error_code error;
    if (!fs::is_directory(path, error)) {
      files.push_back(path);  // the loader names a missing or unreadable file
      continue;
    }
    std::vector<std::string> found;
    for (fs::directory_iterator it(path, error), end; !error && it != end; it.increment(error))
      if (it->path().extension() == ".json" && it->is_regular_file(error)) found.push_back(it->path().string());
    if (error) throw UsageError(fmt::format("cannot list {}: {}", path, error.message()));
    if (found.empty()) throw UsageError(fmt::format("{}: no *.json results files in this directory", path));
    std::sort(found.begin(), found.end());
    files.insert(files.end(), found.begin(), found.end());
  }
  return files;
}

int fleet_command(const std::vector<std::string>& paths, const std::string& format, bool fail_on_outlier,
                  std::ostream& out) {
  const auto table_format = analysis::parse_table_format(format);
  if (!table_format && format != "json")
    throw UsageError(fmt::format("--format: '{}' is not one of text, markdown, csv, json", format));
  std::vector<analysis::FleetInput> inputs;
  for (const std::string& file : fleet_files(paths)) inputs.push_back({file, analysis::load_results(file)});
  const analysis::Fleet fleet = analysis::analyze_fleet(inputs);
  if (format == "json")
    out << analysis::fleet_to_json(fleet).dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  else
    out << analysis::render_fleet(fleet, *table_format);
  return fail_on_outlier && fleet.flagged_runs() > 0 ? kExitFlagged : 0;
}

}  // namespace memprobe::harness
