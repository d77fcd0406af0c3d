// compare_results on synthetic pairs: verdicts that account for each side's
// spread, cases on one side only, machine differences first, metric direction.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "analysis/compare.h"

namespace memprobe::analysis {
namespace {

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

Results base_run() {
  Results r;
  r.command = "memprobe run --pages 4k";
  r.started_at = "2024-05-01T12:00:00Z";
  MachineInfo& m = r.machine;
  m.cpu_model = "AMD EPYC 9R14";
  m.vendor = "AMD";
  m.logical_cpus = 2;
  m.kernel = "6.1.0-18-cloud-amd64";
  m.hypervisor = "KVM";
  m.tsc_hz = 2.6e9;
  m.core_hz = 3.7e9;
  m.core_hz_source = "calibrated";
  m.caches = {{1, "data", 32 * kKiB, 64, 8}, {2, "unified", 1 * kMiB, 64, 8}};
  m.thp_enabled = "madvise";
  m.thp_defrag = "madvise";
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
  EXPECT_NE(text.find("latency/4k/bytes:1048576"), std::string::npos) << text;
  EXPECT_NE(text.find("2.00"), std::string::npos) << text;
  EXPECT_NE(text.find("slower"), std::string::npos) << text;
  EXPECT_NE(text.find("2 of 3 cases within noise"), std::string::npos) << text;
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
  Case bw;
  bw.family = "bandwidth";
  bw.name = "bandwidth/read/threads:1";
  bw.metrics = {{"gb_per_s", 20.0}};
  bw.spread = {5, 19.8, 20.0, 20.2};
  a.cases.push_back(bw);
  Results b = a;
  b.cases.back().metrics["gb_per_s"] = 30.0;
  b.cases.back().spread = {5, 29.8, 30.0, 30.2};
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

}  // namespace
}  // namespace memprobe::analysis

namespace memprobe::analysis {
namespace {

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

}  // namespace
}  // namespace memprobe::analysis
