#include "harness/machine_load.h"

#include <gtest/gtest.h>

#include <chrono>

namespace memprobe::harness {
namespace {

constexpr const char* kProcStat =
    "cpu  100 10 50 800 20 5 5 10 0 0\n"
    "cpu0 60 5 25 390 10 3 2 5 0 0\n"
    "cpu1 40 5 25 410 10 2 3 5 0 0\n"
    "intr 12345\n";

TEST(MachineLoadTest, TheAggregateCpuLineCountsStealAsBusy) {
  const auto t = parse_proc_stat(kProcStat, 100);
  ASSERT_TRUE(t);
  // user + nice + system + irq + softirq + steal = 180 ticks; + idle + iowait = 1000.
  EXPECT_DOUBLE_EQ(t->busy_s, 1.8);
  EXPECT_DOUBLE_EQ(t->total_s, 10.0);
  EXPECT_DOUBLE_EQ(t->own_s, 0);
}

TEST(MachineLoadTest, AMissingOrMalformedCpuLineIsNoSample) {
  EXPECT_FALSE(parse_proc_stat("cpu0 1 2 3 4\nintr 5\n", 100)) << "only per-CPU lines";
  EXPECT_FALSE(parse_proc_stat("cpu  1 2 x 4\n", 100));
  EXPECT_FALSE(parse_proc_stat("", 100));
  EXPECT_FALSE(parse_proc_stat(kProcStat, 0)) << "no tick rate";
  // Kernels before steal time: four fields are enough.
  const auto old = parse_proc_stat("cpu  10 0 10 80\n", 100);
  ASSERT_TRUE(old);
  EXPECT_DOUBLE_EQ(old->busy_s, 0.2);
  EXPECT_DOUBLE_EQ(old->total_s, 1.0);
}

TEST(MachineLoadTest, OtherWorkIsTheBusyTimeThisProcessDidNotUse) {
  const CpuTimes start{1, 10, 0.5};
  // 10 s of machine time, 5 s busy, 2.5 s of it ours: a quarter was others'.
  EXPECT_DOUBLE_EQ(other_busy_fraction(start, {6, 20, 3}), 0.25);
  EXPECT_DOUBLE_EQ(other_busy_fraction(start, {6, 20, 5.5}), 0) << "all of it ours";
  EXPECT_DOUBLE_EQ(other_busy_fraction(start, {6, 20, 9}), 0) << "clamped: rusage and /proc/stat tick apart";
  EXPECT_DOUBLE_EQ(other_busy_fraction(start, start), 0) << "no time passed";
}

TEST(MachineLoadTest, ThisMachinesSampleCountsOurOwnWork) {
  const auto start = sample_cpu_times();
  if (!start) GTEST_SKIP() << "/proc/stat is not readable here";
  EXPECT_GE(start->total_s, start->busy_s);
  EXPECT_GE(start->busy_s, 0);
  // Burn CPU until getrusage has seen some of it (bounded: a frozen
  // getrusage must not hang the suite).
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  volatile std::uint64_t sink = 0;
  std::optional<CpuTimes> end = sample_cpu_times();
  while (end && end->own_s < start->own_s + 0.05 && std::chrono::steady_clock::now() < deadline) {
    for (int i = 0; i < 1000000; ++i) sink = sink + static_cast<std::uint64_t>(i);
    end = sample_cpu_times();
  }
  ASSERT_TRUE(end);
  EXPECT_GE(end->own_s, start->own_s + 0.05);
  EXPECT_GE(end->total_s, start->total_s);
  const double other = other_busy_fraction(*start, *end);
  EXPECT_GE(other, 0.0);
  EXPECT_LE(other, 1.0);
}

}  // namespace
}  // namespace memprobe::harness
