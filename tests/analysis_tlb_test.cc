// TLB knee detection on synthetic two-knee curves and its noise rule, the walk-cost arithmetic,
// the stride jump and the prefetcher bound (the line size: analysis_line_size_test.cc), and the derived JSON members.
#include "analysis/families/pagewalk.h"
#include "analysis/families/stride.h"
#include "analysis/families/tlb.h"

#include <gtest/gtest.h>

#include "tests/text_checks.h"

#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace memprobe::analysis {
namespace {

double unit_noise(std::mt19937_64& rng) { return static_cast<double>(rng() >> 11) * 0x1.0p-53 * 2 - 1; }

// The tlb family's grid: 4 points per octave from 8 pages, plus 0.75x,
// 0.875x, 1x, 1.125x, 1.25x of each anchor.
std::vector<double> page_grid(double max_pages, const std::vector<double>& anchors) {
  std::vector<double> pages;
  for (int k = 0;; ++k) {
    const double n = std::round(8 * std::pow(2.0, k / 4.0));
    if (n > max_pages) break;
    pages.push_back(n);
  }
  for (double a : anchors)
    for (double f : {0.75, 0.875, 1.0, 1.125, 1.25})
      if (a * f <= max_pages) pages.push_back(std::round(a * f));
  std::sort(pages.begin(), pages.end());
  pages.erase(std::unique(pages.begin(), pages.end()), pages.end());
  return pages;
}

struct TlbSpec {
  std::string page = "4k";
  double l1_entries = 64, l2_entries = 2048;
  double l2_hit_cycles = 7, walk_cycles = 40;
  double max_pages = 16384;
  double noise = 0.03;  // relative, on both chases
  bool flat = false;    // no TLB effect at all
  std::uint64_t seed = 11;
};

// tlb and reference cases: the reference follows the data's cache level
// (footprint = pages * 64 B through a 32 KiB L1 and 512 KiB L2), the tlb chase
// adds the TLB cost.
void add_tlb_cases(Results& results, const TlbSpec& spec, bool add_reference = true) {
  std::mt19937_64 rng(spec.seed);
  for (double n : page_grid(spec.max_pages, {spec.l1_entries, spec.l2_entries})) {
    const double footprint = n * 64;
    const double ref = footprint <= 32 * 1024 ? 4.5 : footprint <= 512 * 1024 ? 14 : 45;
    double tlb_extra = 0;
    if (!spec.flat) tlb_extra = n <= spec.l1_entries ? 0 : n <= spec.l2_entries ? spec.l2_hit_cycles : spec.walk_cycles;
    const double tlb = (ref + tlb_extra) * (1 + spec.noise * unit_noise(rng));
    const double ref_noisy = ref * (1 + spec.noise * unit_noise(rng));
    const auto pages = static_cast<std::uint64_t>(n);
    Case c;
    c.family = "tlb";
    c.name = "tlb/" + spec.page + "/pages:" + std::to_string(pages);
    c.params = {{"role", "tlb"}, {"page", spec.page}, {"pages", pages}};
    c.metrics = {{"cycles_per_load", tlb}, {"ns_per_load", tlb / 3}};
    results.cases.push_back(c);
    if (!add_reference) continue;
    Case r;
    r.family = "tlb";
    r.name = "tlb/reference/pages:" + std::to_string(pages);
    r.params = {{"role", "reference"}, {"page", "thp"}, {"pages", pages}, {"tlb_method", "huge-pages"}};
    r.metrics = {{"cycles_per_load", ref_noisy}, {"ns_per_load", ref_noisy / 3}};
    results.cases.push_back(r);
  }
}

Results machine_with_tlbs(double l1, double l2) {
  Results results;
  results.machine.core_hz = 3e9;
  results.machine.tlb = {{1, 4096, l1}, {2, 4096, l2}, {1, 2 * 1024 * 1024, l1}, {2, 2 * 1024 * 1024, l2}};
  return results;
}

const TlbLevelRow* find_row(const std::vector<TlbLevelRow>& rows, const std::string& level, const std::string& page) {
  for (const TlbLevelRow& r : rows)
    if (r.level == level && r.page == page) return &r;
  return nullptr;
}

// Within one grid step (a quarter octave) of the true entry count.
void expect_within_grid_step(const std::optional<double>& detected, double truth) {
  ASSERT_TRUE(detected.has_value());
  EXPECT_LE(std::abs(std::log2(*detected / truth)), 0.25 + 1e-9) << *detected << " vs " << truth;
}

TEST(TlbLevelsTest, RecoversTwoKneesFromANoisyCurve) {
  for (std::uint64_t seed = 1; seed <= 20; ++seed) {
    SCOPED_TRACE(seed);
    Results results = machine_with_tlbs(64, 2048);
    TlbSpec spec;
    spec.seed = seed;
    spec.noise = seed % 2 ? 0.03 : 0.08;  // +-8 %: about what a shared VM shows
    add_tlb_cases(results, spec);
    const auto rows = derive_tlb_levels(results);
    ASSERT_EQ(rows.size(), 2u);
    const TlbLevelRow* l1 = find_row(rows, "L1 DTLB", "4k");
    const TlbLevelRow* l2 = find_row(rows, "L2 DTLB", "4k");
    ASSERT_TRUE(l1 && l2);
    expect_within_grid_step(l1->detected_entries, 64);
    expect_within_grid_step(l2->detected_entries, 2048);
    EXPECT_EQ(l1->reported_entries, 64);
    EXPECT_EQ(l2->reported_entries, 2048);
    ASSERT_TRUE(l1->reach_bytes && l1->miss_cost_cycles && l2->miss_cost_cycles);
    EXPECT_DOUBLE_EQ(*l1->reach_bytes, *l1->detected_entries * 4096);
    EXPECT_NEAR(*l1->miss_cost_cycles, 7, 2.5) << "step height = L2-hit cost";
    EXPECT_NEAR(*l2->miss_cost_cycles, 33, 6) << "step height = walk - L2 hit";
  }
}

// An arm64 kernel with 64 KiB base pages: the "4k" policy's pages are what
// its cases recorded (page_bytes), and the reach is counted in those.
TEST(TlbLevelsTest, ReachIsInThePageSizeTheCasesRanOn) {
  Results results;
  results.machine.core_hz = 3e9;  // no machine.tlb: Arm reports no TLB geometry
  add_tlb_cases(results, TlbSpec{});
  for (Case& c : results.cases)
    if (c.params["role"] == "tlb") c.params["page_bytes"] = 65536;
  const auto rows = derive_tlb_levels(results);
  const TlbLevelRow* l1 = find_row(rows, "L1 DTLB", "4k");
  ASSERT_TRUE(l1);
  EXPECT_EQ(l1->page_bytes, 65536);
  expect_within_grid_step(l1->detected_entries, 64);
  ASSERT_TRUE(l1->reach_bytes);
  EXPECT_DOUBLE_EQ(*l1->reach_bytes, *l1->detected_entries * 65536);
  EXPECT_FALSE(l1->reported_entries);
}

// CPUID reports reported_l1/reported_l2 entries, the curve has its knees at
// l1/l2: the 4 KiB L1 row is checked within a grid step; the L2 row is returned.
TlbLevelRow misreported_l2_row(double reported_l1, double reported_l2, double l1, double l2) {
  Results results = machine_with_tlbs(reported_l1, reported_l2);
  TlbSpec spec;
  spec.l1_entries = l1;
  spec.l2_entries = l2;
  spec.max_pages = 16384;
  add_tlb_cases(results, spec);
  const auto rows = derive_tlb_levels(results);
  expect_within_grid_step(find_row(rows, "L1 DTLB", "4k")->detected_entries, l1);
  return *find_row(rows, "L2 DTLB", "4k");
}

TEST(TlbLevelsTest, KneesAreFoundWhereTheyAreNotWhereCpuidSaysTheyAre) {
  // A VM can report one geometry and show another: detection follows the curve.
  const TlbLevelRow l2 = misreported_l2_row(64, 2048, 48, 1536);
  expect_within_grid_step(l2.detected_entries, 1536);
  EXPECT_NE(l2.note.find("CPUID"), std::string::npos) << l2.note;
}

// Zen 5's case: CPUID's 12-bit L2 TLB field overflows and says 128 for a
// 4096-entry L2 DTLB (32x too small). The 4 KiB sweep goes to 16384 pages
// whatever CPUID says; the knee is found at 4096 and the note names CPUID's.
TEST(TlbLevelsTest, L2DtlbReportedThirtyTwoTimesTooSmallIsFoundWhereItIs) {
  const TlbLevelRow l2 = misreported_l2_row(96, 128, 96, 4096);
  expect_within_grid_step(l2.detected_entries, 4096);
  EXPECT_NE(l2.note.find("CPUID's 128"), std::string::npos) << l2.note;
}

TEST(TlbLevelsTest, FlatCurveHasNoDetectedEntriesAndSaysSo) {
  Results results = machine_with_tlbs(64, 2048);
  TlbSpec spec;
  spec.flat = true;
  add_tlb_cases(results, spec);
  const auto rows = derive_tlb_levels(results);
  ASSERT_EQ(rows.size(), 2u);
  for (const TlbLevelRow& r : rows) {
    EXPECT_FALSE(r.detected_entries.has_value()) << r.level;
    EXPECT_FALSE(r.reach_bytes.has_value());
    EXPECT_NE(r.note.find("no clear knee"), std::string::npos) << r.note;
  }
}

TEST(TlbLevelsTest, ShortSweepLeavesTheL2RowUndetectedWithTheReason) {
  Results results = machine_with_tlbs(64, 2048);
  TlbSpec spec;
  spec.page = "thp";
  spec.max_pages = 512;  // a memory budget cut the sweep
  add_tlb_cases(results, spec);
  const auto rows = derive_tlb_levels(results);
  expect_within_grid_step(find_row(rows, "L1 DTLB", "thp")->detected_entries, 64);
  const TlbLevelRow* l2 = find_row(rows, "L2 DTLB", "thp");
  EXPECT_FALSE(l2->detected_entries.has_value());
  EXPECT_NE(l2->note.find("sweep ended at 512 pages"), std::string::npos) << l2->note;
  EXPECT_DOUBLE_EQ(l2->page_bytes, 2.0 * 1024 * 1024);
}

TEST(TlbLevelsTest, CasesWithoutAReferenceAreNotUsed) {
  Results results = machine_with_tlbs(64, 2048);
  add_tlb_cases(results, TlbSpec{}, /*add_reference=*/false);
  EXPECT_TRUE(tlb_curve(results, "4k").empty());
  const auto rows = derive_tlb_levels(results);
  for (const TlbLevelRow& r : rows) EXPECT_FALSE(r.detected_entries.has_value());
}

// A synthetic curve for the step rule: delta(N) over a 4-cycle reference on
// the sweep's grid (anchors at 64, 362 and 2048 pages), each point with the
// delta spread spread(N) (cycles).
std::vector<TlbPoint> delta_curve(double (*delta)(double), double (*spread)(double)) {
  std::vector<TlbPoint> curve;
  for (double n : page_grid(16384, {64, 362, 2048})) {
    TlbPoint p;
    p.pages = n;
    p.ref_cycles = 4;
    p.tlb_cycles = 4 + delta(n);
    p.delta_spread_cycles = spread(n);
    curve.push_back(p);
  }
  return curve;
}

// L1 DTLB knee at 64 pages (7-cycle L2 hit), L2 DTLB knee at 2048 (40-cycle walk).
double two_steps(double n) { return n <= 64 ? 0 : n <= 2048 ? 7 : 40; }
// The same with a spurious 3-cycle plateau from 362 pages up to the L2 knee:
// what load on a shared VM drew in one run.
double two_steps_and_bump(double n) { return n <= 64 ? 0 : n <= 362 ? 7 : n <= 2048 ? 10 : 40; }
double small_spread(double) { return 0.2; }
double no_spread(double) { return 0; }

std::vector<double> knees_of(const std::vector<TlbStep>& steps) {
  std::vector<double> knees;
  for (const TlbStep& s : steps) knees.push_back(s.knee_pages);
  return knees;
}

TEST(TlbStepRuleTest, CleanTwoStepCurveGivesBothKneesWhereTheyWerePut) {
  const std::vector<TlbStep> steps = tlb_steps(delta_curve(two_steps, small_spread));
  ASSERT_EQ(knees_of(steps), (std::vector<double>{64, 2048}));
  EXPECT_NEAR(steps[0].height_cycles(), 7, 1e-9);
  EXPECT_NEAR(steps[1].height_cycles(), 33, 1e-9);
  EXPECT_NEAR(steps[0].noise_cycles, 0.2, 1e-9);
  EXPECT_NEAR(steps[0].needed_cycles, TlbStepRule{}.min_step_cycles, 1e-9) << "3 x 0.2 is below the floor";
}

// The same 3-cycle rise is a step on a quiet run and noise on a loud one: the
// rule follows the spread of the points, not a fixed height.
TEST(TlbStepRuleTest, ABumpAsHighAsItsPointsSpreadIsNoStep) {
  const auto loud_bump = [](double n) { return n > 362 && n <= 2048 ? 4.0 : 0.2; };
  const std::vector<TlbStep> loud = tlb_steps(delta_curve(two_steps_and_bump, loud_bump));
  EXPECT_EQ(knees_of(loud), (std::vector<double>{64, 2048}));

  const std::vector<TlbStep> candidates = tlb_step_candidates(delta_curve(two_steps_and_bump, loud_bump));
  ASSERT_EQ(knees_of(candidates), (std::vector<double>{64, 362, 2048}));
  EXPECT_FALSE(candidates[1].accepted);
  EXPECT_NEAR(candidates[1].height_cycles(), 3, 1e-9);
  EXPECT_NEAR(candidates[1].noise_cycles, 4, 1e-9) << "the noisier of the two plateaus";
  EXPECT_NEAR(candidates[1].needed_cycles, TlbStepRule{}.noise_multiple * 4, 1e-9);

  const std::vector<TlbStep> quiet = tlb_steps(delta_curve(two_steps_and_bump, small_spread));
  EXPECT_EQ(knees_of(quiet), (std::vector<double>{64, 362, 2048}));

  TlbStepRule lenient;
  lenient.noise_multiple = 0.5;  // 0.5 x 4 = 2 cycles < 3: the multiple decides
  EXPECT_EQ(knees_of(tlb_steps(delta_curve(two_steps_and_bump, loud_bump), lenient)),
            (std::vector<double>{64, 362, 2048}));
}

// Without spreads (older files) the fixed floor applies: a 1.5-cycle step
// is below it, and counts once its points show they repeat within 0.2 cycles.
TEST(TlbStepRuleTest, WithoutSpreadsTheFixedFloorApplies) {
  const auto low_step = [](double n) { return n <= 64 ? 0.0 : 1.5; };
  const std::vector<TlbStep> unknown = tlb_step_candidates(delta_curve(low_step, no_spread));
  ASSERT_EQ(unknown.size(), 1u);
  EXPECT_FALSE(unknown[0].accepted);
  EXPECT_EQ(unknown[0].noise_cycles, 0);
  EXPECT_EQ(unknown[0].needed_cycles, TlbStepRule{}.unknown_noise_step_cycles);
  EXPECT_EQ(knees_of(tlb_steps(delta_curve(low_step, small_spread))), (std::vector<double>{64}));
  // The 3-cycle bump is above the fixed floor: taken, as it was before spreads.
  EXPECT_EQ(knees_of(tlb_steps(delta_curve(two_steps_and_bump, no_spread))), (std::vector<double>{64, 362, 2048}));
}

// A rise tall enough for the noise but too small a share of the latency is no step.
TEST(TlbStepRuleTest, TheRelativeFloorStays) {
  // y = 4 + delta: 44 -> 53 cycles, a 1.2x rise (the fit keeps plateaus 1.15x apart).
  const auto on_high_delta = [](double n) { return n <= 512 ? 40.0 : 49.0; };
  const std::vector<TlbStep> candidates = tlb_step_candidates(delta_curve(on_high_delta, small_spread));
  ASSERT_EQ(candidates.size(), 1u);
  EXPECT_NEAR(candidates[0].rise_ratio, 53.0 / 44, 1e-9);
  EXPECT_GT(candidates[0].height_cycles(), candidates[0].needed_cycles) << "tall enough for the noise";
  EXPECT_FALSE(candidates[0].accepted) << "but under min_step_ratio";
  TlbStepRule rule;
  rule.min_step_ratio = 1.1;
  EXPECT_EQ(knees_of(tlb_steps(delta_curve(on_high_delta, small_spread), rule)), (std::vector<double>{512}));
}

// tlb and reference cases of `page` at each N of the curve, ns = cycles / 3 and
// each case's spread (in ns, the headline metric) half of the point's delta spread.
void add_curve_cases(Results& results, const std::vector<TlbPoint>& curve, const std::string& page = "4k") {
  for (const TlbPoint& p : curve) {
    for (const char* role : {"tlb", "reference"}) {
      const bool tlb = std::string(role) == "tlb";
      const double cycles = tlb ? p.tlb_cycles : p.ref_cycles;
      Case c;
      c.family = "tlb";
      c.name = std::string("tlb/") + role + "/pages:" + std::to_string(static_cast<int>(p.pages));
      c.params = {{"role", role}, {"page", tlb ? page : "thp"}, {"pages", p.pages}};
      c.metrics = {{"cycles_per_load", cycles}, {"ns_per_load", cycles / 3}};
      const double half_ns = p.delta_spread_cycles / 2 / 3;
      if (p.delta_spread_cycles > 0) c.spread = {5, cycles / 3 - half_ns / 2, cycles / 3, cycles / 3 + half_ns / 2, false};
      results.cases.push_back(c);
    }
  }
}

TEST(TlbStepRuleTest, CurveCarriesTheDeltaSpreadInCycles) {
  Results results = machine_with_tlbs(64, 2048);
  std::vector<TlbPoint> curve = delta_curve(two_steps, [](double n) { return n < 100 ? 0.6 : 0.0; });
  add_curve_cases(results, curve);
  // A repeated N: the median of its cases' spreads.
  Case extra = results.cases[0];
  extra.spread.max = extra.spread.min + 1.0;  // 3 cycles instead of 0.3
  results.cases.push_back(extra);
  results.cases.push_back(extra);
  const std::vector<TlbPoint> read = tlb_curve(results, "4k");
  ASSERT_EQ(read.size(), curve.size());
  EXPECT_NEAR(read[0].delta_spread_cycles, 3.0 + 0.3, 1e-9) << "median of 0.3, 3, 3 cycles (tlb) + 0.3 (reference)";
  for (std::size_t i = 1; i < read.size(); ++i)
    EXPECT_NEAR(read[i].delta_spread_cycles, curve[i].delta_spread_cycles, 1e-9) << read[i].pages;
}

// Where no rise counted, the note says the largest one and what it had to reach.
TEST(TlbStepRuleTest, NoKneeNoteGivesTheLargestRiseAndTheNoise) {
  Results results = machine_with_tlbs(64, 2048);
  const auto noisy_rise = [](double n) { return n <= 256 ? 0.0 : 3.0; };
  add_curve_cases(results, delta_curve(noisy_rise, [](double) { return 4.0; }));
  const auto rows = derive_tlb_levels(results);
  ASSERT_EQ(rows.size(), 2u);
  for (const TlbLevelRow& r : rows) {
    EXPECT_FALSE(r.detected_entries.has_value()) << r.level;
    EXPECT_NE(r.note.find("no clear knee"), std::string::npos) << r.note;
    EXPECT_NE(r.note.find("largest rise 3.0 cycles after 256 pages, under the 12.0 needed (3x its plateaus' "
                          "repetition spread of 4.0 cycles)"),
              std::string::npos)
        << r.note;
  }
}

TEST(PageWalkTest, ArithmeticSubtractsTheL2HitPlateau) {
  const WalkFigures f = walk_arithmetic(/*walk_tlb=*/300, /*walk_ref=*/40, /*l2hit_tlb=*/20, /*l2hit_ref=*/5);
  EXPECT_DOUBLE_EQ(f.miss_cycles, 260);
  EXPECT_DOUBLE_EQ(f.l2_hit_cycles, 15);
  EXPECT_DOUBLE_EQ(f.walk_cycles, 245);
}

Case pagewalk_case(const std::string& role, const std::string& page, double pages, double cycles,
                   const std::string& pte = "warm") {
  Case c;
  c.family = "pagewalk";
  c.name = "pagewalk/" + page + "/" + role + "/pages:" + std::to_string(static_cast<int>(pages));
  c.params = {{"role", role}, {"page", page}, {"pages", pages}, {"nested_paging", 1}};
  if (role != "reference") c.params["pte"] = pte;
  c.metrics = {{"cycles_per_load", cycles}, {"ns_per_load", cycles / 4}};
  return c;
}

// The walk point's size says where it came from: the tlb family's detected
// L2 DTLB in the same run says nothing more; CPUID's (tlb not run) is said,
// and so is a walk point that CPUID's figure would not even pass.
TEST(PageWalkTest, WalkSizedFromCpuidIsSaid) {
  Results results = machine_with_tlbs(64, 2048);
  const auto with_source = [](Case c, const std::string& from) {
    c.params["l2_dtlb_from"] = from;
    return c;
  };
  results.cases = {with_source(pagewalk_case("walk", "4k", 8192, 300), "measured"),
                   pagewalk_case("reference", "thp", 8192, 40)};
  ASSERT_EQ(derive_pagewalk_rows(results).size(), 1u);
  EXPECT_EQ(derive_pagewalk_rows(results)[0].note.find("CPUID"), std::string::npos) << derive_pagewalk_rows(results)[0].note;
  results.cases[0] = with_source(pagewalk_case("walk", "4k", 1024, 300), "cpuid");
  results.cases[1] = pagewalk_case("reference", "thp", 1024, 40);
  const std::string note = derive_pagewalk_rows(results).at(0).note;
  EXPECT_NE(note.find("sized from CPUID's L2 DTLB (2048) (tlb not in this run)"), std::string::npos) << note;
  EXPECT_NE(note.find("is not past CPUID's L2 DTLB"), std::string::npos) << note;
}

TEST(PageWalkTest, RowsFromPagewalkCases) {
  Results results = machine_with_tlbs(64, 2048);
  results.machine.hypervisor = "KVM";
  results.cases = {pagewalk_case("l2hit", "4k", 362, 20), pagewalk_case("walk", "4k", 8192, 300),
                   pagewalk_case("walk", "4k", 8192, 500, "cold"), pagewalk_case("reference", "thp", 362, 5),
                   pagewalk_case("reference", "thp", 8192, 40), pagewalk_case("l2hit", "thp", 362, 60)};
  const auto rows = derive_pagewalk_rows(results);
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].page, "4k");
  EXPECT_EQ(rows[0].pte, "warm");
  ASSERT_TRUE(rows[0].cycles && rows[0].ns && rows[0].l2_hit_cycles && rows[0].miss_cycles);
  EXPECT_DOUBLE_EQ(*rows[0].cycles, 245);
  EXPECT_DOUBLE_EQ(*rows[0].ns, 245.0 / 4);
  EXPECT_DOUBLE_EQ(*rows[0].l2_hit_cycles, 15);
  EXPECT_DOUBLE_EQ(*rows[0].miss_cycles, 260);
  EXPECT_TRUE(rows[0].nested_paging);
  EXPECT_EQ(rows[1].pte, "cold");
  EXPECT_DOUBLE_EQ(*rows[1].cycles, 460 - 15);
  // thp: only the L2-hit pair fit; no walk figure, and the note says why.
  EXPECT_EQ(rows[2].page, "thp");
  EXPECT_FALSE(rows[2].cycles.has_value());
  EXPECT_DOUBLE_EQ(*rows[2].l2_hit_cycles, 55);
  EXPECT_NE(rows[2].note.find("no walk point"), std::string::npos);

  derive_pagewalk(results);
  const std::string table = render_pagewalk_table(results);
  EXPECT_NE(table.find("walk cycles"), std::string::npos);
  EXPECT_NE(table.find("2D"), std::string::npos) << "a guest's walk is labelled as nested";
}

TEST(PageWalkTest, EachCaseUsesTheReferenceMeasuredWithIt) {
  // The family measures every case's reference right after it (same machine
  // load); two references at one page count must not be mixed up.
  Results results = machine_with_tlbs(64, 2048);
  auto paired = [](Case c, const std::string& for_page, const std::string& pair) {
    c.params["for_page"] = for_page;
    c.params["pair"] = pair;
    return c;
  };
  results.cases = {pagewalk_case("l2hit", "4k", 362, 20),
                   paired(pagewalk_case("reference", "thp", 362, 5), "4k", "l2hit"),
                   pagewalk_case("walk", "4k", 8192, 300),
                   paired(pagewalk_case("reference", "thp", 8192, 40), "4k", "walk"),
                   pagewalk_case("walk", "4k", 8192, 500, "cold"),
                   paired(pagewalk_case("reference", "thp", 8192, 100), "4k", "walk-cold-pte")};
  const auto rows = derive_pagewalk_rows(results);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_DOUBLE_EQ(*rows[0].miss_cycles, 260);
  EXPECT_DOUBLE_EQ(*rows[1].miss_cycles, 400);
  EXPECT_DOUBLE_EQ(*rows[1].cycles, 400 - 15);
}

Case stride_case(double ws, double stride, double ns) {
  Case c;
  c.family = "stride";
  const bool random = stride == 0;
  c.name = "stride/" + std::to_string(static_cast<int>(ws)) + (random ? "/random" : "/stride:" + std::to_string(static_cast<int>(stride)));
  c.params = {{"working_set_bytes", ws},
              {"stride_bytes", random ? 64 : stride},
              {"pattern", random ? "random" : stride <= 64 ? "sequential" : "strided"},
              {"page", "thp"},
              {"lines_touched", ws / std::max(64.0, random ? 64 : stride)}};
  c.metrics = {{"ns_per_load", ns}, {"cycles_per_load", ns * 3}};
  return c;
}

TEST(StrideTest, JumpsBoundThePrefetchersAndNeverGiveTheLine) {
  Results results;
  results.machine.core_hz = 3e9;
  results.machine.caches = {{1, "data", 32768, 64, 8}};
  const double small = 4.0 * 1024 * 1024, large = 128.0 * 1024 * 1024;
  // Beyond the caches: loads share lines up to 32 B, every load a new line from 64 B.
  const std::vector<std::pair<double, double>> big = {{8, 1.2},    {16, 1.25},  {32, 1.3},   {64, 3.0},
                                                      {128, 4.4},  {256, 5.0},  {512, 6.5},  {1024, 7.5},
                                                      {2048, 9.0}, {4096, 12.0}, {8192, 12.5}, {16384, 13.0}};
  // In cache: the prefetchers hide one new line per load; the jump shows at 128 B.
  const std::vector<std::pair<double, double>> cached = {{8, 1.2},    {16, 1.2},    {32, 1.25},  {64, 1.3},
                                                         {128, 2.5},  {256, 2.6},   {512, 5.0},  {1024, 5.2},
                                                         {2048, 5.5}, {4096, 6.0},  {8192, 6.0}, {16384, 6.1}};
  for (const auto& [s, ns] : big) results.cases.push_back(stride_case(large, s, ns));
  for (const auto& [s, ns] : cached) results.cases.push_back(stride_case(small, s, ns));
  results.cases.push_back(stride_case(large, 0, 100));
  results.cases.push_back(stride_case(small, 0, 12));

  const auto sets = derive_stride_sets(results);
  ASSERT_EQ(sets.size(), 2u);
  EXPECT_DOUBLE_EQ(sets[0].working_set_bytes, small);
  EXPECT_EQ(sets[1].points.back().pattern, "random") << "the random control sorts last";
  ASSERT_TRUE(sets[1].jump_stride_bytes.has_value());
  EXPECT_DOUBLE_EQ(*sets[1].jump_stride_bytes, 64);
  ASSERT_TRUE(sets[0].jump_stride_bytes.has_value());
  EXPECT_DOUBLE_EQ(*sets[0].jump_stride_bytes, 128);
  EXPECT_EQ(sets[1].hidden_stride_bytes, 32);
  EXPECT_EQ(sets[0].hidden_stride_bytes, 64);
  EXPECT_EQ(stride_prefetch_bound(sets).hidden_stride_bytes, 64) << "where the prefetchers do best";

  derive_stride(results);
  const std::string table = render_stride_table(results);
  EXPECT_NE(table.find("the prefetchers hide strides up to 64 B"), std::string::npos) << table;
  EXPECT_NE(table.find("random"), std::string::npos);
  // No line-probe cases: the stride jumps are no line size.
  EXPECT_TRUE(results.derived.extra.at("stride_line_estimate_bytes").is_null());
  EXPECT_NE(table.find("line size: none (the line size was not probed in this file"), std::string::npos) << table;
}

TEST(StrideTest, RiseOverTwoStridesGivesTheFirstAsTheLine) {
  // Shape of a 128 MiB set on the project's Zen 4 guest: the cost rises partly
  // at 64 B (every load a new line) and the rest at 128 B (the adjacent-line
  // prefetcher's pair no longer helps); the step's midpoint lies between.
  const std::vector<std::pair<double, double>> curve = {{8, 1.26},    {16, 1.28},   {32, 1.31},  {64, 1.93},
                                                        {128, 3.63},  {256, 3.62},  {512, 4.85}, {1024, 5.28},
                                                        {2048, 6.27}, {4096, 8.13}, {8192, 8.34}, {16384, 9.85}};
  std::vector<StridePoint> points;
  for (const auto& [s, ns] : curve) points.push_back({s, s <= 64 ? "sequential" : "strided", ns, std::nullopt, 0});
  const auto jump = stride_jump(points);
  ASSERT_TRUE(jump.has_value());
  EXPECT_DOUBLE_EQ(*jump, 64);
}

// The results of two sets, each curve {stride, ns} from 8 B to 16 KiB.
Results two_stride_sets(double small_ws, const std::vector<double>& small_ns, double large_ws,
                        const std::vector<double>& large_ns) {
  Results results;
  results.machine.core_hz = 3e9;
  results.machine.caches = {{1, "data", 32768, 64, 8}};
  double stride = 8;
  for (std::size_t i = 0; i < small_ns.size(); ++i, stride *= 2) {
    results.cases.push_back(stride_case(small_ws, stride, small_ns[i]));
    results.cases.push_back(stride_case(large_ws, stride, large_ns[i]));
  }
  return results;
}

TEST(StrideTest, BandwidthBoundSetIsNoReadingTheLatencyBoundJumpIs) {
  // Beyond the caches, bound by the rate of new lines: the cost doubles from
  // the smallest stride (each load brings twice the new bytes) up to 64 B,
  // then grows slowly. In the cache, a plateau and a jump at 64 B.
  //                          8    16   32   64   128  256  512  1K    2K    4K    8K    16K
  const std::vector<double> dram = {1.5, 3.0, 6.0, 12.0, 12.5, 13.0, 14.0, 30.0, 40.0, 50.0, 52.0, 53.0};
  const std::vector<double> cached = {1.5, 1.5, 1.6, 2.6, 5.2, 11.5, 12.0, 35.0, 42.0, 47.0, 46.0, 45.0};
  const auto sets = derive_stride_sets(two_stride_sets(7.0 * 1024 * 1024, cached, 38.0 * 1024 * 1024, dram));
  ASSERT_EQ(sets.size(), 2u);
  EXPECT_TRUE(rises_from_smallest_stride(sets[1].points));
  EXPECT_FALSE(rises_from_smallest_stride(sets[0].points));
  EXPECT_NE(sets[1].note.find("no small-stride plateau"), std::string::npos) << sets[1].note;
  const StridePrefetchBound bound = stride_prefetch_bound(sets);
  EXPECT_EQ(bound.hidden_stride_bytes, 32);
  EXPECT_NE(bound.evidence.find("32 B in the 7 MiB set"), std::string::npos) << bound.evidence;
  EXPECT_NE(bound.evidence.find("the 38 MiB set has no small-stride plateau"), std::string::npos) << bound.evidence;

  // The same with the DRAM set's small strides as the Intel guest leaves
  // them (32 B dearer than 64 B): still no reading.
  const std::vector<double> dram_flat = {1.5, 2.2, 4.6, 3.4, 5.3, 13.0, 12.4, 34.0, 44.0, 54.0, 54.0, 54.0};
  Results noisy = two_stride_sets(7.0 * 1024 * 1024, cached, 38.0 * 1024 * 1024, dram_flat);
  EXPECT_EQ(stride_prefetch_bound(derive_stride_sets(noisy)).hidden_stride_bytes, 32);
  derive_stride(noisy);
  const std::string table = render_stride_table(noisy);
  EXPECT_NE(table.find("the prefetchers hide strides up to 32 B (largest stride on the small-stride plateau: 32 B in "
                       "the 7 MiB set"),
            std::string::npos)
      << table;
  EXPECT_NE(table.find("38 MiB (thp pages, beyond the caches): no small-stride plateau"), std::string::npos) << table;
  EXPECT_TRUE(noisy.derived.extra.at("stride_line_estimate_bytes").is_null());
}

// Set `i` of `sets` has a jump, at `bytes`.
void expect_jump_at(const std::vector<StrideSet>& sets, std::size_t i, double bytes) {
  ASSERT_TRUE(sets[i].jump_stride_bytes.has_value());
  EXPECT_DOUBLE_EQ(*sets[i].jump_stride_bytes, bytes);
}

TEST(StrideTest, AdjacentLinePrefetchInTheCacheHidesTheLargerStride) {
  // Zen 4 shape: the cached set's first rise at 64 B is partial (the
  // adjacent-line prefetcher brings pairs), its jump shows at 128 B; the
  // DRAM set jumps at 64 B. The prefetchers reach furthest in the cache.
  const std::vector<double> cached = {1.13, 1.15, 1.15, 1.38, 1.67, 2.13, 4.56, 5.19, 6.37, 8.71, 9.08, 9.38};
  const std::vector<double> dram = {1.20, 1.26, 1.25, 3.04, 8.01, 6.46, 4.42, 4.73, 6.03, 8.15, 7.81, 8.99};
  Results results = two_stride_sets(4.0 * 1024 * 1024, cached, 128.0 * 1024 * 1024, dram);
  const auto sets = derive_stride_sets(results);
  ASSERT_EQ(sets.size(), 2u);
  ASSERT_NO_FATAL_FAILURE(expect_jump_at(sets, 0, 128));
  ASSERT_NO_FATAL_FAILURE(expect_jump_at(sets, 1, 64));
  const StridePrefetchBound bound = stride_prefetch_bound(sets);
  EXPECT_EQ(bound.hidden_stride_bytes, 64);
  testing::expect_contains_each(bound.evidence, {"64 B in the 4 MiB set, 32 B in the 128 MiB set"});
}

TEST(StrideTest, PrefetchBoundPerSetAndNoneWithoutAPlateau) {
  const double small = 7.0 * 1024 * 1024, large = 38.0 * 1024 * 1024;
  const std::vector<double> rising = {1.5, 3.0, 6.0, 12.0, 12.5, 13.0, 14.0, 30.0, 40.0, 50.0, 52.0, 53.0};
  // Both sets rise from the smallest stride: no plateau to read a jump from.
  {
    const auto bound = stride_prefetch_bound(derive_stride_sets(two_stride_sets(small, rising, large, rising)));
    EXPECT_FALSE(bound.hidden_stride_bytes.has_value());
    EXPECT_NE(bound.evidence.find("no set has a small-stride plateau with a jump"), std::string::npos)
        << bound.evidence;
    EXPECT_NE(bound.evidence.find("the 7 MiB and 38 MiB sets have no small-stride plateau"), std::string::npos)
        << bound.evidence;
  }
  // Both have a plateau, jumping two doublings apart (64 B and 256 B): each
  // set's reach is shown, the bound is the larger.
  {
    const std::vector<double> at64 = {1.5, 1.5, 1.6, 2.6, 5.2, 11.5, 12.0, 35.0, 42.0, 47.0, 46.0, 45.0};
    const std::vector<double> at256 = {1.5, 1.5, 1.5, 1.6, 1.6, 6.0, 6.5, 30.0, 40.0, 50.0, 52.0, 53.0};
    Results results = two_stride_sets(small, at64, large, at256);
    const auto sets = derive_stride_sets(results);
    ASSERT_NO_FATAL_FAILURE(expect_jump_at(sets, 1, 256));
    const auto bound = stride_prefetch_bound(sets);
    EXPECT_EQ(bound.hidden_stride_bytes, 128);
    testing::expect_contains_each(bound.evidence, {"32 B in the 7 MiB set, 128 B in the 38 MiB set"});
    derive_stride(results);
    EXPECT_TRUE(results.derived.extra.at("stride_line_estimate_bytes").is_null());
    EXPECT_NE(render_stride_table(results).find("line size: none (the line size was not probed"), std::string::npos);
  }
}

TEST(StrideTest, FlatCostHasNoJump) {
  std::vector<StridePoint> points;
  for (double s = 8; s <= 16384; s *= 2) points.push_back({s, "strided", 5.0, std::nullopt, 0});
  EXPECT_FALSE(stride_jump(points).has_value());
}

TEST(TlbFamilyTest, DerivedJsonHasTheDesignMembers) {
  Results results = machine_with_tlbs(64, 2048);
  add_tlb_cases(results, TlbSpec{});
  results.cases.push_back(pagewalk_case("l2hit", "4k", 362, 20));
  results.cases.push_back(pagewalk_case("walk", "4k", 8192, 300));
  results.cases.push_back(pagewalk_case("reference", "thp", 362, 5));
  results.cases.push_back(pagewalk_case("reference", "thp", 8192, 40));
  results.derived.extra["latency_curve_page"] = "4k";
  for (int i = 0; i < 2; ++i) {  // idempotent
    derive_tlb(results);
    derive_pagewalk(results);
    derive_stride(results);
  }
  const nlohmann::json& extra = results.derived.extra;
  EXPECT_EQ(extra.at("latency_curve_page"), "4k") << "other members are left alone";
  ASSERT_TRUE(extra.at("tlb").is_array());
  ASSERT_EQ(extra.at("tlb").size(), 2u);
  for (const char* key : {"level", "page", "reported_entries", "detected_entries", "reach_bytes"})
    EXPECT_TRUE(extra.at("tlb")[0].contains(key)) << key;
  ASSERT_EQ(extra.at("pagewalk").size(), 1u);
  for (const char* key : {"page", "cycles", "ns", "nested_paging"})
    EXPECT_TRUE(extra.at("pagewalk")[0].contains(key)) << key;
  EXPECT_DOUBLE_EQ(extra.at("pagewalk")[0].at("cycles").get<double>(), 245);
  EXPECT_FALSE(extra.contains("stride")) << "no stride cases, no member";

  const std::string table = render_tlb_table(results);
  for (const char* column : {"TLB level", "page", "reported entries", "detected entries", "reach", "miss cost cycles"})
    EXPECT_NE(table.find(column), std::string::npos) << column;
}

TEST(TlbFamilyTest, NothingMeasuredRendersNothing) {
  Results results;
  EXPECT_EQ(render_tlb_table(results), "");
  EXPECT_EQ(render_pagewalk_table(results), "");
  EXPECT_EQ(render_stride_table(results), "");
  derive_tlb(results);
  EXPECT_FALSE(results.derived.extra.contains("tlb"));
}

}  // namespace
}  // namespace memprobe::analysis

namespace memprobe::analysis {
namespace {

// A THP sweep that fell back to 4 KiB pages is no huge-page figure.
TEST(TlbBackingTest, UnverifiedHugePageSweepIsNotMeasured) {
  Results r;
  r.machine.core_hz = 3e9;
  for (double pages : {8.0, 16.0, 32.0, 64.0, 128.0, 256.0}) {
    for (const char* role : {"tlb", "reference"}) {
      Case c;
      c.family = "tlb";
      c.name = std::string("tlb/") + role;
      c.params = {{"role", role}, {"page", std::string(role) == "tlb" ? "thp" : "reference"}, {"pages", pages}};
      c.metrics = {{"cycles_per_load", std::string(role) == "tlb" && pages > 64 ? 20.0 : 5.0}};
      c.backing = {"thp", std::string(role) == "tlb" ? "4k" : "thp", 0};
      r.cases.push_back(c);
    }
  }
  EXPECT_TRUE(tlb_curve(r, "thp").empty());
  EXPECT_TRUE(has_unverified_tlb_cases(r, "thp"));
  for (const TlbLevelRow& row : derive_tlb_levels(r)) {
    EXPECT_FALSE(row.detected_entries.has_value()) << row.level;
    EXPECT_NE(row.note.find("not backed by huge pages"), std::string::npos) << row.note;
  }
}

}  // namespace
}  // namespace memprobe::analysis
