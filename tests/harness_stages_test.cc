// `memprobe run` measures family by family and sizes each from what the run
// measured before it. Properties that hold on any machine: the latency sweep
// records where it ended and why; every page policy's curve has the same
// points and the same chain pattern; a sweep that says it showed DRAM has a
// DRAM plateau in its own file; families after latency were sized from it.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <map>
#include <set>
#include <string>

#include "analysis/families/latency.h"
#include "analysis/families/tlb.h"
#include "analysis/results_json.h"
#include "harness/stages.h"
#include "tests/command_runner.h"
#include "tests/emulation.h"

namespace memprobe {
namespace {

namespace fs = std::filesystem;
using testing::run_command_line;

// `memprobe run <args> --out F` (exit status 0 asserted), the file loaded.
struct RunAndFile {
  testing::CommandResult run;
  analysis::Results results;
};
RunAndFile run_and_load(const std::string& args) {
  const fs::path dir = fs::temp_directory_path() / ("memprobe-stages-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const std::string out = (dir / "r.json").string();
  RunAndFile got;
  got.run = run_command_line(std::string(MEMPROBE_BINARY) + " run " + args + " --out " + out);
  EXPECT_EQ(got.run.exit_status, 0) << got.run.err;
  if (got.run.exit_status == 0) got.results = analysis::load_results(out);
  fs::remove_all(dir);
  return got;
}

// Under emulation too: these properties hold whichever way a sweep ends.
TEST(StagesTest, LatencySweepRecordsItsEndAndCurvesShareTheirPoints) {
  const auto [r, results] = run_and_load("--quick --only latency,stride");
  ASSERT_EQ(r.exit_status, 0);

  ASSERT_TRUE(results.extra.contains("latency_sweep")) << r.err;
  const auto& sweep = results.extra["latency_sweep"];
  const auto up_to = sweep.at("up_to_bytes").get<std::uint64_t>();
  const std::string reason = sweep.at("end_reason").get<std::string>();
  EXPECT_FALSE(reason.empty());
  EXPECT_NE(r.err.find("latency sweep ended at"), std::string::npos) << r.err;

  // The sweep's first step reaches kFirstLatencySweepTopBytes unless its bound is lower.
  std::map<std::string, std::set<double>> sizes_by_page;
  std::map<std::string, std::set<std::string>> methods_by_page;
  for (const analysis::Case& c : results.cases) {
    if (c.family != "latency") continue;
    const std::string page = c.params.at("page").get<std::string>();
    const double ws = c.params.at("working_set_bytes").get<double>();
    EXPECT_LE(ws, static_cast<double>(up_to)) << c.name;
    sizes_by_page[page].insert(ws);
    methods_by_page[page].insert(c.params.at("tlb_method").get<std::string>());
  }
  ASSERT_EQ(sizes_by_page.size(), 2u) << "4k and thp";
  EXPECT_EQ(sizes_by_page["4k"], sizes_by_page["thp"]) << "every policy measures the same working sets";
  EXPECT_EQ(methods_by_page["4k"], methods_by_page["thp"]) << "one chain pattern for every page policy";
  EXPECT_EQ(methods_by_page["4k"].size(), 1u);
  // The largest point is the grid's last one within the sweep's end (the
  // grid has at least 2 points per octave).
  EXPECT_GE(*sizes_by_page["4k"].rbegin() * 1.5, static_cast<double>(up_to));

  // A sweep that ended on the DRAM rule has that plateau in its own file, and
  // the families after it were sized from the levels it found.
  // Any curve may end it (each step measures every policy).
  const std::string shown_by = reason.rfind("the ", 0) == 0 ? reason.substr(4, reason.find(' ', 4) - 4) : "";
  if (!shown_by.empty() && reason.find(" curve showed DRAM") != std::string::npos) {
    EXPECT_TRUE(analysis::latency_dram_plateau(results, shown_by).has_value()) << reason;
    const auto& measured = results.extra.at("sized_from_measured");
    EXPECT_GT(measured.at("dram_from_bytes").get<std::uint64_t>(), 0u);
    // Cache levels are steps in real hardware timing; an emulator's curve
    // can show a DRAM-like plateau with no cache step before it.
    if (const auto emulated = testing::emulation_reason())
      std::cout << *emulated << ": no cache level is expected from emulated timing\n";
    else
      EXPECT_FALSE(measured.at("cache_bytes").empty());
  } else {
    std::cout << "sweep ended without the DRAM rule (" << reason << "): the sized-from checks do not apply\n";
  }
}

// Drift re-measures every level that has a figure, at the working set the
// figure was read from, on the cache table's page with the latency chain.
TEST(StagesTest, DriftRemeasuresEachLevelWhereItsFigureWasRead) {
  const auto [r, results] = run_and_load("--quick --only latency,drift --pages 4k --max-working-set 16MiB");
  ASSERT_EQ(r.exit_status, 0);
  const std::string page = results.derived.extra.at("latency_curve_page").get<std::string>();
  std::set<std::string> latency_methods;
  for (const analysis::Case& c : results.cases)
    if (c.family == "latency") latency_methods.insert(c.params.at("tlb_method").get<std::string>());
  std::size_t levels_with_figures = 0;
  for (const analysis::CacheLevelRow& level : results.derived.cache_levels) {
    if (!level.latency_ns) continue;
    SCOPED_TRACE(level.level);
    ++levels_with_figures;
    ASSERT_TRUE(level.figure_bytes);
    std::size_t drift_cases = 0;
    for (const analysis::Case& c : results.cases) {
      if (c.family != "drift" || c.params.at("level") != level.level || c.params.contains("knee_check")) continue;
      ++drift_cases;
      EXPECT_EQ(c.params.at("page").get<std::string>(), page);
      EXPECT_EQ(c.params.at("working_set_bytes").get<double>(), *level.figure_bytes);
      EXPECT_EQ(latency_methods, std::set<std::string>{c.params.at("tlb_method").get<std::string>()});
      EXPECT_GT(c.metrics.at("ns_per_load"), 0);
    }
    EXPECT_EQ(drift_cases, 1u);
  }
  if (levels_with_figures == 0) {
    // Levels are steps in real hardware timing; an emulator's flat curve can
    // have none, and then drift re-measures nothing.
    const auto emulated = testing::emulation_reason();
    ASSERT_TRUE(emulated) << "no cache level has a figure on real hardware";
    std::cout << *emulated << ": no level figure, so no drift case\n";
    for (const analysis::Case& c : results.cases) EXPECT_NE(c.family, "drift") << c.name;
    return;
  }
  ASSERT_TRUE(results.derived.extra.contains("drift"));
  EXPECT_EQ(results.derived.extra.at("drift").size(), levels_with_figures);
}

// Drift re-checks each knee the latency curve detected (once it has shown
// DRAM, as the sizes later families take): one case half an octave below and
// one above it, on the cache table's page with the latency chain; and the
// knee drift table has a row per such level. Under emulation a flat curve
// may detect no knee, and then there is nothing to re-check.
TEST(StagesTest, DriftRechecksEachDetectedKneeBelowAndAbove) {
  const auto [r, results] = run_and_load("--quick --only latency,drift");
  ASSERT_EQ(r.exit_status, 0);
  const bool sized_from_dram = results.extra.contains("sized_from_measured") &&
                               results.extra.at("sized_from_measured").at("dram_from_bytes").get<std::uint64_t>() > 0;
  const std::string page = results.derived.extra.value("latency_curve_page", "");
  std::set<std::string> latency_methods;
  for (const analysis::Case& c : results.cases)
    if (c.family == "latency") latency_methods.insert(c.params.at("tlb_method").get<std::string>());
  std::size_t checked_levels = 0;
  for (const analysis::CacheLevelRow& level : results.derived.cache_levels) {
    SCOPED_TRACE(level.level);
    std::map<std::string, const analysis::Case*> sides;
    for (const analysis::Case& c : results.cases)
      if (c.family == "drift" && c.params.at("level") == level.level && c.params.contains("knee_check"))
        sides[c.params.at("knee_check").get<std::string>()] = &c;
    if (!level.detected_bytes || !sized_from_dram) {
      EXPECT_TRUE(sides.empty()) << "no knee handed to drift, no knee check";
      continue;
    }
    ++checked_levels;
    ASSERT_EQ(sides.size(), 2u);
    ASSERT_TRUE(sides.count("below") && sides.count("above"));
    const double knee = *level.detected_bytes;
    for (const auto& [side, c] : sides) {
      EXPECT_EQ(c->params.at("knee_bytes").get<double>(), knee);
      EXPECT_EQ(c->params.at("page").get<std::string>(), page);
      EXPECT_EQ(latency_methods, std::set<std::string>{c->params.at("tlb_method").get<std::string>()});
      EXPECT_GT(c->metrics.at("ns_per_load"), 0);
    }
    // Half an octave either side, in whole lines.
    const double line = sides["below"]->params.at("stride_bytes").get<double>();
    EXPECT_NEAR(sides["below"]->params.at("working_set_bytes").get<double>(), knee / std::sqrt(2.0), line);
    EXPECT_NEAR(sides["above"]->params.at("working_set_bytes").get<double>(), knee * std::sqrt(2.0), line);
  }
  if (checked_levels == 0) {
    if (const auto emulated = testing::emulation_reason())
      std::cout << *emulated << ": no knee detected, so no knee check\n";
    else
      std::cout << "no knee was handed to drift (the sweep showed no DRAM plateau): nothing to re-check\n";
    EXPECT_FALSE(results.derived.extra.contains("knee_drift"));
    return;
  }
  ASSERT_TRUE(results.derived.extra.contains("knee_drift"));
  EXPECT_EQ(results.derived.extra.at("knee_drift").size(), checked_levels);
  for (const auto& row : results.derived.extra.at("knee_drift")) EXPECT_FALSE(row.at("status").get<std::string>().empty());
}

// Without latency in the run there is nothing to re-measure: said, not failed.
TEST(StagesTest, DriftWithoutLatencySaysWhy) {
  const auto [r, results] = run_and_load("--quick --only drift");
  ASSERT_EQ(r.exit_status, 0);
  std::size_t drift_entries = 0;
  for (const analysis::UnavailableFigure& u : results.unavailable) {
    if (u.what != "drift") continue;
    ++drift_entries;
    EXPECT_NE(u.reason.find("--only latency,drift"), std::string::npos) << u.reason;
  }
  EXPECT_EQ(drift_entries, 1u);
  EXPECT_TRUE(results.cases.empty());
}

TEST(StagesTest, TlbSweepRecordsItsEndAndGoesPastTheL2KneeItReports) {
  const auto [r, results] = run_and_load("--quick --only tlb --pages 4k");
  ASSERT_EQ(r.exit_status, 0);
  ASSERT_TRUE(results.extra.contains("tlb_sweep")) << r.err;
  const auto up_to_pages = results.extra["tlb_sweep"].at("up_to_pages").get<double>();
  const std::string reason = results.extra["tlb_sweep"].at("end_reason").get<std::string>();
  EXPECT_NE(r.err.find("tlb sweep ended at"), std::string::npos) << r.err;
  const auto curve = analysis::tlb_curve(results, "4k");
  ASSERT_FALSE(curve.empty());
  EXPECT_EQ(curve.back().pages, up_to_pages) << "the recorded end is the last measured point";
  EXPECT_EQ(analysis::tlb_sweep_complete(results, "4k").has_value(), reason.find("L2 DTLB knee at") != std::string::npos)
      << "the file's own curve agrees with the reason it ended for: " << reason;
}

// A synthetic 4k TLB curve: tlb - reference steps up by l2_hit_cycles past
// l1_entries and by walk_cycles past l2_entries; 4 points per octave from 8
// pages to top_pages, the tlb family's grid; deterministic +-2 % noise.
analysis::Results tlb_results(double l1_entries, double l2_entries, double top_pages) {
  analysis::Results r;
  r.machine.core_hz = 1e9;  // cycles == ns
  unsigned noise = 7;
  for (int k = 0;; ++k) {
    const double pages = std::round(8 * std::pow(2.0, k / 4.0));
    if (pages > top_pages) break;
    const double ref = 5;
    const double extra = pages <= l1_entries ? 0 : pages <= l2_entries ? 8 : 60;
    noise = noise * 1103515245u + 12345u;
    const double jitter = 1 + 0.02 * ((noise >> 16) % 201 / 100.0 - 1);
    for (const std::string role : {"tlb", "reference"}) {
      analysis::Case c;
      c.family = "tlb";
      c.name = "tlb/" + std::string(role == "tlb" ? "4k" : "reference") + "/pages:" + std::to_string(pages);
      c.params = {{"pages", pages}, {"role", role}, {"page", role == "tlb" ? "4k" : "thp"}};
      const double cycles = role == "tlb" ? (ref + extra) * jitter : ref;
      c.metrics = {{"cycles_per_load", cycles}, {"ns_per_load", cycles}};
      r.cases.push_back(c);
    }
  }
  return r;
}

TEST(TlbCurveCompleteTest, NotUntilTheSweepIsTwoOctavesPastTheL2Knee) {
  // Zen 5's 4096-entry L2 DTLB, where CPUID's overflowing field says 128.
  EXPECT_FALSE(analysis::tlb_sweep_complete(tlb_results(96, 4096, 1024), "4k")) << "only the L1 step";
  EXPECT_FALSE(analysis::tlb_sweep_complete(tlb_results(96, 4096, 8192), "4k")) << "one octave past L2";
  const auto done = analysis::tlb_sweep_complete(tlb_results(96, 4096, 32768), "4k");
  ASSERT_TRUE(done);
  EXPECT_NE(done->find("L2 DTLB knee"), std::string::npos) << *done;
}

TEST(TlbCurveCompleteTest, ABigL2DtlbNeedsTheSweepToGrowPastTheFirstOne) {
  // 16384 pages, the first sweep's floor, is enough for 2048 entries but not
  // for 8192: the harness must extend.
  EXPECT_TRUE(analysis::tlb_sweep_complete(tlb_results(64, 2048, 16384), "4k"));
  EXPECT_FALSE(analysis::tlb_sweep_complete(tlb_results(64, 8192, 16384), "4k"));
  EXPECT_TRUE(analysis::tlb_sweep_complete(tlb_results(64, 8192, 65536), "4k"));
  EXPECT_FALSE(analysis::tlb_sweep_complete(tlb_results(64, 8192, 65536), "thp")) << "no thp points";
}

TEST(LatencySweepTimeTest, TheLargestOctaveIsTheCasesAboveHalfTheTop) {
  // 4k and thp cases at 8, 16, 24 and 32 MiB; only 4k cases above 16 MiB count.
  analysis::Results r;
  std::map<std::string, double> seconds;
  for (const std::string page : {"4k", "thp"})
    for (const double mib : {8.0, 16.0, 24.0, 32.0}) {
      analysis::Case c;
      c.family = "latency";
      c.name = fmt::format("latency/{}/{}MiB", page, mib);
      c.params = {{"page", page}, {"working_set_bytes", mib * 1024 * 1024}};
      r.cases.push_back(c);
      seconds[c.name] = mib / 8;  // 1, 2, 3, 4 s
    }
  EXPECT_DOUBLE_EQ(harness::largest_octave_seconds(r, seconds, "4k", 32ull << 20), 3 + 4);
  EXPECT_DOUBLE_EQ(harness::largest_octave_seconds(r, seconds, "4k", 16ull << 20), 2);
  EXPECT_DOUBLE_EQ(harness::largest_octave_seconds(r, seconds, "hugetlb-2m", 32ull << 20), 0) << "no such cases";
  EXPECT_DOUBLE_EQ(harness::largest_octave_seconds(r, {}, "4k", 32ull << 20), 0) << "no timings yet";
}

TEST(LatencySweepTimeTest, OneMoreOctaveCostsTwiceTheLargestOctaveSoFar) {
  // 3 s so far over every policy, their last octave 1 s together: the next
  // octave is about 2 s more.
  EXPECT_DOUBLE_EQ(harness::predicted_latency_seconds(3, 1), 5);
  EXPECT_DOUBLE_EQ(harness::predicted_latency_seconds(3, 0), 3) << "no timing yet adds nothing";
}

}  // namespace
}  // namespace memprobe
