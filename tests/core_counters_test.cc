// core/counters: software events count real page faults, hardware events
// either count or say why not, libpfm4 encodes names without a PMU, and the
// group-read parsing and multiplex scaling are exact on synthetic buffers.
#include "core/counters.h"

#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <system_error>
#include <type_traits>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

namespace memprobe::core {
namespace {

constexpr std::size_t kPages = 1000;
constexpr double kFaultSlack = 5.0;

// An anonymous mapping of `pages` 4 KiB pages, THP off, not yet touched.
class FreshPages {
 public:
  explicit FreshPages(std::size_t pages)
      : page_bytes_(static_cast<std::size_t>(sysconf(_SC_PAGESIZE))), pages_(pages) {
    void* p = mmap(nullptr, bytes(), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) throw std::system_error(errno, std::generic_category(), "cannot mmap");
    base_ = static_cast<char*>(p);
    // One fault per 4 KiB page needs THP off for this range.
    madvise(base_, bytes(), MADV_NOHUGEPAGE);
  }
  FreshPages(const FreshPages&) = delete;
  FreshPages& operator=(const FreshPages&) = delete;
  ~FreshPages() { munmap(base_, bytes()); }

  // Writes one byte per page (a write, so no zero-page mapping is involved).
  // Not ASan-instrumented: an instrumented store first reads its shadow byte,
  // and the shadow of a fresh mapping is itself untouched, so each shadow
  // page (covering 8 pages here) would add a minor fault of its own (1125
  // faults for 1000 pages). The count is of this loop's stores alone. (The
  // uninstrumented kernel memprobe_touch_pages, benchmarks/first_touch.cc,
  // is in memprobe_benchmarks, which the core tests do not link.)
  __attribute__((no_sanitize("address"))) void touch() {
    volatile char* p = base_;
    for (std::size_t i = 0; i < pages_; ++i) p[i * page_bytes_] = static_cast<char>(i);
  }
  std::size_t bytes() const { return page_bytes_ * pages_; }

 private:
  std::size_t page_bytes_;
  std::size_t pages_;
  char* base_ = nullptr;
};

double counted(const Reading& reading, const std::string& key) {
  const EventReading* event = reading.find(key);
  EXPECT_NE(event, nullptr) << key;
  if (event == nullptr) return -1.0;
  EXPECT_TRUE(event->available) << key << ": " << event->reason;
  return event->value;
}

// Why perf_event_open cannot be used at all here (ENOSYS: qemu-user does not
// emulate the system call), or nullopt. Counting tests need it.
std::optional<std::string> perf_event_open_missing() {
  perf_event_attr attr{};
  attr.size = sizeof attr;
  attr.type = PERF_TYPE_SOFTWARE;
  attr.config = PERF_COUNT_SW_DUMMY;
  attr.disabled = 1;
  attr.exclude_kernel = 1;
  attr.exclude_hv = 1;
  const long fd = syscall(SYS_perf_event_open, &attr, 0, -1, -1, 0);
  if (fd >= 0) {
    close(static_cast<int>(fd));
    return std::nullopt;
  }
  if (errno == ENOSYS) return "perf_event_open is not implemented here (ENOSYS; qemu-user does not emulate it)";
  return std::nullopt;
}

#define SKIP_WITHOUT_PERF_EVENT_OPEN()                                              \
  do {                                                                              \
    if (const auto missing = perf_event_open_missing()) GTEST_SKIP() << *missing; \
  } while (false)

bool names_an_errno(const std::string& reason) {
  for (const char* name : {"ENOENT", "EOPNOTSUPP", "ENODEV", "EACCES", "EPERM"}) {
    if (reason.find(name) != std::string::npos) return true;
  }
  return false;
}

TEST(CounterTest, FreshPagesCountOneMinorFaultEach) {
  SKIP_WITHOUT_PERF_EVENT_OPEN();
  ASSERT_EQ(sysconf(_SC_PAGESIZE), 4096);
  EventGroup group = EventGroup::open({{"minor-faults"}, {"page-faults"}});
  for (const auto& status : group.statuses()) {
    ASSERT_TRUE(status.available) << status.name << ": " << status.reason;
    EXPECT_TRUE(status.software);
  }
  FreshPages pages(kPages);
  group.start();
  pages.touch();
  group.stop();
  const Reading reading = group.read();
  EXPECT_NEAR(counted(reading, "minor-faults"), static_cast<double>(kPages), kFaultSlack);
  EXPECT_NEAR(counted(reading, "page-faults"), static_cast<double>(kPages), kFaultSlack);
  EXPECT_FALSE(reading.find("minor-faults")->multiplexed);
}

TEST(CounterTest, PopulatedPagesCountNoFaults) {
  SKIP_WITHOUT_PERF_EVENT_OPEN();
  EventGroup group = EventGroup::open({{"minor-faults"}});
  FreshPages pages(kPages);
  pages.touch();
  group.start();
  pages.touch();
  group.stop();
  EXPECT_NEAR(counted(group.read(), "minor-faults"), 0.0, 2.0);
}

TEST(CounterTest, StartResetsTheCount) {
  SKIP_WITHOUT_PERF_EVENT_OPEN();
  EventGroup group = EventGroup::open({{"minor-faults"}});
  FreshPages first(kPages);
  group.start();
  first.touch();
  group.stop();
  FreshPages second(kPages / 2);
  group.start();
  second.touch();
  group.stop();
  EXPECT_NEAR(counted(group.read(), "minor-faults"), static_cast<double>(kPages / 2),
              kFaultSlack);
}

TEST(CounterTest, CyclesCountsOrSaysWhyAndSoftwareStillCounts) {
  SKIP_WITHOUT_PERF_EVENT_OPEN();
  EventGroup group = EventGroup::open({{"cycles"}, {"minor-faults"}});
  ASSERT_EQ(group.statuses().size(), 2u);
  FreshPages pages(kPages);
  group.start();
  pages.touch();
  group.stop();
  const Reading reading = group.read();
  const EventReading* cycles = reading.find("cycles");
  ASSERT_NE(cycles, nullptr);
  const bool counted_cycles = cycles->available && cycles->value > 0.0;
  const bool explained = !cycles->available && names_an_errno(cycles->reason);
  EXPECT_TRUE(counted_cycles != explained)
      << "available=" << cycles->available << " value=" << cycles->value
      << " reason=" << cycles->reason;
  EXPECT_NEAR(counted(reading, "minor-faults"), static_cast<double>(kPages), kFaultSlack);
}

TEST(CounterTest, UnavailableHardwareReadsAsUnavailableNeverZero) {
  SKIP_WITHOUT_PERF_EVENT_OPEN();
  EventGroup group = EventGroup::open(default_memory_events(core_event_table()));
  group.start();
  group.stop();
  const Reading reading = group.read();
  ASSERT_EQ(reading.events.size(), group.statuses().size());
  for (std::size_t i = 0; i < reading.events.size(); ++i) {
    const EventStatus& status = group.statuses()[i];
    if (!status.available) {
      EXPECT_FALSE(reading.events[i].available) << status.name;
      EXPECT_EQ(reading.events[i].reason, status.reason);
      EXPECT_TRUE(names_an_errno(status.reason)) << status.name << ": " << status.reason;
    }
  }
}

TEST(CounterTest, LibpfmEncodesCyclesAndInstructionsWithoutAPmu) {
  auto cycles = encode_event("cycles");
  ASSERT_TRUE(cycles) << cycles.error().reason;
  EXPECT_EQ(cycles->attr.type, static_cast<std::uint32_t>(PERF_TYPE_HARDWARE));
  EXPECT_EQ(cycles->attr.config, static_cast<std::uint64_t>(PERF_COUNT_HW_CPU_CYCLES));
  EXPECT_EQ(cycles->attr.exclude_kernel, 1u);
  EXPECT_EQ(cycles->attr.exclude_hv, 1u);
  EXPECT_EQ(cycles->attr.size, sizeof(perf_event_attr));
  EXPECT_NE(cycles->canonical.find("CPU_CYCLES"), std::string::npos) << cycles->canonical;

  auto instructions = encode_event("instructions");
  ASSERT_TRUE(instructions) << instructions.error().reason;
  EXPECT_EQ(instructions->attr.type, static_cast<std::uint32_t>(PERF_TYPE_HARDWARE));
  EXPECT_EQ(instructions->attr.config, static_cast<std::uint64_t>(PERF_COUNT_HW_INSTRUCTIONS));

  auto with_kernel = encode_event("cycles", /*kernel=*/true);
  ASSERT_TRUE(with_kernel);
  EXPECT_EQ(with_kernel->attr.exclude_kernel, 0u);
  EXPECT_EQ(with_kernel->attr.exclude_user, 0u);
}

TEST(CounterTest, LibpfmEncodesEveryDefaultEventOfThisMachinesPmu) {
  const std::string pmu = core_event_table();
  const auto events = default_memory_events(pmu);
  ASSERT_GE(events.size(), 5u) << "pmu '" << pmu << "'";
  for (const auto& spec : events) {
    auto encoded = encode_event(spec.name);
    ASSERT_TRUE(encoded) << pmu << ": " << encoded.error().reason;
    EXPECT_FALSE(spec.label.empty()) << spec.name;
    EXPECT_NE(spec.meaning.find("per access"), std::string::npos) << spec.name;
    const auto& attr = encoded->attr;
    EXPECT_FALSE(encoded->software) << spec.name;
    // Hardware events: generic (type 0, config may be 0 = cycles), generic
    // cache (type 3), or raw PMU encodings with a non-zero event code.
    EXPECT_TRUE(attr.type == PERF_TYPE_HARDWARE || attr.type == PERF_TYPE_HW_CACHE ||
                (attr.type == PERF_TYPE_RAW && attr.config != 0))
        << spec.name << " type=" << attr.type << " config=" << attr.config;
    EXPECT_EQ(attr.exclude_kernel, 1u) << spec.name;
  }
}

TEST(CounterTest, SoftwareEventsEncodeByName) {
  for (const auto& name : software_event_names()) {
    auto encoded = encode_event(name);
    ASSERT_TRUE(encoded) << name;
    EXPECT_TRUE(encoded->software);
    EXPECT_EQ(encoded->attr.type, static_cast<std::uint32_t>(PERF_TYPE_SOFTWARE));
  }
  EXPECT_EQ(encode_event("minor-faults")->attr.config,
            static_cast<std::uint64_t>(PERF_COUNT_SW_PAGE_FAULTS_MIN));
  EXPECT_EQ(encode_event("minor-faults")->attr.exclude_kernel, 1u);
  // A user-only context-switch counter would always read 0.
  EXPECT_EQ(encode_event("context-switches")->attr.exclude_kernel, 0u);
}

TEST(CounterTest, UnknownEventIsUnavailableWithReason) {
  auto encoded = encode_event("NOT_AN_EVENT_XYZ");
  ASSERT_FALSE(encoded);
  EXPECT_NE(encoded.error().reason.find("unknown event"), std::string::npos)
      << encoded.error().reason;

  SKIP_WITHOUT_PERF_EVENT_OPEN();  // the rest opens a software event
  EventGroup group = EventGroup::open({{"NOT_AN_EVENT_XYZ"}, {"minor-faults"}});
  ASSERT_EQ(group.statuses().size(), 2u);
  EXPECT_FALSE(group.statuses()[0].available);
  EXPECT_NE(group.statuses()[0].reason.find("unknown event 'NOT_AN_EVENT_XYZ'"),
            std::string::npos);
  EXPECT_TRUE(group.statuses()[1].available) << group.statuses()[1].reason;
}

TEST(CounterTest, TypoListsCloseMatchesOnAmdZen) {
  const std::string pmu = libpfm_core_pmu();
  if (pmu.rfind("amd64_fam19h_zen", 0) != 0) {
    GTEST_SKIP() << "L1_DTLB_MISS is a Zen 3/4 event name; libpfm4 core PMU here is '" << pmu
                 << "'";
  }
  auto encoded = encode_event("L1_DTLB_MIS");
  ASSERT_FALSE(encoded);
  const std::string& reason = encoded.error().reason;
  EXPECT_NE(reason.find("unknown event"), std::string::npos) << reason;
  EXPECT_NE(reason.find("close matches"), std::string::npos) << reason;
  EXPECT_NE(reason.find("L1_DTLB_MISS"), std::string::npos) << reason;

  const auto umasks = close_event_matches("L1_DTLB_MISS:TLB_RELOAD_4K_L2_MIS");
  ASSERT_FALSE(umasks.empty());
  EXPECT_EQ(umasks.front(), "L1_DTLB_MISS:TLB_RELOAD_4K_L2_MISS");
}

TEST(CounterTest, CloseMatchesAreFewAndIncludeSoftwareNames) {
  const auto matches = close_event_matches("minor-fault");
  EXPECT_LE(matches.size(), 5u);
  ASSERT_FALSE(matches.empty());
  EXPECT_EQ(matches.front(), "minor-faults");
  EXPECT_LE(close_event_matches("CYCLE").size(), 5u);
}

TEST(CounterTest, ParseGroupReadSplitsHeaderAndValues) {
  const std::array<std::uint64_t, 6> buffer = {3, 1000, 400, 7, 8, 9};
  auto parsed = parse_group_read(buffer, 3);
  ASSERT_TRUE(parsed) << parsed.error().reason;
  EXPECT_EQ(parsed->time_enabled_ns, 1000u);
  EXPECT_EQ(parsed->time_running_ns, 400u);
  EXPECT_EQ(parsed->values, (std::vector<std::uint64_t>{7, 8, 9}));
}

TEST(CounterTest, ParseGroupReadRejectsWrongCountOrShortBuffer) {
  const std::array<std::uint64_t, 6> buffer = {3, 1000, 400, 7, 8, 9};
  auto wrong_nr = parse_group_read(buffer, 2);
  ASSERT_FALSE(wrong_nr);
  EXPECT_NE(wrong_nr.error().reason.find("nr=3"), std::string::npos) << wrong_nr.error().reason;
  EXPECT_FALSE(parse_group_read(std::span<const std::uint64_t>(buffer).first(5), 3));
  EXPECT_FALSE(parse_group_read(std::span<const std::uint64_t>(buffer).first(2), 0));
  const std::array<std::uint64_t, 3> empty_group = {0, 10, 10};
  auto empty = parse_group_read(empty_group, 0);
  ASSERT_TRUE(empty) << empty.error().reason;
  EXPECT_TRUE(empty->values.empty());
}

TEST(CounterTest, ScaleCountExtrapolatesOverEnabledTime) {
  EXPECT_DOUBLE_EQ(*scale_count(100, 1000, 1000), 100.0);
  EXPECT_DOUBLE_EQ(*scale_count(100, 1000, 250), 400.0);
  EXPECT_DOUBLE_EQ(*scale_count(3, 10, 4), 7.5);
  EXPECT_DOUBLE_EQ(*scale_count(0, 1000, 500), 0.0);
  EXPECT_FALSE(scale_count(100, 1000, 0).has_value());
  EXPECT_FALSE(scale_count(0, 0, 0).has_value());
}

TEST(CounterTest, EventGroupIsMoveOnlyAndKeepsCounting) {
  SKIP_WITHOUT_PERF_EVENT_OPEN();
  EventGroup first = EventGroup::open({{"minor-faults"}});
  EventGroup moved = std::move(first);
  FreshPages pages(kPages);
  moved.start();
  pages.touch();
  moved.stop();
  EXPECT_NEAR(counted(moved.read(), "minor-faults"), static_cast<double>(kPages), kFaultSlack);
  static_assert(!std::is_copy_constructible_v<EventGroup>);
}

TEST(CounterTest, ListAvailableEventsCoversDefaultsAndSoftware) {
  SKIP_WITHOUT_PERF_EVENT_OPEN();
  const auto statuses = list_available_events();
  const auto defaults = default_memory_events(core_event_table());
  ASSERT_EQ(statuses.size(), defaults.size() + software_event_names().size());
  for (const auto& status : statuses) {
    EXPECT_TRUE(status.available || !status.reason.empty()) << status.name;
    // Fault events are user-only and open at any perf_event_paranoid below 3.
    if (status.name.find("faults") != std::string::npos) {
      EXPECT_TRUE(status.available) << status.name << ": " << status.reason;
    }
  }
}

}  // namespace
}  // namespace memprobe::core
