#include "harness/cli.h"

#include <fmt/format.h>

#include "benchmarks/family.h"
#include "core/buffer.h"
#include "harness/run.h"

namespace memprobe::harness {

namespace {

CLI::App* add_run_command(CLI::App& app, RunArgs& a) {
  CLI::App* run = app.add_subcommand("run", "measure, print the tables, optionally write a results file");
  run->add_option("--only", a.only, "comma-separated families to run (default: all)")->type_name("LIST");
  run->add_option("--pages", a.pages, "page policies: 4k, thp, 2m (hugetlb-2m), 1g (hugetlb-1g)")
      ->type_name("LIST")
      ->capture_default_str();
  run->add_flag("--quick", a.quick, "fewer sweep points and repetitions");
  run->add_option("--budget", a.budget_s,
                  "time budget in seconds: shortens each repetition to fit (never lengthens)")
      ->type_name("SECONDS");
  run->add_option("--out", a.out_path, "write the results (JSON, schema memprobe/1) to this file")
      ->type_name("FILE");
  run->add_option("--cpu", a.cpu,
                  "logical CPU to pin to, within the CPU mask memprobe was started with (default: its last CPU)")
      ->type_name("N");
  run->add_option("--cpus", a.cpus,
                  "CPUs the c2c family pairs, e.g. 0-3,8, within the CPU mask memprobe was started with "
                  "(default: all of them)")
      ->type_name("LIST");
  run->add_option("--reserve-hugepages", a.reserve_2m,
                  "grow the 2 MiB hugetlb pool to N pages for this run (root; restored on exit and on SIGINT/SIGTERM)")
      ->type_name("N");
  run->add_option("--reserve-hugepages-1g", a.reserve_1g,
                  "grow the 1 GiB hugetlb pool to N pages for this run (root; restored on exit and on SIGINT/SIGTERM)")
      ->type_name("N");
  run->add_option("--counters", a.counters,
                  "comma-separated performance events (libpfm4 names or page-faults, minor-faults, ...); "
                  "default: this CPU's memory events (see memprobe counters)")
      ->type_name("LIST");
  run->add_option("--max-working-set", a.max_working_set,
                  "largest working set any case uses, e.g. 512MiB, 4G (the latency sweep ends exactly there; "
                  "default: 8x the last-level cache, 4x with --quick; at most half of MemAvailable)")
      ->type_name("SIZE");
  run->add_option("--nodes", a.nodes,
                  "comma-separated NUMA nodes of the numa family's matrix (default: every node, at most 8)")
      ->type_name("N,...");
  run->add_option("--seed", a.seed, "seed of the random chains")->capture_default_str()->type_name("N");
  run->footer(families_help());
  return run;
}

CLI::App* add_report_command(CLI::App& app, ReportArgs& a) {
  CLI::App* report = app.add_subcommand("report", "print the tables of a results file");
  report->add_option("file", a.path, "results file (JSON)")->required()->type_name("FILE");
  report->add_option("--format", a.format,
                     "text, markdown, csv or html (one self-contained page: tables and the plots as inline SVG)")
      ->capture_default_str();
  report->add_option("--plot", a.plot_dir, "also write plots (SVG and PNG, through gnuplot) into this directory")
      ->type_name("DIR");
  return report;
}

CLI::App* add_compare_command(CLI::App& app, CompareArgs& a) {
  CLI::App* compare = app.add_subcommand(
      "compare", "results files side by side (A B, or A1 A2 -- B1 B2): B/A and a verdict per figure and case");
  compare->add_option("files", a.files, "A B, or several runs per side: A1 A2 -- B1 B2 (options before --)")
      ->required()
      ->type_name("FILE");
  compare->add_flag("--all", a.command.all_cases, "list every case, also those within noise");
  compare->add_option("--format", a.command.format,
                      "text, csv, junit (JUnit XML of the regression gate) or html (one self-contained page)")
      ->capture_default_str();
  compare->add_option("--fail-on-regression", a.fail_on_regression_pct,
                      "exit 3 when a figure of B is worse than A by more than PCT % and beyond noise")
      ->type_name("PCT");
  return compare;
}

CLI::App* add_fleet_command(CLI::App& app, FleetArgs& a) {
  CLI::App* fleet = app.add_subcommand("fleet", "many runs in one table, grouped by machine, outliers flagged");
  fleet->add_option("paths", a.paths, "results files, or directories of them (*.json)")->required()->type_name("PATH");
  fleet->add_option("--format", a.format, "text, markdown, csv, json or html (one self-contained page)")
      ->capture_default_str();
  fleet->add_flag("--fail-on-outlier", a.fail_on_outlier, "exit 3 when a run is flagged");
  return fleet;
}

}  // namespace

std::string families_help() {
  std::string text = "families:\n";
  for (const auto& f : memprobe::bench::families())
    text += fmt::format("  {:<10} {}\n", f.name, f.description);
  return text;
}

std::vector<std::string> page_values() {
  std::vector<std::string> values;
  for (const core::PagePolicy policy : core::kAllPagePolicies) values.emplace_back(core::cli_name(policy));
  // The short names of the hugetlb policies (parse_page_policy accepts both).
  values.emplace_back("2m");
  values.emplace_back("1g");
  return values;
}

void build_cli(CLI::App& app, CliArgs& args) {
  app.require_subcommand(1);
  app.set_version_flag("--version", version_text());
  app.footer(fmt::format("Subcommand help: memprobe <subcommand> --help\n{}  {}", kBenchSynopsis, kBenchDescription));
  args.run_cmd = add_run_command(app, args.run);
  args.report_cmd = add_report_command(app, args.report);
  args.compare_cmd = add_compare_command(app, args.compare);
  args.fleet_cmd = add_fleet_command(app, args.fleet);
  args.check_cmd =
      app.add_subcommand("check", "environment report: THP, hugetlb pools, PMU, frequency, swap; with fixes");
  args.list_cmd = app.add_subcommand("list", "list the benchmark families");
  args.counters_cmd =
      app.add_subcommand("counters", "list this machine's default performance events and whether they open");
}

}  // namespace memprobe::harness
