// memprobe's command line as CLI11 definitions: built once here, used by
// main.cc to parse and by memprobe_docgen (harness/docgen.cc) to write the
// man pages and the bash completion, so neither is ever typed by hand.
#pragma once

#include <CLI/CLI.hpp>

#include <string>
#include <string_view>
#include <vector>

#include "core/chain.h"
#include "harness/fleet_compare.h"

namespace memprobe::harness {

// `memprobe run`'s options as given. Every number is taken as text and
// parsed strictly (parse_count, parse_decimal, parse_max_working_set): CLI11
// would wrap "-3" into 2^64 - 3 for an unsigned option and read '' as 0.
struct RunArgs {
  std::string only, pages = "4k,thp", out_path, counters, max_working_set;
  std::string cpu, reserve_2m = "0", reserve_1g = "0", seed = std::to_string(memprobe::core::kDefaultChainSeed);
  std::string budget_s, nodes, cpus;
  bool quick = false;
};

struct ReportArgs {
  std::string path, format = "text", plot_dir;
};

struct CompareArgs {
  CompareCommand command;
  std::vector<std::string> files;
  std::string fail_on_regression_pct;  // text: parse_decimal
};

struct FleetArgs {
  std::vector<std::string> paths;
  std::string format = "text";
  bool fail_on_outlier = false;
};

// Every subcommand's parsed values, and the subcommands themselves (owned by
// the app build_cli filled).
struct CliArgs {
  RunArgs run;
  ReportArgs report;
  CompareArgs compare;
  FleetArgs fleet;
  CLI::App* run_cmd = nullptr;
  CLI::App* report_cmd = nullptr;
  CLI::App* compare_cmd = nullptr;
  CLI::App* fleet_cmd = nullptr;
  CLI::App* check_cmd = nullptr;
  CLI::App* list_cmd = nullptr;
  CLI::App* counters_cmd = nullptr;
};

// The top-level description, given to the app's constructor.
inline constexpr std::string_view kAppDescription =
    "memprobe: measures the memory hierarchy of this machine (latency per cache level, "
    "TLB reach, huge pages, page faults)";

// `memprobe bench`: not a CLI11 subcommand (its arguments go to Google
// Benchmark), described by these two strings in --help and in memprobe-bench(1).
inline constexpr std::string_view kBenchSynopsis = "memprobe bench [--max-working-set SIZE] [Google Benchmark flags]";
inline constexpr std::string_view kBenchDescription = "runs the raw cases with Google Benchmark's runner";

// Adds the version flag, the footer and every subcommand (run, report,
// compare, fleet, check, list, counters) with their options to `app`, bound
// to `args`. `app` must have been made with kAppDescription and "memprobe".
void build_cli(CLI::App& app, CliArgs& args);

// The families and what each measures, as `memprobe list` and run's help print them.
std::string families_help();

// The values --pages accepts (each parse_page_policy accepts).
std::vector<std::string> page_values();

}  // namespace memprobe::harness
