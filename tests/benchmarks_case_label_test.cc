#include "benchmarks/case_label.h"

#include <gtest/gtest.h>

namespace memprobe::bench {
namespace {

TEST(CaseLabelTest, RoundTrips) {
  const std::map<std::string, std::string> fields{
      {"page", "thp"}, {"working_set_bytes", "1048576"}, {"tlb_method", "huge-pages"}};
  const std::string label = format_case_label(fields);
  EXPECT_EQ(label, "page=thp tlb_method=huge-pages working_set_bytes=1048576");
  EXPECT_EQ(parse_case_label(label), fields);
}

TEST(CaseLabelTest, IgnoresTokensWithoutKey) {
  const auto fields = parse_case_label("junk =x a=1  b=");
  EXPECT_EQ(fields.size(), 2u);
  EXPECT_EQ(fields.at("a"), "1");
  EXPECT_EQ(fields.at("b"), "");
}

TEST(CaseLabelTest, EmptyLabelHasNoFields) { EXPECT_TRUE(parse_case_label("").empty()); }

}  // namespace
}  // namespace memprobe::bench
