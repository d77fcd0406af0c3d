// The one derive path (analysis/loaded_run.h) and the gate's "compared
// nothing" rule, on values: what a reader sees of a file is derived from its
// cases, and the note names where the stored section disagrees.
#include <gtest/gtest.h>

#include <string>

#include "analysis/compare.h"
#include "analysis/gate.h"
#include "analysis/loaded_run.h"
#include "analysis/results_json.h"

namespace memprobe::analysis {
namespace {

// A latency curve with two plateaus (about 1.5 ns to 32 KiB, 5 ns beyond),
// each case's spread the same repetitions as its metric.
Results two_plateau_run(double scale = 1.0) {
  Results r;
  r.machine.logical_cpus = 2;
  r.machine.core_hz = 3e9;
  r.machine.caches = {{1, "data", 32768, 64, 8}, {2, "unified", 1048576, 64, 16}};
  for (double bytes = 4096; bytes <= 8 * 1048576; bytes *= 2) {
    Case c;
    c.family = "latency";
    c.name = "latency/4k/" + std::to_string(static_cast<long>(bytes));
    c.params = {{"working_set_bytes", bytes}, {"page", "4k"}, {"stride_bytes", 64}};
    const double ns = (bytes <= 32768 ? 1.5 : bytes <= 1048576 ? 5.0 : 80.0) * scale;
    c.metrics = {{"ns_per_load", ns}, {"cycles_per_load", ns * 3}};
    c.spread = {5, ns * 0.99, ns, ns * 1.01};
    c.backing = {"4k", "4k", 0.0};
    r.cases.push_back(c);
  }
  return r;
}

TEST(LoadedRunTest, StoredConclusionsGiveWayToTheCasesAndTheNoteNamesWhere) {
  Results stored = two_plateau_run();
  CacheLevelRow fake;
  fake.level = "L1";
  fake.latency_ns = 99.0;
  stored.derived.cache_levels = {fake};
  const LoadedRun run = derive_from_cases(stored, "r.json");
  ASSERT_FALSE(run.results.derived.cache_levels.empty());
  EXPECT_EQ(run.results.derived.cache_levels.front().level, "L1");
  ASSERT_TRUE(run.results.derived.cache_levels.front().latency_ns);
  EXPECT_NEAR(*run.results.derived.cache_levels.front().latency_ns, 1.5, 0.1);
  EXPECT_EQ(run.stored_derived_note.rfind("r.json: its stored derived figures", 0), 0u) << run.stored_derived_note;
  EXPECT_NE(run.stored_derived_note.find("/derived/cache_levels/0/"), std::string::npos) << run.stored_derived_note;
  EXPECT_EQ(run.stored_derived_note.find('\n'), std::string::npos);
  // Derived again and stored as such: nothing to say.
  EXPECT_EQ(derive_from_cases(run.results, "r.json").stored_derived_note, "");
}

TEST(LoadedRunTest, NoCasesDeriveNothingWhateverIsStored) {
  Results stored = derive_from_cases(two_plateau_run(), "r.json").results;
  ASSERT_FALSE(stored.derived.cache_levels.empty());
  stored.cases.clear();
  const LoadedRun run = derive_from_cases(stored, "r.json");
  EXPECT_TRUE(run.results.derived.cache_levels.empty());
  for (const auto& [key, value] : run.results.derived.extra.items())
    EXPECT_TRUE(value.is_null() || value.empty()) << key << ": " << value;
  EXPECT_NE(run.stored_derived_note, "");
}

TEST(GateNothingComparedTest, AGateWithNoSharedFigureFailsAndSaysWhy) {
  const Results a = derive_from_cases(two_plateau_run(), "a.json").results;
  Results b = two_plateau_run(2.0);
  for (Case& c : b.cases) {
    c.family = "renamed";
    c.name = "renamed/" + c.name;
  }
  b = derive_from_cases(b, "b.json").results;
  const GateResult gate = regression_gate(compare_results(a, b), 5);
  EXPECT_TRUE(gate.failed());
  EXPECT_EQ(gate.count(GateOutcome::kFail), 0u) << "no check failed: the gate fails for comparing nothing";
  EXPECT_NE(gate.nothing_compared.find("share no figure"), std::string::npos) << gate.nothing_compared;
  EXPECT_NE(render_gate(gate).find("regression gate: FAIL: A and B share no figure"), std::string::npos);
  const std::string junit = render_junit(compare_results(a, b), gate);
  EXPECT_NE(junit.find("failures=\"1\""), std::string::npos) << junit;
  EXPECT_NE(junit.find("<failure type=\"nothing compared\""), std::string::npos) << junit;
  // The same runs compared with themselves share every figure: a pass.
  EXPECT_FALSE(regression_gate(compare_results(a, a), 5).failed());
}

}  // namespace
}  // namespace memprobe::analysis
