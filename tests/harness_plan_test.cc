#include "harness/plan.h"

#include <gtest/gtest.h>

#include <filesystem>

namespace memprobe::harness {
namespace {

TEST(PlanTest, EmptyFamilyListMeansEveryFamily) {
  const auto names = parse_family_list("");
  EXPECT_NE(std::find(names.begin(), names.end(), "latency"), names.end());
}

TEST(PlanTest, UnknownFamilyIsAUsageErrorNamingIt) {
  try {
    parse_family_list("latency,bogus");
    FAIL() << "expected UsageError";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("'bogus'"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("latency"), std::string::npos) << e.what();
  }
}

TEST(PlanTest, PageListAcceptsAliasesAndDropsDuplicates) {
  const auto policies = parse_page_list("4k, thp,2m,hugetlb-2m,1g");
  ASSERT_EQ(policies.size(), 4u);
  EXPECT_EQ(policies[0], core::PagePolicy::k4K);
  EXPECT_EQ(policies[1], core::PagePolicy::kThp);
  EXPECT_EQ(policies[2], core::PagePolicy::kHugetlb2M);
  EXPECT_EQ(policies[3], core::PagePolicy::kHugetlb1G);
}

TEST(PlanTest, UnknownPagePolicyIsAUsageError) {
  EXPECT_THROW(parse_page_list("3m"), UsageError);
  EXPECT_THROW(parse_page_list(","), UsageError);
}

TEST(PlanTest, OutputInMissingDirectoryIsRefusedBeforeMeasuring) {
  EXPECT_THROW(check_output_path("/nonexistent-memprobe-dir/r.json"), UsageError);
  EXPECT_THROW(check_output_path(std::filesystem::temp_directory_path().string()), UsageError);
  EXPECT_NO_THROW(check_output_path((std::filesystem::temp_directory_path() / "r.json").string()));
}

}  // namespace
}  // namespace memprobe::harness
