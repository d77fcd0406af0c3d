// analysis/hugepage: speed-up arithmetic, exclusion of cases whose huge-page
// backing was not verified, the generated per-region sentences, and the
// page-fault rows' count check, all on synthetic results.
#include "analysis/families/hugepage.h"
#include "analysis/families/pagefault.h"

#include <string>

#include <fmt/format.h>
#include <gtest/gtest.h>

namespace memprobe::analysis {
namespace {

constexpr double kMiB = 1024.0 * 1024.0;

Case chase_case(const std::string& page, double ws, const std::string& region, double ns,
                const std::string& verified = "") {
  Case c;
  c.family = "hugepage";
  c.name = "hugepage/" + page + "/x";
  c.params = {{"page", page}, {"working_set_bytes", ws}, {"region", region}};
  c.metrics["ns_per_load"] = ns;
  c.backing.requested = page;
  c.backing.verified = verified.empty() ? page : verified;
  c.backing.huge_fraction = page == "4k" ? 0.0 : (verified.empty() ? 1.0 : 0.4);
  return c;
}

const nlohmann::json* row_of(const Results& r, const std::string& page, double ws) {
  for (const auto& row : r.derived.extra["hugepage"])
    if (row["page"] == page && row["working_set_bytes"].get<double>() == ws) return &row;
  return nullptr;
}

TEST(HugepageTest, SpeedupIsBaselineOverPage) {
  EXPECT_DOUBLE_EQ(*speedup_vs_4k(160.0, 100.0), 1.6);
  EXPECT_DOUBLE_EQ(*speedup_vs_4k(90.0, 100.0), 0.9);
  EXPECT_FALSE(speedup_vs_4k(0.0, 100.0));
  EXPECT_FALSE(speedup_vs_4k(100.0, 0.0));
}

TEST(HugepageTest, VerifiedBackingOnlyWhenItMatchesTheRequest) {
  EXPECT_TRUE(backing_verified({"thp", "thp", 1.0}));
  EXPECT_FALSE(backing_verified({"thp", "mixed", 0.5}));
  EXPECT_FALSE(backing_verified({"hugetlb-2m", "4k", 0.0}));
  EXPECT_TRUE(backing_verified({"4k", "4k", 0.0}));
}

TEST(HugepageTest, DerivesSpeedupsAndExcludesUnverifiedCases) {
  Results r;
  r.cases = {chase_case("4k", 64 * kMiB, "dram", 160), chase_case("hugetlb-2m", 64 * kMiB, "dram", 100),
             chase_case("thp", 64 * kMiB, "dram", 120, "mixed")};
  derive_hugepage(r);
  ASSERT_EQ(r.derived.extra["hugepage"].size(), 3u);
  EXPECT_DOUBLE_EQ((*row_of(r, "hugetlb-2m", 64 * kMiB))["speedup_vs_4k"].get<double>(), 1.6);
  EXPECT_DOUBLE_EQ((*row_of(r, "4k", 64 * kMiB))["speedup_vs_4k"].get<double>(), 1.0);
  const auto& thp = *row_of(r, "thp", 64 * kMiB);
  EXPECT_TRUE(thp["speedup_vs_4k"].is_null());
  EXPECT_FALSE(thp["backing_verified"].get<bool>());
  EXPECT_EQ(thp["note"], kNotHugeNote);
  EXPECT_EQ(thp["region"], "dram");

  derive_hugepage(r);  // idempotent
  EXPECT_EQ(r.derived.extra["hugepage"].size(), 3u);
}

TEST(HugepageTest, NoSpeedupWithoutAVerified4kBaseline) {
  Results r;
  r.cases = {chase_case("4k", 16 * kMiB, "tlb", 80, "thp"), chase_case("hugetlb-2m", 16 * kMiB, "tlb", 40)};
  derive_hugepage(r);
  EXPECT_TRUE((*row_of(r, "hugetlb-2m", 16 * kMiB))["speedup_vs_4k"].is_null());
}

TEST(HugepageTest, SummarySentencesComeFromTheNumbers) {
  Results r;
  // DRAM: 2 MiB pages 1.6x (160/100) and 2.5x (250/100): geometric mean 2.0x.
  // TLB-bound: THP slower (50 vs 40 ns: 1.25x slower). Cache: within 3 %.
  r.cases = {chase_case("4k", 128 * 1024, "cache", 4.0),   chase_case("hugetlb-2m", 128 * 1024, "cache", 3.95),
             chase_case("4k", 16 * kMiB, "tlb", 40),       chase_case("thp", 16 * kMiB, "tlb", 50),
             chase_case("4k", 64 * kMiB, "dram", 160),     chase_case("hugetlb-2m", 64 * kMiB, "dram", 100),
             chase_case("4k", 512 * kMiB, "dram", 250),    chase_case("hugetlb-2m", 512 * kMiB, "dram", 100),
             chase_case("hugetlb-1g", 512 * kMiB, "dram", 90, "4k")};
  derive_hugepage(r);
  const auto sentences = hugepage_summary(r);
  ASSERT_EQ(sentences.size(), 3u);
  EXPECT_EQ(sentences[0], "Cache-resident random access (128 KiB): 2 MiB pages same as 4 KiB pages (within 3 %).");
  EXPECT_EQ(sentences[1], "TLB-bound random access (16 MiB): THP (2 MiB) 1.25x slower than 4 KiB pages.");
  EXPECT_EQ(sentences[2],
            "DRAM-sized random access (64 MiB-512 MiB): 2 MiB pages 2.00x faster than 4 KiB pages; "
            "1 GiB pages not backed by huge pages.");

  const std::string table = render_hugepage_table(r);
  EXPECT_NE(table.find("2m/4k"), std::string::npos) << table;
  EXPECT_NE(table.find("1.60x"), std::string::npos) << table;
  EXPECT_NE(table.find("1g: not backed by huge pages"), std::string::npos) << table;
  EXPECT_NE(table.find(sentences[2]), std::string::npos) << table;

  const std::string markdown = render_hugepage_table(r, TableFormat::kMarkdown);
  EXPECT_NE(markdown.find("| working set"), std::string::npos) << markdown;
  EXPECT_NE(markdown.find(sentences[0]), std::string::npos) << markdown;
}

TEST(HugepageTest, UnavailablePoliciesShowTheirReason) {
  Results r;
  r.cases = {chase_case("4k", 64 * kMiB, "dram", 160)};
  r.unavailable.push_back({"hugepage/hugetlb-2m", "no free 2 MiB hugetlb pages (need 256, free 0): run ..."});
  derive_hugepage(r);
  const std::string table = render_hugepage_table(r);
  EXPECT_NE(table.find("2m ns"), std::string::npos) << table;
  EXPECT_NE(table.find("unavailable"), std::string::npos) << table;
  EXPECT_NE(table.find("2m: unavailable: no free 2 MiB hugetlb pages"), std::string::npos) << table;
}

// Issue 13, row 20: the cases of one page policy need 1, 64 and 128 pages;
// the fix line under the table must ask for enough for all of them.
TEST(HugepageTest, FixLineAsksForThePagesTheLargestCaseNeeds) {
  Results r;
  r.cases = {chase_case("4k", 64 * kMiB, "dram", 160)};
  for (int need : {1, 128, 64})
    r.unavailable.push_back({fmt::format("hugepage/hugetlb-2m/bytes:{}", need * 2 * kMiB),
                             fmt::format("no free 2 MiB hugetlb pages (need {}, free 0): run memprobe with "
                                         "--reserve-hugepages {}, or as root: ...",
                                         need, need)});
  derive_hugepage(r);
  const std::string table = render_hugepage_table(r);
  EXPECT_NE(table.find("2m: unavailable: no free 2 MiB hugetlb pages (need 128, free 0): run memprobe with "
                       "--reserve-hugepages 128"),
            std::string::npos)
      << table;
  EXPECT_EQ(table.find("need 1,"), std::string::npos) << table;
}

Case fault_case(const std::string& kind, const std::string& phase, double counted, double expected) {
  Case c;
  c.family = "pagefault";
  c.name = "pagefault/" + kind + "/" + phase;
  c.params = {{"kind", kind}, {"phase", phase}, {"page", "4k"}, {"bytes", 64 * kMiB}, {"pages", expected}};
  c.metrics = {{"us_per_fault", 0.8}, {"us_per_page", 0.8}, {"gb_per_s", 5.0},
               {"faults_counted", counted}, {"faults_expected", expected}};
  return c;
}

TEST(PageFaultTest, CountsMatchWithinTheTolerance) {
  Results r;
  r.cases = {fault_case("anon-4k", "warm", 16384 + 300, 16384), fault_case("anon-4k", "cold", 16384 + 400, 16384),
             fault_case("anon-thp", "warm", 129, 128), fault_case("hugetlb-2m", "warm", 126, 128)};
  derive_pagefault(r);
  const auto& rows = r.derived.extra["pagefault"];
  ASSERT_EQ(rows.size(), 4u);
  // Sorted by kind then phase: anon-4k cold, anon-4k warm, anon-thp, hugetlb-2m.
  EXPECT_EQ(rows[0]["phase"], "cold");
  EXPECT_FALSE(rows[0]["counts_match"].get<bool>());  // 400 > 2 % of 16384
  EXPECT_TRUE(rows[1]["counts_match"].get<bool>());   // 300 <= 327
  EXPECT_TRUE(rows[2]["counts_match"].get<bool>());   // huge: within 1
  EXPECT_FALSE(rows[3]["counts_match"].get<bool>());
  const std::string table = render_pagefault_table(r);
  EXPECT_NE(table.find("MISMATCH"), std::string::npos) << table;
  EXPECT_NE(table.find("us/fault"), std::string::npos) << table;
}

TEST(PageFaultTest, UnavailableKindsGetARowAndTheReason) {
  Results r;
  r.cases = {fault_case("anon-4k", "warm", 16384, 16384)};
  r.unavailable.push_back({"pagefault/hugetlb-1g", "no free 1 GiB hugetlb pages (need 1, free 0): run memprobe "
                                                   "with --reserve-hugepages-1g 1"});
  derive_pagefault(r);
  const std::string table = render_pagefault_table(r);
  EXPECT_NE(table.find("hugetlb-1g: unavailable: no free 1 GiB hugetlb pages"), std::string::npos) << table;
}

}  // namespace
}  // namespace memprobe::analysis
