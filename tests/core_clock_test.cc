#include "core/clock.h"

#include <cmath>
#include <cstdint>
#include <vector>

#include <gtest/gtest.h>

namespace memprobe::core {
namespace {

TEST(ClockTest, EndStampIsNotBeforeBeginStamp) {
  for (int i = 0; i < 1000; ++i) {
    const std::uint64_t begin = tsc_begin();
    const std::uint64_t end = tsc_end();
    EXPECT_GE(end, begin);
  }
}

TEST(ClockTest, TscHzIsPositiveFiniteAndCached) {
  const double hz = tsc_hz();
  EXPECT_GT(hz, 0.0);
  EXPECT_TRUE(std::isfinite(hz));
  EXPECT_EQ(tsc_hz(), hz);  // calibrated once per process
}

#if defined(__aarch64__)
// The virtual counter's rate is architectural: CNTFRQ_EL0, not a calibration.
TEST(ClockTest, Aarch64TickRateIsCntfrq) {
  std::uint64_t frequency_hz = 0;
  asm volatile("mrs %0, cntfrq_el0" : "=r"(frequency_hz));
  if (frequency_hz == 0) GTEST_SKIP() << "CNTFRQ_EL0 reads 0 (firmware left it unset): tsc_hz() calibrates instead";
  EXPECT_EQ(tsc_hz(), static_cast<double>(frequency_hz));
}
#endif

TEST(ClockTest, CalibratedCoreClockReportsItsSamplesAndSource) {
  const CoreClock clock = calibrate_core_clock(20);
  EXPECT_GT(clock.hz, 0.0);
  EXPECT_TRUE(std::isfinite(clock.hz));
  EXPECT_GT(clock.cycles_per_tsc_tick, 0.0);
  EXPECT_DOUBLE_EQ(clock.hz, clock.cycles_per_tsc_tick * tsc_hz());
  EXPECT_EQ(clock.samples, 20u);
  EXPECT_EQ(clock.source, "calibrated");
  EXPECT_DOUBLE_EQ(clock.quantile, 0.9);
}

TEST(QuantileTest, NearestRankOnKnownValues) {
  const std::vector<double> one_to_ten = {7, 3, 10, 1, 5, 9, 2, 8, 6, 4};  // unsorted on purpose
  EXPECT_EQ(quantile_of(one_to_ten, 0.0), 1.0);
  EXPECT_EQ(quantile_of(one_to_ten, 0.1), 1.0);   // ceil(1.0) = rank 1
  EXPECT_EQ(quantile_of(one_to_ten, 0.11), 2.0);  // ceil(1.1) = rank 2
  EXPECT_EQ(quantile_of(one_to_ten, 0.5), 5.0);
  EXPECT_EQ(quantile_of(one_to_ten, 0.9), 9.0);
  EXPECT_EQ(quantile_of(one_to_ten, 0.95), 10.0);
  EXPECT_EQ(quantile_of(one_to_ten, 1.0), 10.0);
}

TEST(QuantileTest, ClampsOutOfRangeQuantiles) {
  const std::vector<double> values = {4, 2, 8};
  EXPECT_EQ(quantile_of(values, -1.0), 2.0);
  EXPECT_EQ(quantile_of(values, 2.0), 8.0);
  EXPECT_EQ(quantile_of(values, 0.5), 4.0);  // ceil(1.5) = rank 2
}

TEST(QuantileTest, EmptyIsZeroAndSingleValueIsItself) {
  EXPECT_EQ(quantile_of({}, 0.5), 0.0);
  EXPECT_EQ(quantile_of({3.5}, 0.0), 3.5);
  EXPECT_EQ(quantile_of({3.5}, 0.9), 3.5);
}

TEST(QuantileTest, DoesNotModifyTheCallersValues) {
  const std::vector<double> values = {3, 1, 2};
  std::vector<double> copy = values;
  (void)quantile_of(copy, 0.5);
  EXPECT_EQ(copy, values);
}

}  // namespace
}  // namespace memprobe::core
