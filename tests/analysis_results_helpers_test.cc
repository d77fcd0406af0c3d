// The shared helpers of analysis/results.h: case parameter lookups and the
// robust spread statistics every analysis uses.
#include <gtest/gtest.h>

#include "analysis/results.h"
#include "analysis/results_json.h"

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

TEST(ResultsHelpersTest, InterruptedIsATypedTopLevelFlagThatRoundTrips) {
  Results r;
  r.machine.logical_cpus = 2;  // the loader's least machine
  EXPECT_FALSE(r.interrupted);
  EXPECT_FALSE(to_json(r).contains("interrupted")) << "a complete run writes no flag";
  r.interrupted = true;
  const nlohmann::json doc = to_json(r);
  EXPECT_EQ(doc.at("interrupted"), true);
  const Results back = results_from_json(doc);
  EXPECT_TRUE(back.interrupted);
  EXPECT_FALSE(back.extra.contains("interrupted")) << "read once, into the typed field";
  nlohmann::json wrong = doc;
  wrong["interrupted"] = "yes";
  EXPECT_THROW(results_from_json(wrong), ResultsError);
}

}  // namespace
}  // namespace memprobe::analysis
