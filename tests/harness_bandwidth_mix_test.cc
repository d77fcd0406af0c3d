// A real `memprobe run --only bandwidth --quick`: every read:write mix
// (1:0, 3:1, 2:1, 1:1, triad) is measured and derived with a positive,
// finite GB/s, and printed in the mixes table. Asserts no timing.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <map>
#include <string>

#include "analysis/families/bandwidth.h"
#include "analysis/results_json.h"
#include "tests/command_runner.h"

namespace memprobe {
namespace {

TEST(BandwidthMixRunTest, QuickRunMeasuresEveryMix) {
  const auto path =
      std::filesystem::temp_directory_path() / ("memprobe-mix-" + std::to_string(::getpid()) + ".json");
  // The cap keeps the run short: the DRAM point is skipped with its reason,
  // every cache-sized point runs every mix (--only names the family).
  const auto r = testing::run_command_line(kMemprobe +
                                           " run --only bandwidth --quick --pages 4k --max-working-set 16MiB --out " +
                                           path.string());
  ASSERT_EQ(r.exit_status, 0) << r.err;
  EXPECT_NE(r.out.find("Read:write mixes"), std::string::npos) << r.out;
  const analysis::Results results = analysis::load_results(path.string());
  std::filesystem::remove(path);
  std::map<std::string, int> seen;
  for (const analysis::BandwidthMixRow& row : analysis::bandwidth_mix_rows(results)) {
    EXPECT_TRUE(std::isfinite(row.gb_per_s)) << row.mix;
    EXPECT_GT(row.gb_per_s, 0) << row.mix;
    ++seen[row.mix];
  }
  for (const char* mix : {"1:0", "3:1", "2:1", "1:1", "triad"}) {
    EXPECT_GT(seen[mix], 0) << "no " << mix << " row\n" << r.out;
    // Every mix on 1 thread and on all cores, at the same points as the read.
    EXPECT_EQ(seen[mix], seen["1:0"]) << mix;
  }
}

}  // namespace
}  // namespace memprobe
