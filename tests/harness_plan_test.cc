#include "harness/plan.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <functional>
#include <string>

#include "core/buffer.h"
#include "core/units.h"
#include "tests/command_runner.h"

namespace memprobe::harness {
namespace {

TEST(PlanTest, CountsAreWholeNonNegativeAndInRange) {
  EXPECT_EQ(parse_count("--seed", "0"), 0u);
  EXPECT_EQ(parse_count("--seed", "18446744073709551615"), UINT64_MAX);
  for (const std::string bad : {"", "-1", "+1", "1.0", "1e3", " 1", "1 ", "0x10", "18446744073709551616", "x"}) {
    try {
      parse_count("--seed", bad);
      FAIL() << "accepted '" << bad << "'";
    } catch (const UsageError& e) {
      EXPECT_NE(std::string(e.what()).find("--seed: '" + bad + "'"), std::string::npos) << e.what();
    }
  }
}

TEST(PlanTest, ReservationMustFitInThreeQuartersOfMemAvailable) {
  const std::uint64_t available = 8 * core::kGiB;  // 3/4 = 6 GiB = 3072 pages of 2 MiB
  EXPECT_NO_THROW(check_reservation_fits("--reserve-hugepages", 2 * core::kMiB, 3072, 0, available));
  EXPECT_NO_THROW(check_reservation_fits("--reserve-hugepages", 2 * core::kMiB, 3072 + 100, 100, available))
      << "only the growth beyond the pool counts";
  EXPECT_NO_THROW(check_reservation_fits("--reserve-hugepages", 2 * core::kMiB, 50, 100, available))
      << "a pool already that large is left alone";
  try {
    check_reservation_fits("--reserve-hugepages", 2 * core::kMiB, 3073, 0, available);
    FAIL() << "expected UsageError";
  } catch (const UsageError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("--reserve-hugepages"), std::string::npos) << what;
    EXPECT_NE(what.find("3073"), std::string::npos) << what;
    EXPECT_NE(what.find("8 GiB MemAvailable"), std::string::npos) << what;
    EXPECT_NE(what.find("at most 3072 pages"), std::string::npos) << what;
  }
  EXPECT_THROW(check_reservation_fits("--reserve-hugepages-1g", core::kGiB, UINT64_MAX, 0, available), UsageError)
      << "a count whose size overflows is refused, not wrapped";
}

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

// Root can write into a 0555 directory, so that is no error for root; for
// anyone else it is (tests/harness_permissions_test.cc runs the binary as
// nobody, and on a read-only filesystem, where root is refused too).
TEST(PlanTest, OutputIntoA0555DirectoryIsRefusedOnlyForWhoCannotWriteThere) {
  namespace fs = std::filesystem;
  const fs::path dir = testing::make_temp_dir("memprobe-plan-0555");
  fs::permissions(dir, fs::perms::owner_read | fs::perms::owner_exec | fs::perms::group_read |
                           fs::perms::group_exec | fs::perms::others_read | fs::perms::others_exec);
  const std::string out = (dir / "r.json").string();
  if (::geteuid() == 0) {
    EXPECT_NO_THROW(check_output_path(out));
    EXPECT_FALSE(directory_write_problem(dir.string()));
  } else {
    EXPECT_THROW(check_output_path(out), UsageError);
    EXPECT_EQ(directory_write_problem(dir.string()).value_or(""), "Permission denied");
  }
  EXPECT_TRUE(fs::is_empty(dir)) << "the check leaves nothing behind";
  fs::remove_all(dir);
}

std::string usage_error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const UsageError& e) {
    return e.what();
  }
  return "";
}

TEST(PlanTest, MaxWorkingSetAcceptsSizesInWholePages) {
  EXPECT_EQ(parse_max_working_set("64KiB", std::nullopt), 64 * core::kKiB);
  EXPECT_EQ(parse_max_working_set("8MiB", std::nullopt), 8 * core::kMiB);
  EXPECT_EQ(parse_max_working_set("64M", std::nullopt), 64 * core::kMiB);
  EXPECT_EQ(parse_max_working_set("1.5GiB", std::nullopt), 3 * core::kGiB / 2);
  EXPECT_EQ(parse_max_working_set("1.5GiB", 4 * core::kGiB), 3 * core::kGiB / 2);
}

TEST(PlanTest, BadMaxWorkingSetIsAUsageErrorNamingIt) {
  const std::string unparsable = usage_error_of([] { parse_max_working_set("12XB", std::nullopt); });
  EXPECT_NE(unparsable.find("'12XB'"), std::string::npos) << unparsable;
  for (const char* small : {"0", "4KiB", "65535"}) {
    const std::string e = usage_error_of([&] { parse_max_working_set(small, std::nullopt); });
    EXPECT_NE(e.find(std::string("'") + small + "'"), std::string::npos) << e;
    EXPECT_NE(e.find("minimum of 64 KiB"), std::string::npos) << e;
  }
  const std::string partial = usage_error_of([] { parse_max_working_set("100000", std::nullopt); });
  EXPECT_NE(partial.find("'100000'"), std::string::npos) << partial;
  if (core::base_page_bytes() == 4 * core::kKiB) {
    EXPECT_NE(partial.find("4 KiB pages (nearest: 96 KiB or 100 KiB)"), std::string::npos) << partial;
  }
}

// Whole pages are the system's base pages (16 or 64 KiB on some arm64
// kernels): a size one base page above the minimum is accepted, and one
// 4 KiB step above it is accepted only where the base page is 4 KiB.
TEST(PlanTest, MaxWorkingSetIsInWholeBasePages) {
  const std::uint64_t page = core::base_page_bytes();
  EXPECT_EQ(parse_max_working_set(std::to_string(kMinMaxWorkingSetBytes + page), std::nullopt),
            kMinMaxWorkingSetBytes + page);
  const std::string text = std::to_string(kMinMaxWorkingSetBytes + 4 * core::kKiB);
  if (page == 4 * core::kKiB) {
    EXPECT_EQ(parse_max_working_set(text, std::nullopt), kMinMaxWorkingSetBytes + 4 * core::kKiB);
  } else {
    const std::string e = usage_error_of([&] { parse_max_working_set(text, std::nullopt); });
    EXPECT_NE(e.find("whole number of " + core::format_bytes(page) + " pages"), std::string::npos) << e;
  }
}

TEST(PlanTest, MaxWorkingSetAboveHalfOfMemAvailableIsRefusedWithBothFigures) {
  EXPECT_EQ(max_working_set_limit(4 * core::kGiB), 2 * core::kGiB);
  EXPECT_EQ(parse_max_working_set("2GiB", 4 * core::kGiB), 2 * core::kGiB);
  const std::string e = usage_error_of([] { parse_max_working_set("3GiB", 4 * core::kGiB); });
  EXPECT_NE(e.find("'3GiB'"), std::string::npos) << e;
  EXPECT_NE(e.find("4 GiB MemAvailable"), std::string::npos) << e;
  EXPECT_NE(e.find("at most 2 GiB"), std::string::npos) << e;
  // Unknown MemAvailable: nothing to compare with.
  EXPECT_EQ(parse_max_working_set("3GiB", std::nullopt), 3 * core::kGiB);
}

TEST(PlanTest, DefaultMaxWorkingSetIsClampedToWhatMemAvailableAllows) {
  EXPECT_FALSE(clamp_default_max_working_set(256 * core::kMiB, 4 * core::kGiB));  // fits
  EXPECT_FALSE(clamp_default_max_working_set(256 * core::kMiB, std::nullopt));    // unknown
  EXPECT_EQ(clamp_default_max_working_set(256 * core::kMiB, 300 * core::kMiB), 150 * core::kMiB);
  EXPECT_EQ(clamp_default_max_working_set(256 * core::kMiB, 301 * core::kMiB), 150 * core::kMiB);  // 2 MiB pages
  EXPECT_EQ(clamp_default_max_working_set(256 * core::kMiB, 3 * core::kMiB), 1536 * core::kKiB);
  EXPECT_EQ(clamp_default_max_working_set(256 * core::kMiB, 16 * core::kKiB), kMinMaxWorkingSetBytes);
}

}  // namespace
}  // namespace memprobe::harness
