// Page-fault cost: first touch (one write per page) of fresh anonymous memory
// under each page policy, cold (first in this process) and warm, the same
// work done by MADV_POPULATE_WRITE without the trap, and file-backed major
// faults after dropping the page cache. Reports us_per_fault, gb_per_s and
// the fault count read from the software counter next to the expected count.
#include <benchmark/benchmark.h>
#include <fmt/format.h>
#include <sys/resource.h>

#include <algorithm>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include "benchmarks/arena.h"
#include "benchmarks/case_label.h"
#include "benchmarks/family.h"
#include "benchmarks/first_touch.h"
#include "core/buffer.h"
#include "core/clock.h"
#include "core/machine.h"
#include "core/units.h"

namespace memprobe::bench {
namespace {

// Sizes keep the family near 10 s on a VM where a cold THP fault can take
// milliseconds: 16 Ki faults of 4 KiB, 128 of 2 MiB.
constexpr std::size_t k4KBytes = 64 * core::kMiB;
constexpr std::size_t kThpBytes = 256 * core::kMiB;
constexpr std::uint64_t kMaxHugetlb2MPages = 64;
constexpr std::uint64_t kMaxHugetlb1GPages = 1;
constexpr std::size_t kFileBytes = 32 * core::kMiB;
// --quick divides the anonymous and file sizes by this: 4 Ki faults of 4
// KiB, 32 of 2 MiB and 2 Ki major faults still time a fault to well under a
// percent, and the family then costs a --quick run about a second less.
constexpr std::size_t kQuickSizeDivisor = 4;
constexpr int kMaxFileRepetitions = 3;  // each evicts and re-reads the file from disk

enum class Phase { kCold, kWarm, kPopulate };

const char* phase_name(Phase phase) {
  switch (phase) {
    case Phase::kCold: return "cold";
    case Phase::kWarm: return "warm";
    case Phase::kPopulate: return "populate";
  }
  return "?";
}

const char* kind_name(core::PagePolicy policy) {
  switch (policy) {
    case core::PagePolicy::k4K: return "anon-4k";
    case core::PagePolicy::kThp: return "anon-thp";
    case core::PagePolicy::kHugetlb2M: return "hugetlb-2m";
    case core::PagePolicy::kHugetlb1G: return "hugetlb-1g";
  }
  return "?";
}

FaultCounter& fault_counter() {
  static FaultCounter instance;  // opened once for the benchmark thread
  return instance;
}

// Pool pages to touch: up to `most`, fewer if that is all the pool has; with
// an empty pool `most`, so the unavailable reason names the full need.
std::uint64_t hugetlb_pages_to_use(std::size_t page_bytes, std::uint64_t most) {
  const std::uint64_t available = hugetlb_pages_available(page_bytes);
  return available == 0 ? most : std::min(available, most);
}

// The size each policy's cases touch; hugetlb as many pool pages as are
// available now (at most a few), so the run adapts to the pool.
std::size_t case_bytes(core::PagePolicy policy, bool quick) {
  const std::size_t divisor = quick ? kQuickSizeDivisor : 1;
  switch (policy) {
    case core::PagePolicy::k4K: return k4KBytes / divisor;
    case core::PagePolicy::kThp: return kThpBytes / divisor;
    case core::PagePolicy::kHugetlb2M: return 2 * core::kMiB * hugetlb_pages_to_use(2 * core::kMiB, kMaxHugetlb2MPages);
    case core::PagePolicy::kHugetlb1G: return core::kGiB * hugetlb_pages_to_use(core::kGiB, kMaxHugetlb1GPages);
  }
  return k4KBytes;
}

// Policies whose size has been touched and freed in this process (warm).
std::set<core::PagePolicy>& warmed() {
  static std::set<core::PagePolicy> instance;
  return instance;
}

std::uint64_t peak_rss_bytes() {
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  return static_cast<std::uint64_t>(usage.ru_maxrss) * core::kKiB;
}

struct Totals {
  double seconds = 0;
  double faults = 0;
  bool faults_known = true;
  std::uint64_t iterations = 0;
};

void report(benchmark::State& state, const Totals& t, std::size_t bytes, std::uint64_t pages,
            double faults_expected, bool per_fault) {
  const double iterations = static_cast<double>(std::max<std::uint64_t>(t.iterations, 1));
  const double touched_bytes = static_cast<double>(bytes) * iterations;
  if (t.seconds > 0) state.counters["gb_per_s"] = touched_bytes / t.seconds / 1e9;  // never a made-up 0
  state.counters["us_per_page"] = t.seconds * 1e6 / (static_cast<double>(pages) * iterations);
  state.counters["faults_expected"] = faults_expected;
  if (t.faults_known) {
    state.counters["faults_counted"] = t.faults / iterations;
    if (per_fault && t.faults > 0) state.counters["us_per_fault"] = t.seconds * 1e6 / t.faults;
  }
}

// What every page-fault case starts with: the chase families' buffer
// released (it would hold pool pages and memory), and the fault counter; null
// (the case failed) when the counter cannot be opened.
FaultCounter* start_fault_case(benchmark::State& state) {
  release_arena();
  FaultCounter& counter = fault_counter();
  if (counter.available()) return &counter;
  fail_case(state, "software fault counters unavailable: " + counter.reason());
  return nullptr;
}

// Warm means this size was touched and freed before in this process (on a
// VM, the guest memory is then backed by the host too): touches and frees it
// once if not; false (the case failed) when it cannot be mapped.
bool warm_up(benchmark::State& state, core::PagePolicy policy, std::size_t bytes) {
  if (warmed().count(policy)) return true;
  auto m = FreshMapping::map(policy, bytes);
  if (!m) {
    fail_case(state, m.error().reason);
    return false;
  }
  memprobe_touch_pages(m->data(), m->size_bytes(), m->page_bytes());
  warmed().insert(policy);
  return true;
}

// An anonymous case's label, with what the kernel actually gave (read
// outside the timed region).
std::string anon_label(const FreshMapping& m, Phase phase, std::uint64_t rss_before) {
  const core::PagePolicy policy = m.policy();
  std::string backing = "unverified";
  double huge_fraction = 0;
  if (auto b = core::read_backing(m.data(), m.size_bytes(), policy)) {
    backing = b->verified;
    huge_fraction = b->huge_fraction;
  }
  std::map<std::string, std::string> label = {
      {"page", std::string(core::cli_name(policy))},
      {"kind", kind_name(policy)},
      {"phase", phase_name(phase)},
      {"bytes", std::to_string(m.size_bytes())},
      {"pages", std::to_string(m.pages())},
      {"page_bytes", std::to_string(core::requested_page_bytes(policy))},
      {"backing", backing},
      {"huge_fraction", fmt::format("{:.3f}", huge_fraction)},
      {"reuse", "munmap"},
      {"touch", phase == Phase::kPopulate ? "madv_populate_write" : "write"},
  };
  if (phase == Phase::kCold) label["process_peak_rss_bytes_before"] = std::to_string(rss_before);
  return format_case_label(label);
}

void anon_case(benchmark::State& state, core::PagePolicy policy, Phase phase, bool quick) {
  FaultCounter* started = start_fault_case(state);
  if (!started) return;
  FaultCounter& counter = *started;
  const std::size_t bytes = case_bytes(policy, quick);
  const double tsc_hz = core::tsc_hz();
  const std::uint64_t rss_before = peak_rss_bytes();
  if (phase != Phase::kCold && !warm_up(state, policy, bytes)) return;

  // Iterations(1): one fresh mapping per repetition, mapped (untimed) before
  // the loop so a refused mapping (e.g. the hugetlb pool emptied by another
  // process since the last repetition) fails the case cleanly.
  auto m = FreshMapping::map(policy, bytes);
  if (!m) {
    fail_case(state, m.error().reason);
    return;
  }
  Totals totals;
  for (auto _ : state) {
    TouchResult r;
    if (phase == Phase::kPopulate) {
      auto p = populate_write(m->data(), m->size_bytes(), counter);
      if (!p) {
        state.SkipWithError(p.error().reason.c_str());  // inside the one iteration: safe in any repetition
        return;
      }
      r = *p;
    } else {
      r = first_touch(*m, counter);
    }
    const double seconds = static_cast<double>(r.tsc_ticks) / tsc_hz;
    state.SetIterationTime(seconds);
    totals.seconds += seconds;
    ++totals.iterations;
    if (r.minor_faults && r.major_faults) totals.faults += *r.minor_faults + *r.major_faults;
    else totals.faults_known = false;
  }
  state.SetLabel(anon_label(*m, phase, rss_before));
  warmed().insert(policy);
  // Populate takes the same page-fault path from inside the kernel (GUP): no
  // trap, so the counter, which counts traps, should read 0.
  const std::uint64_t pages = m->pages();
  const double expected = phase == Phase::kPopulate ? 0.0 : static_cast<double>(pages);
  report(state, totals, m->size_bytes(), pages, expected, phase != Phase::kPopulate);
}

// Label values carry no spaces or '=' (benchmarks/case_label.h).
std::string label_safe(std::string text) {
  for (char& c : text)
    if (c == ' ' || c == '=') c = '_';
  return text;
}

// The file-backed case's state, as long-lived as its registered case: the
// file (created at its first run) and whether a repetition was measured.
struct FileCase {
  std::size_t bytes = kFileBytes;
  std::optional<core::Result<ColdFile>> file;
  bool measured_once = false;
};

ColdFile* major_fault_file(FileCase& c, std::string& reason) {
  if (!c.file) c.file.emplace(ColdFile::create(c.bytes));
  if (!c.file->has_value()) {
    reason = c.file->error().reason;
    return nullptr;
  }
  return &c.file->value();
}

// Drops the file's pages from the page cache for one repetition: the pages
// still resident, or why the repetition cannot be measured.
core::Result<std::size_t> evict_for_repetition(ColdFile& file, bool measured_once, std::uint64_t pages) {
  auto resident = file.evict();
  for (int retry = 0; retry < 3 && resident && *resident > 0; ++retry) resident = file.evict();  // writeback lag
  if (!resident) return resident.error();
  // Pages the kernel keeps despite the advice: the first repetition must
  // start cold; later ones are measured and their residency reported.
  if (*resident > 0 && !measured_once)
    return core::Unavailable{fmt::format("cannot drop the file's page cache: {} of {} pages still resident after "
                                         "posix_fadvise(DONTNEED) (mincore)",
                                         *resident, pages)};
  return resident;
}

std::string file_label(const ColdFile& file, std::uint64_t pages, std::size_t page_bytes) {
  return format_case_label({
      {"page", "4k"},
      {"kind", "file-major"},
      {"phase", "evicted"},
      {"bytes", std::to_string(file.size_bytes())},
      {"pages", std::to_string(pages)},
      {"page_bytes", std::to_string(page_bytes)},
      {"reuse", "munmap"},
      {"touch", "read"},
      {"evict", "posix_fadvise_dontneed"},
      {"readahead", "madv_random"},
      {"dir", label_safe(file.directory())},
  });
}

void file_major_case(benchmark::State& state, FileCase& c) {
  FaultCounter* started = start_fault_case(state);
  if (!started) return;
  FaultCounter& counter = *started;
  std::string reason;
  ColdFile* file = major_fault_file(c, reason);
  if (file == nullptr) {
    fail_case(state, reason);
    return;
  }
  const double tsc_hz = core::tsc_hz();
  const std::size_t page = core::requested_page_bytes(core::PagePolicy::k4K);
  const std::uint64_t pages = file->size_bytes() / page;
  // Iterations(1): one eviction and one read pass per repetition, prepared
  // before the loop so a failure ends the case cleanly (fail_case).
  const auto resident = evict_for_repetition(*file, c.measured_once, pages);
  if (!resident) {
    fail_case(state, resident.error().reason);
    return;
  }
  auto data = file->map();
  if (!data) {
    fail_case(state, data.error().reason);
    return;
  }
  Totals totals;
  double minor_total = 0;
  for (auto _ : state) {
    const TouchResult r = read_touch(*data, file->size_bytes(), page, counter);
    const double seconds = static_cast<double>(r.tsc_ticks) / tsc_hz;
    state.SetIterationTime(seconds);
    totals.seconds += seconds;
    ++totals.iterations;
    if (r.major_faults && r.minor_faults) {
      totals.faults += *r.major_faults;
      minor_total += *r.minor_faults;
    } else {
      totals.faults_known = false;
    }
  }
  file->unmap(*data);
  c.measured_once = true;
  report(state, totals, file->size_bytes(), pages, static_cast<double>(pages), true);
  state.counters["resident_pages_before"] = static_cast<double>(*resident);
  if (totals.faults_known)
    state.counters["minor_faults_counted"] = minor_total / static_cast<double>(std::max<std::uint64_t>(totals.iterations, 1));
  state.SetLabel(file_label(*file, pages, page));
}

std::size_t register_pagefault(const core::Machine&, const CaseOptions& options) {
  std::size_t registered = 0;
  const int repetitions = options.repetitions > 0 ? (options.quick ? std::min(options.repetitions, 3) : options.repetitions) : 0;
  // One fresh mapping per repetition: the measurement is one pass, not a loop.
  auto common = [&](benchmark::internal::Benchmark* b, int reps) {
    b->UseManualTime()->Iterations(1)->Unit(benchmark::kMillisecond);
    if (reps > 0) b->Repetitions(reps);
    ++registered;
  };
  for (const core::PagePolicy policy : options.policies) {
    // Cold first: it must be this process's first touch of the size.
    for (const Phase phase : {Phase::kCold, Phase::kWarm, Phase::kPopulate}) {
      const std::string name = fmt::format("pagefault/{}/{}", core::cli_name(policy), phase_name(phase));
      common(register_case(name.c_str(),
                                          [policy, phase, quick = options.quick](benchmark::State& state) {
                                            anon_case(state, policy, phase, quick);
                                          }),
             phase == Phase::kCold ? 1 : repetitions);
    }
  }
  // The file lives as long as this case.
  auto file_case = std::make_shared<FileCase>();
  if (options.quick) file_case->bytes = kFileBytes / kQuickSizeDivisor;
  common(register_case("pagefault/file/major",
                       [file_case](benchmark::State& state) { file_major_case(state, *file_case); }),
         repetitions > 0 ? std::min(repetitions, kMaxFileRepetitions) : 0);
  return registered;
}

}  // namespace

MEMPROBE_FAMILY(pagefault,
                "first-touch page faults (4k, thp, hugetlb; cold, warm, populate) and file-backed major faults: "
                "us per fault, GB/s, counted vs expected faults",
                register_pagefault);

}  // namespace memprobe::bench
