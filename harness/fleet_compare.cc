#include "harness/fleet_compare.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <iostream>
#include <string_view>

#include "analysis/compare.h"
#include "analysis/fleet.h"
#include "analysis/gate.h"
#include "analysis/html_report.h"
#include "analysis/loaded_run.h"
#include "analysis/results_json.h"
#include "analysis/table_format.h"
#include "harness/plan.h"

namespace memprobe::harness {

int compare_command(const CompareCommand& command, std::ostream& out) {
  if (command.format != "text" && command.format != "csv" && command.format != "junit" && command.format != "html")
    throw UsageError(fmt::format("--format: '{}' is not one of text, csv, junit, html", command.format));
  if (command.fail_on_regression_pct &&
      !(std::isfinite(*command.fail_on_regression_pct) && *command.fail_on_regression_pct >= 0 &&
        *command.fail_on_regression_pct <= 1000))
    throw UsageError(fmt::format("--fail-on-regression: {} is not a percentage between 0 and 1000",
                                 *command.fail_on_regression_pct));
  if (command.format == "junit" && !command.fail_on_regression_pct)
    throw UsageError("--format junit reports the regression gate: give --fail-on-regression PCT");
  // Notes wait until every file has loaded: a bad file is one error line.
  std::vector<std::string> notes;
  const auto load = [&notes](const std::vector<std::string>& files) {
    std::vector<analysis::Results> runs;
    for (const std::string& file : files) {
      analysis::LoadedRun run = analysis::load_run(file);
      if (!run.stored_derived_note.empty()) notes.push_back(std::move(run.stored_derived_note));
      runs.push_back(std::move(run.results));
    }
    return runs;
  };
  const auto a = load(command.a_files);
  const auto b = load(command.b_files);
  for (const std::string& note : notes) std::cerr << "memprobe: note: " << note << "\n";
  analysis::CompareOptions options;
  options.all_cases = command.all_cases;
  const auto comparison = analysis::compare_runs(a, b, options);
  std::optional<analysis::GateResult> gate;
  if (command.fail_on_regression_pct) gate = analysis::regression_gate(comparison, *command.fail_on_regression_pct);

  // Rendered whole, then written: nothing reaches OUT before a failure.
  std::string text;
  if (command.format == "junit") {
    text = analysis::render_junit(comparison, *gate);
  } else if (command.format == "csv") {
    text = analysis::render_comparison_csv(comparison);
  } else {
    const auto format = command.format == "html" ? analysis::TableFormat::kHtml : analysis::TableFormat::kText;
    text = analysis::render_comparison(comparison, format);
    if (gate) text += analysis::render_gate(*gate, format);
    if (format == analysis::TableFormat::kHtml) {
      const auto first_line = [](const std::string& runs) { return runs.substr(0, runs.find('\n')); };
      const std::string title =
          "memprobe compare: " + first_line(comparison.run_a) + " vs " + first_line(comparison.run_b);
      text = analysis::html_document(title, "memprobe compare", text);
    }
  }
  out << text;
  return gate && gate->failed() ? kExitFlagged : 0;
}

namespace {

// Why a directory entry named *.json is not a results file to read: a
// dangling or looping symbolic link, a directory, a FIFO...
std::string not_a_file_reason(const std::filesystem::directory_entry& entry, const std::filesystem::file_status& status,
                              const std::error_code& status_error) {
  namespace fs = std::filesystem;
  std::error_code ignored;
  if (entry.is_symlink(ignored)) {
    const fs::path target = fs::read_symlink(entry.path(), ignored);
    const std::string problem = status_error ? status_error.message() : "not a regular file";
    return fmt::format("symbolic link to '{}' that cannot be followed ({})", target.string(), problem);
  }
  if (status_error) return status_error.message();
  switch (status.type()) {
    case fs::file_type::directory: return "a directory, not a results file";
    case fs::file_type::fifo: return "a FIFO, not a regular file";
    case fs::file_type::socket: return "a socket, not a regular file";
    case fs::file_type::character:
    case fs::file_type::block: return "a device, not a regular file";
    default: return "not a regular file";
  }
}

}  // namespace

std::vector<std::string> fleet_files(const std::vector<std::string>& paths, std::ostream& skipped) {
  namespace fs = std::filesystem;
  std::vector<std::string> files;
  for (const std::string& path : paths) {
    std::error_code error;
    if (!fs::is_directory(path, error)) {
      files.push_back(path);  // the loader names a missing or unreadable file
      continue;
    }
    std::vector<std::string> found;
    for (fs::directory_iterator it(path, error), end; !error && it != end; it.increment(error)) {
      if (it->path().extension() != ".json") continue;
      // Its own error: a broken entry is named and skipped, it does not end the listing.
      std::error_code status_error;
      const fs::file_status status = fs::status(it->path(), status_error);
      if (!status_error && fs::is_regular_file(status)) {
        found.push_back(it->path().string());
        continue;
      }
      skipped << "memprobe: fleet: skipped "
              << analysis::escape_control(fmt::format("{}: {}", it->path().string(), not_a_file_reason(*it, status, status_error)))
              << "\n";
    }
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
    throw UsageError(fmt::format("--format: '{}' is not one of text, markdown, csv, json, html", format));
  std::vector<analysis::FleetInput> inputs;
  for (const std::string& file : fleet_files(paths, std::cerr))
    inputs.push_back({file, analysis::load_run(file).results});
  const analysis::Fleet fleet = analysis::analyze_fleet(inputs);
  std::string text;
  if (format == "json")
    text = analysis::fleet_to_json(fleet).dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  else if (*table_format == analysis::TableFormat::kHtml)
    text = analysis::html_document(
        fmt::format("memprobe fleet: {} run{}", inputs.size(), inputs.size() == 1 ? "" : "s"), "memprobe fleet",
        analysis::render_fleet(fleet, *table_format));
  else
    text = analysis::render_fleet(fleet, *table_format);
  out << text;
  return fail_on_outlier && fleet.flagged_runs() > 0 ? kExitFlagged : 0;
}

}  // namespace memprobe::harness
