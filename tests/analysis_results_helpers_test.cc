// The shared helpers of analysis/results.h: case parameter lookups and the
// robust spread statistics every analysis uses.
#include <gtest/gtest.h>

#include "analysis/results.h"

namespace memprobe::analysis {
namespace {

TEST(ResultsHelpersTest, ParamStringReadsStringsOnly) {
  Case c;
  c.params = {{"page", "thp"}, {"working_set_bytes", 4096}};
  EXPECT_EQ(param_string(c, "page"), "thp");
  EXPECT_EQ(param_string(c, "working_set_bytes"), "");  // a number, not a string
  EXPECT_EQ(param_string(c, "tlb_method"), "");         // absent
  EXPECT_EQ(page_of(c), "thp");
  EXPECT_EQ(page_of(Case{}), "");
}

TEST(ResultsHelpersTest, MedianAbsoluteDeviation) {
  EXPECT_DOUBLE_EQ(median_absolute_deviation({1, 2, 3, 4, 100}, 3), 1);  // deviations 2 1 0 1 97
  EXPECT_DOUBLE_EQ(median_absolute_deviation({5, 5}, 5), 0);
  EXPECT_DOUBLE_EQ(median_absolute_deviation({}, 0), 0);
  EXPECT_DOUBLE_EQ(median_absolute_deviation({1, 4}, 2.5), 1.5);
}

TEST(ResultsHelpersTest, WasInterruptedReadsTheTopLevelFlag) {
  Results r;
  EXPECT_FALSE(was_interrupted(r));
  r.extra["interrupted"] = false;
  EXPECT_FALSE(was_interrupted(r));
  r.extra["interrupted"] = true;
  EXPECT_TRUE(was_interrupted(r));
}

}  // namespace
}  // namespace memprobe::analysis
