#include "harness/eta.h"

#include <gtest/gtest.h>

namespace memprobe::harness {
namespace {

TEST(RemainingTimeTest, FamiliesNotYetRunAreScaledByTheFinishedOnes) {
  RemainingTime eta;
  eta.set_cases_left({{"latency", 6}, {"hugepage", 4}});
  for (int i = 0; i < 6; ++i) eta.case_done("latency", 0.5);
  EXPECT_EQ(eta.cases_left(), 4u);
  // Latency has finished at 0.5 s per case: 4 hugepage cases at the prior
  // ratio times that.
  EXPECT_DOUBLE_EQ(eta.seconds_left(), 4 * relative_case_cost("hugepage") * 0.5);
}

TEST(RemainingTimeTest, ASweepsCheapFirstCasesDoNotPullTheEstimateDown) {
  // Three 4 KiB latency cases took 1 ms each; the sweep's mean case costs far
  // more. Until a family has finished the prior scale holds, and the family
  // under way counts at least its prior.
  for (const bool quick : {false, true}) {
    RemainingTime eta(quick);
    eta.set_cases_left({{"latency", 10}, {"hugepage", 4}});
    for (int i = 0; i < 3; ++i) eta.case_done("latency", 0.001);
    const double unit = prior_latency_case_seconds(quick);
    EXPECT_DOUBLE_EQ(eta.seconds_left(), 7 * unit + 4 * relative_case_cost("hugepage", quick) * unit);
    // A family slower than its prior counts at its own mean.
    for (int i = 0; i < 3; ++i) eta.case_done("latency", 1.0);
    EXPECT_DOUBLE_EQ(eta.seconds_left(), 4 * (3 * 1.001 / 6) + 4 * relative_case_cost("hugepage", quick) * unit);
  }
}

TEST(RemainingTimeTest, AFamilysOwnTimedCasesReplaceItsPrior) {
  RemainingTime eta;
  eta.set_cases_left({{"latency", 2}, {"hugepage", 3}});
  eta.case_done("latency", 1.0);
  eta.case_done("latency", 1.0);
  // Dearer than its prior (which is a floor while the family is under way).
  const double hugepage_case_s = 2 * relative_case_cost("hugepage") * 1.0;
  eta.case_done("hugepage", hugepage_case_s);
  EXPECT_DOUBLE_EQ(eta.seconds_left(), 2 * hugepage_case_s);
}

TEST(RemainingTimeTest, ReplanningKeepsWhatWasMeasured) {
  RemainingTime eta;
  eta.set_cases_left({{"latency", 4}, {"tlb", 100}});
  eta.case_done("latency", 2.0);
  // The run re-counts the families to come once latency has sized them.
  eta.set_cases_left({{"tlb", 30}});
  EXPECT_EQ(eta.cases_left(), 30u);
  EXPECT_DOUBLE_EQ(eta.seconds_left(), 30 * relative_case_cost("tlb") * 2.0);
}

TEST(RemainingTimeTest, NothingTimedGivesNoEstimateAndNothingLeftGivesZero) {
  RemainingTime eta;
  eta.set_cases_left({{"latency", 3}});
  EXPECT_LT(eta.seconds_left(), 0);
  for (int i = 0; i < 3; ++i) eta.case_done("latency", 1.0);
  EXPECT_EQ(eta.cases_left(), 0u);
  EXPECT_EQ(eta.seconds_left(), 0);
}

TEST(RemainingTimeTest, CasesOfAFamilyThePlanDoesNotNameCountAgainstTheUnnamedOne) {
  RemainingTime eta;
  eta.set_cases_left({{"", 3}});
  eta.case_done("latency", 1.0);
  EXPECT_EQ(eta.cases_left(), 2u);
  EXPECT_EQ(family_of_case("latency/4k/1MiB"), "latency");
  EXPECT_EQ(family_of_case("pagefault"), "pagefault");
}

}  // namespace
}  // namespace memprobe::harness
