#include "core/clock.h"

#include <time.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <utility>
#include <vector>

#include "core/chase.h"

#if defined(__x86_64__)
#include <x86intrin.h>
#endif

namespace memprobe::core {
namespace {

std::uint64_t monotonic_raw_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC_RAW, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000u + static_cast<std::uint64_t>(ts.tv_nsec);
}

// One simultaneous reading of both clocks. The reference read is bracketed by
// two TSC reads and the tightest bracket of a few tries is kept, so a
// preemption between the reads cannot skew the pair.
struct ClockPair {
  std::uint64_t tsc_ticks = 0;
  std::uint64_t ns = 0;
};

ClockPair read_clock_pair() {
  constexpr int kTries = 16;
  ClockPair best;
  std::uint64_t best_gap_tsc_ticks = UINT64_MAX;
  for (int i = 0; i < kTries; ++i) {
    const std::uint64_t before = tsc_begin();
    const std::uint64_t ns = monotonic_raw_ns();
    const std::uint64_t after = tsc_end();
    if (after >= before && after - before < best_gap_tsc_ticks) {
      best_gap_tsc_ticks = after - before;
      best = {before + (after - before) / 2, ns};
    }
  }
  return best;
}

double calibrate_tsc_hz() {
#if defined(__aarch64__)
  // The generic timer's frequency is architectural; no calibration needed.
  std::uint64_t frequency_hz = 0;
  asm volatile("mrs %0, cntfrq_el0" : "=r"(frequency_hz));
  if (frequency_hz != 0) return static_cast<double>(frequency_hz);
#elif !defined(__x86_64__)
#error "memprobe supports x86-64 and AArch64 only: no cycle-accurate reference clock for this architecture"
#endif
  constexpr std::uint64_t kMinCalibrationNs = 100'000'000;  // 100 ms
  const ClockPair start = read_clock_pair();
  // Sleep most of the interval (no need to burn a core), then re-read.
  timespec nap{0, static_cast<long>(kMinCalibrationNs)};
  while (nanosleep(&nap, &nap) != 0) {
    // EINTR: keep sleeping for the remainder.
  }
  ClockPair end = read_clock_pair();
  while (end.ns - start.ns < kMinCalibrationNs) end = read_clock_pair();
  return static_cast<double>(end.tsc_ticks - start.tsc_ticks) * 1e9 / static_cast<double>(end.ns - start.ns);
}

}  // namespace

std::uint64_t tsc_begin() {
#if defined(__x86_64__)
  // lfence first: earlier instructions must finish before the stamp is taken.
  _mm_lfence();
  return __rdtsc();
#else  // AArch64 (the only other architecture: see above)
  std::uint64_t ticks = 0;
  asm volatile("isb; mrs %0, cntvct_el0" : "=r"(ticks) : : "memory");
  return ticks;
#endif
}

std::uint64_t tsc_end() {
#if defined(__x86_64__)
  // rdtscp waits for earlier instructions; lfence keeps later ones from
  // starting before the stamp.
  unsigned int aux = 0;
  const std::uint64_t ticks = __rdtscp(&aux);
  _mm_lfence();
  return ticks;
#else  // AArch64
  std::uint64_t ticks = 0;
  asm volatile("isb; mrs %0, cntvct_el0; isb" : "=r"(ticks) : : "memory");
  return ticks;
#endif
}

double tsc_hz() {
  static const double hz = calibrate_tsc_hz();  // thread-safe, once per process
  return hz;
}

double quantile_of(std::vector<double> values, double q) {
  if (values.empty()) return 0.0;
  std::sort(values.begin(), values.end());
  const double n = static_cast<double>(values.size());
  const double clamped_q = std::isnan(q) ? 0.0 : std::clamp(q, 0.0, 1.0);
  const auto rank = static_cast<std::size_t>(std::ceil(clamped_q * n));
  const std::size_t index = std::clamp<std::size_t>(rank, 1, values.size()) - 1;
  return values[index];
}

CoreClock calibrate_core_clock(std::size_t samples) {
  // 2^19 adds: ~0.2 ms at 2.5-3.5 GHz, long against the ~60-tick timer cost,
  // short enough that most samples dodge preemption on a shared VM.
  constexpr std::uint64_t kAddsPerSample = std::uint64_t{1} << 19;
  constexpr double kQuantile = 0.9;
  constexpr std::uint64_t kWarmUpNs = 20'000'000;  // 20 ms

  const double reference_hz = tsc_hz();
  const auto warm_up_tsc_ticks = static_cast<std::uint64_t>(reference_hz * 1e-9 * kWarmUpNs);

  // Warm-up: let the core ramp to its working frequency before sampling.
  std::uint64_t sink = 0;
  const std::uint64_t warm_up_start = tsc_begin();
  while (tsc_end() - warm_up_start < warm_up_tsc_ticks) sink += memprobe_add_chain(kAddsPerSample);

  std::vector<double> cycles_per_tick;
  cycles_per_tick.reserve(samples);
  for (std::size_t i = 0; i < samples; ++i) {
    const std::uint64_t start = tsc_begin();
    sink += memprobe_add_chain(kAddsPerSample);
    const std::uint64_t end = tsc_end();
    if (end > start) {
      cycles_per_tick.push_back(static_cast<double>(kAddsPerSample) / static_cast<double>(end - start));
    }
  }
  // Keep the sum observable so the chains cannot be dropped.
  asm volatile("" : : "r"(sink));

  CoreClock clock;
  clock.source = "calibrated";
  clock.samples = cycles_per_tick.size();
  clock.quantile = kQuantile;
  clock.cycles_per_tsc_tick = quantile_of(std::move(cycles_per_tick), kQuantile);
  clock.hz = clock.cycles_per_tsc_tick * reference_hz;
  return clock;
}

}  // namespace memprobe::core
