// compare_results on synthetic pairs: verdicts that account for each side's
// spread, cases on one side only, machine differences first, metric direction.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "analysis/compare.h"
#include "analysis/gate.h"
#include "tests/kvm_machine.h"
#include "tests/text_checks.h"

namespace memprobe::analysis {
namespace {

using memprobe::testing::expect_contains_each;

constexpr double kKiB = 1024.0;
constexpr double kMiB = 1024.0 * kKiB;

Case latency_case(const std::string& name, double median, double min, double max) {
  Case c;
  c.family = "latency";
  c.name = name;
  c.params = {{"working_set_bytes", 1 * kMiB}, {"page", "4k"}};
  c.metrics = {{"ns_per_load", median}, {"cycles_per_load", median * 3.2}};
  c.spread = {5, min, median, max};
  c.backing = {"4k", "4k", 0.0};
  return c;
}

// A case with one metric and a tight spread (±1 %) over 5 repetitions.
Case one_metric_case(const std::string& family, const std::string& name, const std::string& metric, double value) {
  Case c;
  c.family = family;
  c.name = name;
  c.metrics = {{metric, value}};
  c.spread = {5, value * 0.99, value, value * 1.01};
  return c;
}

Results base_run() {
  Results r = testing::kvm_amd_run("AMD EPYC 9R14", "6.1.0-18-cloud-amd64", 2.6e9, 3.7e9);
  r.command = "memprobe run --pages 4k";
  r.machine.caches = {{1, "data", 32 * kKiB, 64, 8}, {2, "unified", 1 * kMiB, 64, 8}};
  r.cases = {latency_case("latency/4k/bytes:16384", 1.10, 1.08, 1.12),
             latency_case("latency/4k/bytes:1048576", 4.00, 3.95, 4.05),
             latency_case("latency/4k/bytes:268435456", 90.0, 88.0, 92.0)};
  CacheLevelRow l1{"L1", 32 * kKiB, 32 * kKiB, 1.10, 4.07, 1.0, ""};
  CacheLevelRow dram{"DRAM", std::nullopt, std::nullopt, 90.0, 333.0, 2.0, ""};
  r.derived.cache_levels = {l1, dram};
  r.derived.extra["latency_curve_page"] = "4k";
  r.derived.extra["hugepage"] = nlohmann::json::array(
      {{{"working_set_bytes", 256 * kMiB}, {"page", "2m"}, {"speedup_vs_4k", 1.6}, {"note", "a"}}});
  return r;
}

const CaseComparison& find_case(const Comparison& c, const std::string& name) {
  const auto it = std::find_if(c.cases.begin(), c.cases.end(), [&](const CaseComparison& x) { return x.name == name; });
  EXPECT_NE(it, c.cases.end()) << name;
  return *it;
}

const FigureComparison& find_figure(const Comparison& c, const std::string& figure) {
  const auto it =
      std::find_if(c.figures.begin(), c.figures.end(), [&](const FigureComparison& x) { return x.figure == figure; });
  EXPECT_NE(it, c.figures.end()) << figure;
  return *it;
}

TEST(CompareTest, IdenticalRunsAreAllWithinNoise) {
  const Results a = base_run();
  const Comparison c = compare_results(a, a);
  EXPECT_TRUE(c.machine.empty());
  ASSERT_EQ(c.cases.size(), 3u);
  for (const CaseComparison& x : c.cases) {
    EXPECT_EQ(x.verdict, Verdict::kWithinNoise) << x.name;
    ASSERT_TRUE(x.ratio);
    EXPECT_DOUBLE_EQ(*x.ratio, 1.0);
  }
  ASSERT_FALSE(c.figures.empty());
  for (const FigureComparison& f : c.figures) EXPECT_EQ(f.verdict, Verdict::kWithinNoise) << f.figure;
  const std::string text = render_comparison(c);
  EXPECT_NE(text.find("machine and settings: no differences"), std::string::npos) << text;
  EXPECT_NE(text.find("3 of 3 cases within noise"), std::string::npos) << text;
}

TEST(CompareTest, TwiceAsSlowWithTightSpreadsIsSlowerWithRatio2) {
  const Results a = base_run();
  Results b = a;
  b.cases[1] = latency_case("latency/4k/bytes:1048576", 8.00, 7.95, 8.05);
  const Comparison c = compare_results(a, b);
  const CaseComparison& x = find_case(c, "latency/4k/bytes:1048576");
  EXPECT_EQ(x.metric, "ns_per_load");
  EXPECT_EQ(x.verdict, Verdict::kSlower);
  ASSERT_TRUE(x.ratio);
  EXPECT_DOUBLE_EQ(*x.ratio, 2.0);
  EXPECT_EQ(verdict_name(x.verdict), "slower");
  // And the other way round it is faster.
  EXPECT_EQ(find_case(compare_results(b, a), "latency/4k/bytes:1048576").verdict, Verdict::kFaster);

  const std::string text = render_comparison(c);
  expect_contains_each(text, {"latency/4k/bytes:1048576", "2.00", "slower", "2 of 3 cases within noise"});
  // Within-noise cases are counted, not listed, unless asked for.
  EXPECT_EQ(text.find("latency/4k/bytes:16384"), std::string::npos) << text;
  CompareOptions all;
  all.all_cases = true;
  EXPECT_NE(render_comparison(compare_results(a, b, all)).find("latency/4k/bytes:16384"), std::string::npos);
}

TEST(CompareTest, OverlappingSpreadsAreWithinNoiseEvenAboveTheFloor) {
  const Results a = base_run();
  Results b = a;
  // 10 % slower in the median, but A's max (4.5) lies above B's min (4.3).
  b.cases[1] = latency_case("latency/4k/bytes:1048576", 4.40, 4.30, 4.60);
  Results a_wide = a;
  a_wide.cases[1] = latency_case("latency/4k/bytes:1048576", 4.00, 3.90, 4.50);
  EXPECT_EQ(find_case(compare_results(a_wide, b), "latency/4k/bytes:1048576").verdict, Verdict::kWithinNoise);
  // The same medians with tight spreads are slower.
  EXPECT_EQ(find_case(compare_results(a, b), "latency/4k/bytes:1048576").verdict, Verdict::kSlower);
}

TEST(CompareTest, DifferenceBelowTheNoiseFloorIsWithinNoise) {
  const Results a = base_run();
  Results b = a;
  b.cases[1] = latency_case("latency/4k/bytes:1048576", 4.08, 4.07, 4.09);  // +2 %, no overlap
  EXPECT_EQ(find_case(compare_results(a, b), "latency/4k/bytes:1048576").verdict, Verdict::kWithinNoise);
  CompareOptions strict;
  strict.noise_floor_pct = 1.0;
  EXPECT_EQ(find_case(compare_results(a, b, strict), "latency/4k/bytes:1048576").verdict, Verdict::kSlower);
}

TEST(CompareTest, CasesOnOneSideOnlyAreListed) {
  Results a = base_run();
  Results b = base_run();
  a.cases.push_back(latency_case("latency/hugetlb-1g/bytes:1048576", 3.0, 2.9, 3.1));
  b.cases.push_back(latency_case("latency/hugetlb-2m/bytes:1048576", 3.5, 3.4, 3.6));
  const Comparison c = compare_results(a, b);
  ASSERT_EQ(c.cases.size(), 5u);
  EXPECT_EQ(find_case(c, "latency/hugetlb-1g/bytes:1048576").verdict, Verdict::kOnlyInA);
  EXPECT_EQ(find_case(c, "latency/hugetlb-2m/bytes:1048576").verdict, Verdict::kOnlyInB);
  EXPECT_EQ(c.cases.back().name, "latency/hugetlb-2m/bytes:1048576");  // B-only after A's
  const std::string text = render_comparison(c);
  EXPECT_NE(text.find("only in A"), std::string::npos) << text;
  EXPECT_NE(text.find("only in B"), std::string::npos) << text;
  EXPECT_NE(text.find("latency/hugetlb-1g/bytes:1048576"), std::string::npos) << text;
}

TEST(CompareTest, RunsOfDifferentPagePoliciesArePairedByWorkingSet) {
  const Results a = base_run();  // latency/4k/...
  Results b = base_run();
  b.command = "memprobe run --pages 2m";
  for (Case& c : b.cases) {
    c.name.replace(c.name.find("/4k/"), 4, "/hugetlb-2m/");
    c.params["page"] = "hugetlb-2m";
  }
  b.cases[2] = latency_case("latency/hugetlb-2m/bytes:268435456", 60.0, 59.0, 61.0);
  b.cases[2].params["page"] = "hugetlb-2m";
  const Comparison c = compare_results(a, b);
  ASSERT_EQ(c.cases.size(), 3u);
  const CaseComparison& dram = find_case(c, "latency/4k→hugetlb-2m/bytes:268435456");
  EXPECT_EQ(dram.page_a, "4k");
  EXPECT_EQ(dram.page_b, "hugetlb-2m");
  EXPECT_EQ(dram.verdict, Verdict::kFaster);
  EXPECT_EQ(find_case(c, "latency/4k→hugetlb-2m/bytes:16384").verdict, Verdict::kWithinNoise);
  EXPECT_EQ(c.machine.front().what, "command");
}

TEST(CompareTest, MachineDifferencesComeFirst) {
  const Results a = base_run();
  Results b = a;
  b.machine.thp_enabled = "never";
  b.machine.kernel = "6.8.0-1-amd64";
  b.machine.core_hz = 3.75e9;  // +1.4 %: within the clock tolerance, not listed
  b.machine.hugepages_2m_reserved = 512;
  const Comparison c = compare_results(a, b);
  const auto has = [&](const std::string& what) {
    return std::any_of(c.machine.begin(), c.machine.end(), [&](const Difference& d) { return d.what == what; });
  };
  EXPECT_TRUE(has("THP enabled"));
  EXPECT_TRUE(has("kernel"));
  EXPECT_TRUE(has("hugetlb 2 MiB pool"));
  EXPECT_FALSE(has("core clock"));
  EXPECT_FALSE(has("THP defrag"));

  const std::string text = render_comparison(c);
  const auto thp = text.find("THP enabled");
  const auto kernel = text.find("6.8.0-1-amd64");
  const auto figures = text.find("derived figures");
  const auto cases = text.find("cases (");
  ASSERT_NE(thp, std::string::npos) << text;
  ASSERT_NE(kernel, std::string::npos) << text;
  EXPECT_LT(thp, figures);
  EXPECT_LT(kernel, figures);
  EXPECT_LT(figures, cases);
  EXPECT_NE(text.find("never"), std::string::npos);
}

TEST(CompareTest, DirectionFollowsTheMetricName) {
  EXPECT_EQ(metric_direction("ns_per_load"), Direction::kLowerIsBetter);
  EXPECT_EQ(metric_direction("cycles_per_load"), Direction::kLowerIsBetter);
  EXPECT_EQ(metric_direction("us_per_fault"), Direction::kLowerIsBetter);
  EXPECT_EQ(metric_direction("latency_ns"), Direction::kLowerIsBetter);
  EXPECT_EQ(metric_direction("cycles"), Direction::kLowerIsBetter);
  EXPECT_EQ(metric_direction("gb_per_s"), Direction::kHigherIsBetter);
  EXPECT_EQ(metric_direction("gbps"), Direction::kHigherIsBetter);
  EXPECT_EQ(metric_direction("speedup_vs_4k"), Direction::kHigherIsBetter);
  EXPECT_EQ(metric_direction("detected_bytes"), Direction::kNeutral);
  EXPECT_EQ(metric_direction("detected_entries"), Direction::kNeutral);

  // A bandwidth case: more GB/s in B is faster.
  Results a = base_run();
  a.cases.push_back(one_metric_case("bandwidth", "bandwidth/read/threads:1", "gb_per_s", 20.0));
  Results b = a;
  b.cases.back() = one_metric_case("bandwidth", "bandwidth/read/threads:1", "gb_per_s", 30.0);
  const Comparison comparison = compare_results(a, b);  // find_case returns a reference into it
  const CaseComparison& x = find_case(comparison, "bandwidth/read/threads:1");
  EXPECT_EQ(x.metric, "gb_per_s");
  EXPECT_EQ(x.verdict, Verdict::kFaster);
  EXPECT_EQ(find_case(compare_results(b, a), "bandwidth/read/threads:1").verdict, Verdict::kSlower);
}

TEST(CompareTest, DerivedFiguresUseCacheSpreadAndMatchExtraRowsByIdentity) {
  const Results a = base_run();
  Results b = a;
  // DRAM latency 4 % higher: outside the 3 % floor, but inside the plateaus'
  // spreads (± 4 % / 2 each) -> within noise.
  b.derived.cache_levels[1].latency_ns = 93.6;
  b.derived.cache_levels[1].spread_pct = 4.0;
  Results a4 = a;
  a4.derived.cache_levels[1].spread_pct = 4.0;
  EXPECT_EQ(find_figure(compare_results(a4, b), "cache DRAM latency_ns").verdict, Verdict::kWithinNoise);
  // With tight spreads it is slower.
  b.derived.cache_levels[1].spread_pct = 0.5;
  Results a_tight = a;
  a_tight.derived.cache_levels[1].spread_pct = 0.5;
  EXPECT_EQ(find_figure(compare_results(a_tight, b), "cache DRAM latency_ns").verdict, Verdict::kSlower);

  // Hugepage rows match by page and working set despite a different note;
  // the speed-up is higher-is-better.
  b.derived.extra["hugepage"][0]["speedup_vs_4k"] = 1.0;
  b.derived.extra["hugepage"][0]["note"] = "b";
  b.derived.extra["hugepage"].push_back({{"working_set_bytes", 256 * kMiB}, {"page", "1g"}, {"speedup_vs_4k", 1.7}});
  const Comparison c = compare_results(a, b);
  const FigureComparison& hp = find_figure(c, "hugepage 2m 256 MiB speedup_vs_4k");
  EXPECT_EQ(hp.verdict, Verdict::kSlower);
  ASSERT_TRUE(hp.ratio);
  EXPECT_NEAR(*hp.ratio, 1.0 / 1.6, 1e-12);
  EXPECT_EQ(find_figure(c, "hugepage 1g 256 MiB speedup_vs_4k").verdict, Verdict::kOnlyInB);
  // A detected size that moved is larger/smaller, not faster/slower.
  b.derived.cache_levels[0].detected_bytes = 48 * kKiB;
  EXPECT_EQ(find_figure(compare_results(a, b), "cache L1 detected_bytes").verdict, Verdict::kLarger);

  const std::string text = render_comparison(c);
  EXPECT_NE(text.find("hugepage 2m 256 MiB speedup_vs_4k"), std::string::npos) << text;
  const std::string csv = render_comparison_csv(c);
  EXPECT_EQ(csv.rfind("section,name,metric,a,b,ratio,verdict\n", 0), 0u);
  EXPECT_NE(csv.find("figure,hugepage 1g 256 MiB speedup_vs_4k,speedup_vs_4k,,1.7,,only in B"), std::string::npos)
      << csv;
}

// A detected size is a point on the 4-per-octave sweep grid: one grid step
// apart is within noise, a factor of two is a real difference.
TEST(CompareGridTest, DetectedSizesAreComparedAtTheSweepResolution) {
  Results a = base_run();
  Results near = a;
  near.derived.cache_levels[0].detected_bytes = 32 * kKiB * std::exp2(0.25);
  const Comparison within = compare_results(a, near);
  EXPECT_EQ(find_figure(within, "cache L1 detected_bytes").verdict, Verdict::kWithinNoise);
  Results far = a;
  far.derived.cache_levels[0].detected_bytes = 64 * kKiB;
  const Comparison larger = compare_results(a, far);
  EXPECT_EQ(find_figure(larger, "cache L1 detected_bytes").verdict, Verdict::kLarger);
}

// A run with one figure per direction: L2 latency (lower is better, plateau
// spread `spread_pct`), DRAM read bandwidth (higher is better) and a
// detected size (not gated).
Results gate_run(double l2_ns, double spread_pct, double gb_per_s = 20.0, double l2_bytes = 1 * kMiB) {
  Results r = base_run();
  r.derived.cache_levels = {{"L1", 32 * kKiB, 32 * kKiB, 1.10, 4.07, 1.0, ""},
                            {"L2", 1 * kMiB, l2_bytes, l2_ns, l2_ns * 3.7, spread_pct, ""}};
  r.derived.extra = nlohmann::json::object();
  r.derived.extra["bandwidth"] = nlohmann::json::array(
      {{{"kernel", "read"}, {"threads", 1}, {"working_set_bytes", 256 * kMiB}, {"level", "DRAM"}, {"gb_per_s", gb_per_s}}});
  r.cases = {latency_case("latency/4k/bytes:1048576", l2_ns, l2_ns * (1 - spread_pct / 200), l2_ns * (1 + spread_pct / 200))};
  return r;
}

std::vector<std::string> failed_checks(const GateResult& gate) {
  std::vector<std::string> names;
  for (const GateCheck& c : gate.checks)
    if (c.outcome == GateOutcome::kFail) names.push_back(c.name);
  return names;
}

TEST(GateTest, TwentyPercentRegressionBeyondNoiseFailsAtTen) {
  const Comparison c = compare_results(gate_run(4.0, 1.0), gate_run(4.8, 1.0));
  const GateResult gate = regression_gate(c, 10);
  EXPECT_TRUE(gate.failed());
  EXPECT_EQ(failed_checks(gate), (std::vector<std::string>{"cache L2 latency_ns", "cache L2 latency_cycles"}));
  const std::string text = render_gate(gate);
  EXPECT_NE(text.find("regression gate: FAIL"), std::string::npos) << text;
  EXPECT_NE(text.find("cache L2 latency_ns"), std::string::npos) << text;
  EXPECT_NE(text.find("worse by 20.0 %"), std::string::npos) << text;
  // The same 20 % is within a 25 % limit.
  EXPECT_FALSE(regression_gate(c, 25).failed());
  // Faster is never a regression.
  EXPECT_FALSE(regression_gate(compare_results(gate_run(4.8, 1.0), gate_run(4.0, 1.0)), 10).failed());
}

TEST(GateTest, TheSameChangeWithinNoisePasses) {
  // 20 % apart, but each plateau spreads 40 %: the intervals overlap.
  const GateResult gate = regression_gate(compare_results(gate_run(4.0, 40.0), gate_run(4.8, 40.0)), 10);
  EXPECT_FALSE(gate.failed()) << render_gate(gate);
  EXPECT_NE(render_gate(gate).find("regression gate: pass"), std::string::npos);
}

TEST(GateTest, DirectionDecidesWhatIsWorse) {
  // Bandwidth down 20 % fails; up 20 % does not.
  const GateResult down = regression_gate(compare_results(gate_run(4.0, 1.0, 20.0), gate_run(4.0, 1.0, 16.0)), 10);
  EXPECT_EQ(failed_checks(down), std::vector<std::string>{"bandwidth read DRAM 1 thread 256 MiB gb_per_s"});
  EXPECT_FALSE(regression_gate(compare_results(gate_run(4.0, 1.0, 20.0), gate_run(4.0, 1.0, 24.0)), 10).failed());
  EXPECT_DOUBLE_EQ(*worse_by_pct("gb_per_s", 20, 16), 20.0);
  EXPECT_DOUBLE_EQ(*worse_by_pct("latency_ns", 4, 5), 25.0);
  EXPECT_FALSE(worse_by_pct("detected_bytes", 4, 5));
  // A detected size two grid steps smaller is a difference, not a regression.
  const Comparison sizes = compare_results(gate_run(4.0, 1.0), gate_run(4.0, 1.0, 20.0, 0.5 * kMiB));
  EXPECT_EQ(find_figure(sizes, "cache L2 detected_bytes").verdict, Verdict::kSmaller);
  EXPECT_FALSE(regression_gate(sizes, 10).failed());
}

TEST(GateTest, CasesAreCheckedOnlyWhereNoDerivedFigureCoversThem) {
  Results a = gate_run(4.0, 1.0);
  a.cases.push_back(one_metric_case("custom", "custom/thing", "ns_per_load", 10.0));
  Results b = a;
  // A latency case, covered by the cache figures; and one no derived figure covers.
  b.cases[0] = one_metric_case("latency", "latency/4k/bytes:1048576", "ns_per_load", 8.0);
  b.cases[1] = one_metric_case("custom", "custom/thing", "ns_per_load", 13.0);
  const GateResult gate = regression_gate(compare_results(a, b), 10);
  EXPECT_EQ(failed_checks(gate), std::vector<std::string>{"custom/thing"});
  EXPECT_TRUE(std::none_of(gate.checks.begin(), gate.checks.end(),
                           [](const GateCheck& c) { return c.name == "latency/4k/bytes:1048576"; }));
}

TEST(GateTest, SeveralRunsPerSideUseTheSpreadBetweenRuns) {
  // Each run is tight (1 %), but A's two runs lie 20 % apart: B at +20 % of
  // the first A run is inside A's between-run spread.
  const std::vector<Results> a = {gate_run(4.0, 1.0), gate_run(4.8, 1.0)};
  const std::vector<Results> b = {gate_run(4.8, 1.0), gate_run(4.7, 1.0)};
  EXPECT_TRUE(regression_gate(compare_results(a[0], b[0]), 10).failed());
  const Comparison multi = compare_runs(a, b);
  EXPECT_EQ(multi.side_a.runs, 2u);
  EXPECT_EQ(multi.side_b.runs, 2u);
  EXPECT_EQ(find_figure(multi, "cache L2 latency_ns").verdict, Verdict::kWithinNoise);
  ASSERT_TRUE(find_figure(multi, "cache L2 latency_ns").a);
  EXPECT_DOUBLE_EQ(*find_figure(multi, "cache L2 latency_ns").a, 4.4);  // the median of the runs
  EXPECT_EQ(find_case(multi, "latency/4k/bytes:1048576").verdict, Verdict::kWithinNoise);
  EXPECT_FALSE(regression_gate(multi, 10).failed());
  // Two tight runs per side that agree keep a real regression visible.
  const std::vector<Results> a_tight = {gate_run(4.0, 1.0), gate_run(4.05, 1.0)};
  EXPECT_TRUE(regression_gate(compare_runs(a_tight, b), 10).failed());
  // The report says what each side's verdicts rest on.
  const std::string single = render_comparison(compare_results(a[0], b[0]));
  EXPECT_NE(single.find("A: one run: its verdicts rest on within-run spread only"), std::string::npos) << single;
  const std::string text = render_comparison(multi);
  EXPECT_NE(text.find("A: 2 runs"), std::string::npos) << text;
  EXPECT_EQ(text.find("within-run spread only"), std::string::npos) << text;
}

// A minimal XML well-formedness check: every tag closed in order, attribute
// values quoted, no raw '<' or '&' outside markup and entities. Returns the
// names of the elements in document order.
std::vector<std::string> parse_xml_elements(const std::string& xml, std::string& error) {
  std::vector<std::string> elements, open;
  std::size_t i = 0;
  const auto entity_ok = [&](std::size_t at) {
    for (const char* e : {"&amp;", "&lt;", "&gt;", "&quot;", "&apos;"})
      if (xml.compare(at, std::strlen(e), e) == 0) return true;
    return false;
  };
  while (i < xml.size()) {
    if (xml[i] == '&' && !entity_ok(i)) return error = "bare & at " + std::to_string(i), elements;
    if (xml[i] != '<') {
      ++i;
      continue;
    }
    const std::size_t end = xml.find('>', i);
    if (end == std::string::npos) return error = "unclosed tag", elements;
    std::string tag = xml.substr(i + 1, end - i - 1);
    i = end + 1;
    if (tag.front() == '?') continue;  // the declaration
    if (tag.find('<') != std::string::npos) return error = "'<' inside a tag", elements;
    if (std::count(tag.begin(), tag.end(), '"') % 2) return error = "unbalanced quotes in <" + tag + ">", elements;
    if (tag.front() == '/') {
      if (open.empty() || open.back() != tag.substr(1)) return error = "mismatched </" + tag.substr(1) + ">", elements;
      open.pop_back();
      continue;
    }
    const bool self_closing = tag.back() == '/';
    const std::string name = tag.substr(0, tag.find_first_of(" /"));
    elements.push_back(name);
    if (!self_closing) open.push_back(name);
  }
  if (!open.empty()) error = "unclosed <" + open.back() + ">";
  return elements;
}

TEST(GateTest, JunitIsWellFormedWithOneTestcasePerCheck) {
  Results a = gate_run(4.0, 1.0);
  Results b = gate_run(4.8, 1.0);
  // A name that needs escaping.
  for (Results* r : {&a, &b}) r->derived.extra["bandwidth"][0]["kernel"] = "read<&\"'>";
  const Comparison c = compare_results(a, b);
  const GateResult gate = regression_gate(c, 10);
  const std::string xml = render_junit(c, gate);
  std::string error;
  const std::vector<std::string> elements = parse_xml_elements(xml, error);
  ASSERT_EQ(error, "") << xml;
  EXPECT_EQ(static_cast<std::size_t>(std::count(elements.begin(), elements.end(), "testcase")), gate.checks.size());
  EXPECT_EQ(static_cast<std::size_t>(std::count(elements.begin(), elements.end(), "failure")), 2u);
  EXPECT_EQ(std::count(elements.begin(), elements.end(), "testsuite"), 1);
  EXPECT_NE(xml.find("name=\"bandwidth read&lt;&amp;&quot;&apos;&gt; DRAM 1 thread 256 MiB gb_per_s\""),
            std::string::npos)
      << xml;
  EXPECT_NE(xml.find("failures=\"2\""), std::string::npos);
}

TEST(CompareInterruptedTest, WhatAnInterruptedSideHidIsNamed) {
  const Results a = base_run();
  Results b = a;
  b.interrupted = true;
  b.cases.pop_back();                  // the DRAM case never ran
  b.derived.cache_levels.pop_back();   // so no DRAM row
  const Comparison c = compare_results(a, b);
  EXPECT_EQ(c.side_b.interrupted, 1u);
  EXPECT_EQ(find_case(c, "latency/4k/bytes:268435456").verdict, Verdict::kHiddenInB);
  EXPECT_EQ(find_figure(c, "cache DRAM latency_ns").verdict, Verdict::kHiddenInB);
  const std::string text = render_comparison(c);
  EXPECT_NE(text.find("B was interrupted (1 of 1 run): it hid 2 derived figures and 1 case (latency) measured in A"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("B interrupted"), std::string::npos);
  const GateResult gate = regression_gate(c, 10);
  EXPECT_TRUE(gate.failed());
  EXPECT_EQ(failed_checks(gate), (std::vector<std::string>{"cache DRAM latency_ns", "cache DRAM latency_cycles",
                                                           "latency/4k/bytes:268435456"}));
  // An interrupted run may still write the row, empty ("no tlb/reference
  // pairs measured"): what it lacks is hidden all the same.
  Results b_empty_row = b;
  b_empty_row.derived.cache_levels.push_back({"DRAM", std::nullopt, std::nullopt, std::nullopt, std::nullopt,
                                              std::nullopt, "sweep did not reach DRAM"});
  EXPECT_EQ(find_figure(compare_results(a, b_empty_row), "cache DRAM latency_ns").verdict, Verdict::kHiddenInB);
  b_empty_row.interrupted = false;
  EXPECT_EQ(find_figure(compare_results(a, b_empty_row), "cache DRAM latency_ns").verdict, Verdict::kNotComparable);
  // Without the interruption the same gap is only "only in A", not a failure.
  b.interrupted = false;
  EXPECT_EQ(find_case(compare_results(a, b), "latency/4k/bytes:268435456").verdict, Verdict::kOnlyInA);
  EXPECT_FALSE(regression_gate(compare_results(a, b), 10).failed());
}

Case tlb_case(const std::string& page, const std::string& role, double pages, double ns, double spread_pct) {
  Case c;
  c.family = "tlb";
  c.name = "tlb/" + (role == "reference" ? std::string("reference") : page) + "/pages:" + std::to_string(int(pages));
  c.params = {{"page", page}, {"role", role}, {"pages", pages}};
  c.metrics = {{"ns_per_load", ns}};
  c.spread = {3, ns, ns, ns * (1 + spread_pct / 100)};
  return c;
}

// A run with a tlb sweep (2 points per octave, as --quick) whose cases
// spread by `spread_pct`, and an L2 DTLB row with its knee at `knee` pages.
Results tlb_run(double miss_cost_cycles, double knee, double spread_pct) {
  Results r = base_run();
  r.cases.clear();
  for (double pages = 8; pages <= 8192; pages *= std::sqrt(2.0)) {
    const double rounded = std::round(pages);
    r.cases.push_back(tlb_case("4k", "tlb", rounded, 3.0, spread_pct));
    r.cases.push_back(tlb_case("4k", "reference", rounded, 1.0, spread_pct));
  }
  r.derived.extra = nlohmann::json::object();
  r.derived.extra["tlb"] = nlohmann::json::array({{{"level", "L2 DTLB"},
                                                   {"page", "4k"},
                                                   {"page_bytes", 4096},
                                                   {"detected_entries", knee},
                                                   {"reach_bytes", knee * 4096},
                                                   {"miss_cost_cycles", miss_cost_cycles}}});
  return r;
}

TEST(CompareNoiseTest, DerivedCostsCarryTheirFamilysCaseSpread) {
  // Tight cases (1 %): a 30 % higher miss cost is slower and fails the gate.
  const Comparison tight = compare_results(tlb_run(20, 1448, 1), tlb_run(26, 1448, 1));
  EXPECT_EQ(find_figure(tight, "tlb L2 DTLB 4k 4 KiB miss_cost_cycles").verdict, Verdict::kSlower);
  EXPECT_TRUE(regression_gate(tight, 10).failed());
  // The same with cases that spread 40 %: within the noise of both runs.
  const Comparison noisy = compare_results(tlb_run(20, 1448, 40), tlb_run(26, 1448, 40));
  EXPECT_EQ(find_figure(noisy, "tlb L2 DTLB 4k 4 KiB miss_cost_cycles").verdict, Verdict::kWithinNoise);
  EXPECT_FALSE(regression_gate(noisy, 10).failed());
}

TEST(CompareNoiseTest, DetectedSizesUseTheRunsOwnSweepStep) {
  // The sweep has 2 points per octave: a knee one step away (1448 -> 2048)
  // is within noise, two steps (1448 -> 2896) are smaller/larger.
  const Results a = tlb_run(20, 1448, 1);
  EXPECT_EQ(find_figure(compare_results(a, tlb_run(20, 2048, 1)), "tlb L2 DTLB 4k 4 KiB detected_entries").verdict,
            Verdict::kWithinNoise);
  const Comparison moved = compare_results(a, tlb_run(400, 5793, 1));
  EXPECT_EQ(find_figure(moved, "tlb L2 DTLB 4k 4 KiB detected_entries").verdict, Verdict::kLarger);
  EXPECT_EQ(find_figure(moved, "tlb L2 DTLB 4k 4 KiB reach_bytes").verdict, Verdict::kLarger);
  // The cost at another knee is another figure: n/a, and so not a regression.
  const FigureComparison& cost = find_figure(moved, "tlb L2 DTLB 4k 4 KiB miss_cost_cycles");
  EXPECT_EQ(cost.verdict, Verdict::kNotComparable);
  EXPECT_EQ(cost.note, "the knee moved");
  EXPECT_FALSE(regression_gate(moved, 5).failed());
  EXPECT_NE(render_comparison(moved).find("n/a: the knee moved"), std::string::npos);
}

// The shape of an A/A pair measured on a loaded 2-vCPU guest: the second
// run's L2 plateau read 2.9x the first's, with plateau spreads of 83-96 %.
// The gate at 5 % passes: the plateaus' intervals overlap.
TEST(CompareNoiseTest, AnAaPairWithWideSpreadsPassesTheGate) {
  Results a = gate_run(4.66, 96.0);
  Results b = gate_run(13.5, 83.0);
  const Comparison c = compare_results(a, b);
  EXPECT_EQ(find_figure(c, "cache L2 latency_ns").verdict, Verdict::kWithinNoise);
  EXPECT_FALSE(regression_gate(c, 5).failed()) << render_gate(regression_gate(c, 5));
  EXPECT_FALSE(regression_gate(compare_results(b, a), 5).failed());
}

// Strings from a results file (the command line, the CPU model) reach the
// terminal escaped in compare's text and CSV output: a file cannot forge lines
// or send escape sequences.
TEST(CompareEscapeTest, StringsFromTheFilesAreEscapedInTextAndCsv) {
  Results a = base_run();
  Results b = base_run();
  b.command = "memprobe run\x1b[2J\nforged line";
  b.machine.cpu_model = "CPU\x1b]0;title\x07";
  const Comparison c = compare_results(a, b);
  for (const std::string& out : {render_comparison(c), render_comparison_csv(c)}) {
    EXPECT_EQ(out.find('\x1b'), std::string::npos) << out;
    EXPECT_EQ(out.find('\x07'), std::string::npos) << out;
    EXPECT_EQ(out.find("\nforged line"), std::string::npos) << out;
  }
}

}  // namespace
}  // namespace memprobe::analysis
