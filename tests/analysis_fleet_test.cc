// analyze_fleet on synthetic fleets: an outlier run and a run with another
// setting are flagged by file, runs within noise are not, machine models are
// not mixed, and a group of one says it has nothing to compare against.
#include <gtest/gtest.h>

#include <algorithm>
#include <sstream>
#include <string>
#include <vector>

#include "analysis/fleet.h"
#include "analysis/results_json.h"

namespace memprobe::analysis {
namespace {

constexpr double kKiB = 1024.0;
constexpr double kMiB = 1024.0 * kKiB;
constexpr double kGiB = 1024.0 * kMiB;

// A run of one node: latencies scaled by `latency_factor`, with a small
// deterministic jitter (within ±2 %) so a group is not unnaturally tight.
Results node_run(const std::string& host, double latency_factor, int jitter_seed,
                 const std::string& cpu_model = "Intel Xeon Platinum 8375C") {
  const double jitter = 1.0 + 0.02 * (((jitter_seed * 37) % 9) - 4) / 4.0;
  Results r;
  MachineInfo& m = r.machine;
  m.cpu_model = cpu_model;
  m.logical_cpus = 64;
  m.memory_bytes = 251.5 * kGiB;
  m.host = host;
  m.kernel = "6.1.0-18-amd64";
  m.thp_enabled = "madvise";
  m.thp_defrag = "madvise";
  const double f = latency_factor * jitter;
  r.derived.cache_levels = {{"L1", 48 * kKiB, 48 * kKiB, 1.25 * f, 4.0 * f, 1.0, ""},
                            {"L2", 1.25 * kMiB, 1.25 * kMiB, 4.1 * f, 13.0 * f, 1.0, ""},
                            {"L3", 54 * kMiB, 48 * kMiB, 18.0 * f, 58.0 * f, 2.0, ""},
                            {"DRAM", std::nullopt, std::nullopt, 95.0 * f, 300.0 * f, 2.0, ""}};
  r.derived.extra["tlb"] = nlohmann::json::array(
      {{{"level", "L1 DTLB"}, {"page", "4k"}, {"page_bytes", 4096}, {"detected_entries", 64}},
       {{"level", "L2 DTLB"}, {"page", "4k"}, {"page_bytes", 4096}, {"detected_entries", 2048}}});
  r.derived.extra["pagefault"] = nlohmann::json::array(
      {{{"kind", "anon-4k"}, {"phase", "cold"}, {"page", "4k"}, {"us_per_fault", 0.25 * jitter}}});
  r.derived.extra["bandwidth"] = nlohmann::json::array(
      {{{"kernel", "read"}, {"threads", 1}, {"level", "DRAM"}, {"gb_per_s", 11.0 / jitter}},
       {{"kernel", "read"}, {"threads", 8}, {"level", "DRAM"}, {"gb_per_s", 60.0 / jitter}}});
  return r;
}

std::vector<FleetInput> eight_nodes() {
  std::vector<FleetInput> inputs;
  for (int i = 1; i <= 8; ++i) {
    const std::string host = "node" + std::to_string(i);
    inputs.push_back({"results/" + host + "-100-" + std::to_string(i) + ".json", node_run(host, 1.0, i)});
  }
  return inputs;
}

std::vector<std::string> flagged_files(const Fleet& fleet) {
  std::vector<std::string> files;
  for (const FleetGroup& g : fleet.groups)
    for (const FleetRun& r : g.runs)
      if (!r.flags.empty()) files.push_back(r.file);
  return files;
}

std::size_t figure_index(const std::string& name) {
  const auto& figures = headline_figures();
  const auto it = std::find_if(figures.begin(), figures.end(), [&](const FleetFigure& f) { return f.name == name; });
  EXPECT_NE(it, figures.end()) << name;
  return static_cast<std::size_t>(it - figures.begin());
}

TEST(FleetTest, HeadlineFiguresComeFromTheDerivedTables) {
  const auto values = headline_values(node_run("n", 1.0, 4));  // jitter_seed 4: factor 1.0
  EXPECT_DOUBLE_EQ(*values[figure_index("L2 ns")], 4.1 * (1.0 + 0.02 * ((4 * 37 % 9) - 4) / 4.0));
  EXPECT_DOUBLE_EQ(*values[figure_index("L3 size")], 48 * kMiB);
  EXPECT_DOUBLE_EQ(*values[figure_index("L2 DTLB")], 2048);
  EXPECT_TRUE(values[figure_index("fault us")].has_value());
  // Bandwidth at the most threads measured.
  EXPECT_NEAR(*values[figure_index("DRAM read GB/s")], 60.0, 2.0);
  EXPECT_FALSE(headline_values(Results{})[figure_index("L1 ns")].has_value());
}

TEST(FleetTest, EightRunsWithinNoiseAreNotFlagged) {
  const Fleet fleet = analyze_fleet(eight_nodes());
  ASSERT_EQ(fleet.groups.size(), 1u);
  EXPECT_EQ(fleet.groups[0].runs.size(), 8u);
  EXPECT_EQ(fleet.flagged_runs(), 0u) << render_fleet(fleet);
  ASSERT_TRUE(fleet.groups[0].median[figure_index("L2 ns")]);
  for (const FleetRun& run : fleet.groups[0].runs) {
    ASSERT_TRUE(run.deviation_pct[figure_index("L2 ns")]);
    EXPECT_LT(std::abs(*run.deviation_pct[figure_index("L2 ns")]), 5.0);
  }
  EXPECT_NE(render_fleet(fleet).find("no run flagged"), std::string::npos);
}

TEST(FleetTest, OneRunWithLatencies25PercentSlowerIsFlaggedByItsFile) {
  auto inputs = eight_nodes();
  inputs[4].results = node_run("node5", 1.25, 5);
  const Fleet fleet = analyze_fleet(inputs);
  EXPECT_EQ(flagged_files(fleet), std::vector<std::string>{"results/node5-100-5.json"}) << render_fleet(fleet);
  const FleetRun& slow = fleet.groups[0].runs[4];
  EXPECT_TRUE(slow.outlier[figure_index("L2 ns")]);
  EXPECT_TRUE(slow.outlier[figure_index("DRAM ns")]);
  EXPECT_GT(*slow.deviation_pct[figure_index("L2 ns")], 15.0);
  // Its sizes did not change: not outliers.
  EXPECT_FALSE(slow.outlier[figure_index("L2 size")]);
  const std::string text = render_fleet(fleet);
  EXPECT_NE(text.find("results/node5-100-5.json: L2 ns"), std::string::npos) << text;
  EXPECT_NE(text.find("1 run flagged"), std::string::npos) << text;
}

TEST(FleetTest, ThpOffInOneRunIsFlaggedAgainstTheMajority) {
  auto inputs = eight_nodes();
  inputs[2].results.machine.thp_enabled = "never";
  const Fleet fleet = analyze_fleet(inputs);
  EXPECT_EQ(flagged_files(fleet), std::vector<std::string>{"results/node3-100-3.json"});
  const auto& flags = fleet.groups[0].runs[2].flags;
  ASSERT_EQ(flags.size(), 1u);
  EXPECT_EQ(flags[0], "THP enabled never (group: madvise)");
}

TEST(FleetTest, AMissingPoolAndAnotherKernelAreSettingsFlags) {
  auto inputs = eight_nodes();
  for (FleetInput& in : inputs) in.results.machine.hugepages_2m_reserved = 512;
  inputs[6].results.machine.hugepages_2m_reserved = 0;
  inputs[7].results.machine.kernel = "6.5.0-1-amd64";
  const Fleet fleet = analyze_fleet(inputs);
  EXPECT_EQ(flagged_files(fleet),
            (std::vector<std::string>{"results/node7-100-7.json", "results/node8-100-8.json"}));
  EXPECT_EQ(fleet.groups[0].runs[6].flags.at(0), "2 MiB pool 0 pages (group: 512 pages)");
  EXPECT_EQ(fleet.groups[0].runs[7].flags.at(0), "kernel 6.5.0-1-amd64 (group: 6.1.0-18-amd64)");
}

TEST(FleetTest, TwoMachineModelsAreNotMixedInOneGroup) {
  std::vector<FleetInput> inputs;
  for (int i = 1; i <= 4; ++i) {
    inputs.push_back({"a" + std::to_string(i) + ".json", node_run("a", 1.0, i)});
    // Another CPU model, 60 % slower: an outlier if it were in the same group.
    inputs.push_back({"b" + std::to_string(i) + ".json", node_run("b", 1.6, i, "AMD EPYC 9R14")});
  }
  const Fleet fleet = analyze_fleet(inputs);
  ASSERT_EQ(fleet.groups.size(), 2u);
  for (const FleetGroup& g : fleet.groups) {
    EXPECT_EQ(g.runs.size(), 4u);
    for (const FleetRun& r : g.runs) EXPECT_EQ(r.cpu_model, g.runs.front().cpu_model);
  }
  EXPECT_EQ(fleet.flagged_runs(), 0u) << render_fleet(fleet);
  // The same model with another memory size is another machine too.
  inputs[0].results.machine.memory_bytes = 128 * kGiB;
  EXPECT_EQ(analyze_fleet(inputs).groups.size(), 3u);
}

TEST(FleetTest, AGroupOfOneSaysItHasNothingToCompareAgainst) {
  auto inputs = eight_nodes();
  Results odd = node_run("odd", 2.0, 1, "Ampere Altra");
  odd.machine.thp_enabled = "never";
  inputs.push_back({"odd.json", odd});
  const Fleet fleet = analyze_fleet(inputs);
  ASSERT_EQ(fleet.groups.size(), 2u);
  EXPECT_EQ(fleet.groups[1].note, "one run: nothing to compare against");
  EXPECT_TRUE(fleet.groups[1].runs[0].flags.empty());
  EXPECT_NE(render_fleet(fleet).find("nothing to compare against"), std::string::npos);
}

TEST(FleetTest, RendersTextMarkdownCsvAndJson) {
  auto inputs = eight_nodes();
  inputs[4].results = node_run("node5", 1.25, 5);
  const Fleet fleet = analyze_fleet(inputs);
  const std::string csv = render_fleet(fleet, TableFormat::kCsv);
  // Header, 8 runs, the median row; notes are "# " comments.
  std::istringstream in(csv);
  std::size_t data_rows = 0;
  std::string header;
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    if (header.empty()) {
      header = line;
      continue;
    }
    ++data_rows;
  }
  EXPECT_EQ(header.rfind("group,file,host,CPU model,kernel,THP,pools,L1 ns,L1 ns dev %", 0), 0u) << header;
  EXPECT_EQ(data_rows, 9u) << csv;
  EXPECT_NE(render_fleet(fleet, TableFormat::kMarkdown).find("| group |"), std::string::npos);
  const nlohmann::json doc = fleet_to_json(fleet);
  EXPECT_EQ(doc["flagged_runs"], 1);
  EXPECT_EQ(doc["groups"][0]["runs"][4]["file"], "results/node5-100-5.json");
  EXPECT_FALSE(doc["groups"][0]["runs"][4]["flags"].empty());
  EXPECT_EQ(doc["figures"].size(), headline_figures().size());
}

TEST(FleetTest, FingerprintRoundsMemoryToWholeGibibytes) {
  MachineInfo m;
  m.cpu_model = "X";
  m.logical_cpus = 2;
  m.memory_bytes = 23.54 * kGiB;
  EXPECT_EQ(machine_fingerprint(m), "X / 2 CPUs / 24 GiB");
  m.memory_bytes.reset();
  EXPECT_EQ(machine_fingerprint(m), "X / 2 CPUs / unknown memory");
}

// The machine section's host and memory size (the fingerprint's memory)
// survive a write and a read; a file without them reads as unknown.
TEST(FleetTest, HostAndMemorySizeRoundTripThroughTheResultsFile) {
  const Results written = node_run("node7", 1.0, 1);
  const Results read = results_from_json(to_json(written));
  EXPECT_EQ(read.machine.host, "node7");
  ASSERT_TRUE(read.machine.memory_bytes);
  EXPECT_DOUBLE_EQ(*read.machine.memory_bytes, 251.5 * kGiB);
  nlohmann::json old_file = to_json(written);
  old_file["machine"].erase("host");
  old_file["machine"].erase("memory_bytes");
  const Results old = results_from_json(old_file);
  EXPECT_EQ(old.machine.host, "");
  EXPECT_FALSE(old.machine.memory_bytes);
  EXPECT_EQ(machine_fingerprint(old.machine), "Intel Xeon Platinum 8375C / 64 CPUs / unknown memory");
}

}  // namespace
}  // namespace memprobe::analysis
