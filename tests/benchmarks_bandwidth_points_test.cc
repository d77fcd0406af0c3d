// Where the bandwidth family registers its read:write mix kernels (mix_3_1,
// mix_2_1, triad): the default run only on all cores at its two largest
// working sets (DRAM and the last cache level), --only bandwidth at every
// point the read kernel has. Registration only: nothing is timed.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "benchmarks/family.h"
#include "tests/registered_cases.h"

namespace memprobe {
namespace {

// kernel -> its points, "threads:N/SIZE", in registration order.
std::map<std::string, std::vector<std::string>> points_by_kernel(const bench::CaseOptions& options) {
  std::map<std::string, std::vector<std::string>> out;
  for (const std::string& name : testing::registered_case_names("bandwidth", options)) {
    // "bandwidth/<kernel>/threads:N/<size>/min_time:..."
    const auto kernel_end = name.find('/', 10);
    const auto size_end = name.find("/min_time");
    if (name.rfind("bandwidth/", 0) != 0 || kernel_end == std::string::npos) continue;
    out[name.substr(10, kernel_end - 10)].push_back(name.substr(kernel_end + 1, size_end - kernel_end - 1));
  }
  return out;
}

TEST(BandwidthPointsTest, DefaultRunHasTheMixesOnAllCoresAtTheTwoLargestSets) {
  bench::CaseOptions options;
  options.quick = true;
  auto points = points_by_kernel(options);
  ASSERT_FALSE(points["read"].empty());
  // The read kernel's all-core points, in ascending working set: the last
  // two are the last cache level's and DRAM's.
  const std::string all_cores = points["read"].back().substr(0, points["read"].back().find('/'));
  std::vector<std::string> read_all_cores;
  for (const std::string& p : points["read"])
    if (p.rfind(all_cores + "/", 0) == 0) read_all_cores.push_back(p);
  ASSERT_GE(read_all_cores.size(), 2U);
  const std::vector<std::string> expected(read_all_cores.end() - 2, read_all_cores.end());
  for (const char* kernel : {"mix_3_1", "mix_2_1", "triad"}) EXPECT_EQ(points[kernel], expected) << kernel;

  // --only bandwidth: every point of the read kernel, 1 thread and all cores.
  options.only_families = {"bandwidth"};
  points = points_by_kernel(options);
  for (const char* kernel : {"mix_3_1", "mix_2_1", "triad"}) EXPECT_EQ(points[kernel], points["read"]) << kernel;
  // Another family named does not widen bandwidth's set.
  options.only_families = {"latency"};
  EXPECT_EQ(points_by_kernel(options)["triad"], expected);
}

}  // namespace
}  // namespace memprobe
