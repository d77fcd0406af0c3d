#include "core/machine.h"

#include <unistd.h>

#include <array>
#include <string>

#include <gtest/gtest.h>

#include "core/buffer.h"

namespace memprobe::core {
namespace {

bool exists(const char* path) { return access(path, F_OK) == 0; }

TEST(MachineTest, BracketedChoicePicksTheSelectedMode) {
  EXPECT_EQ(bracketed_choice("always [madvise] never"), "madvise");
  EXPECT_EQ(bracketed_choice("[always] madvise never"), "always");
  EXPECT_EQ(bracketed_choice("always defer defer+madvise [madvise] never"), "madvise");
  EXPECT_EQ(bracketed_choice("always madvise never"), "");
  EXPECT_EQ(bracketed_choice(""), "");
  EXPECT_EQ(bracketed_choice("always [madvise"), "");
}

TEST(MachineTest, ReadTextFileTrimsAndReportsMissingFiles) {
  EXPECT_FALSE(read_text_file("/nonexistent/memprobe/file").has_value());
  const auto release = read_text_file("/proc/sys/kernel/osrelease");
  ASSERT_TRUE(release.has_value());
  EXPECT_FALSE(release->empty());
  EXPECT_EQ(release->find('\n'), std::string::npos);
}

TEST(MachineTest, MeminfoFieldsAreReadInBytes) {
  const std::string meminfo =
      "MemTotal:       24683520 kB\nMemFree:        23740000 kB\nMemAvailable:   22336000 kB\n"
      "HugePages_Total:       4\nHugepagesize:       2048 kB\n";
  EXPECT_EQ(meminfo_field_bytes(meminfo, "MemAvailable"), std::uint64_t{22336000} * 1024);
  EXPECT_EQ(meminfo_field_bytes(meminfo, "MemTotal"), std::uint64_t{24683520} * 1024);
  EXPECT_EQ(meminfo_field_bytes(meminfo, "HugePages_Total"), 4u);  // a count, no unit
  EXPECT_FALSE(meminfo_field_bytes(meminfo, "Mem"));                // a prefix is not a field
  EXPECT_FALSE(meminfo_field_bytes(meminfo, "SwapTotal"));
  EXPECT_FALSE(meminfo_field_bytes("MemAvailable: lots kB\n", "MemAvailable"));
  EXPECT_FALSE(meminfo_field_bytes("MemAvailable: 12 MB\n", "MemAvailable"));
  EXPECT_FALSE(meminfo_field_bytes("MemAvailable: 99999999999999999999 kB\n", "MemAvailable"));
  EXPECT_FALSE(meminfo_field_bytes("", "MemAvailable"));
  // This machine's: Linux has had MemAvailable since 3.14.
  const auto available = mem_available_bytes();
  ASSERT_TRUE(available.has_value());
  EXPECT_GT(*available, 0u);
}

TEST(MachineTest, HypervisorNameIsNonEmptyWhenDetected) {
  const auto hypervisor = detect_hypervisor();
  if (hypervisor) {
    EXPECT_FALSE(hypervisor->empty());
  }
}

TEST(MachineTest, PmuProbeEitherOpensOrNamesTheErrno) {
  const std::string reason = probe_hardware_pmu();
  if (reason.empty()) {
    SUCCEED() << "hardware PMU present";
  } else {
    constexpr std::array kErrnoNames = {"ENOENT", "ENODEV", "EOPNOTSUPP", "EACCES", "EPERM", "EINVAL",
                                        "EBUSY",  "EMFILE", "ENOSYS",     "E2BIG",  "ENOSPC", "errno "};
    bool names_errno = false;
    for (const char* name : kErrnoNames) names_errno |= reason.find(name) != std::string::npos;
    EXPECT_TRUE(names_errno) << reason;
  }
}

TEST(MachineTest, PmuReasonMentionsHypervisorWhenNoPmuUnderOne) {
  const std::string reason = probe_hardware_pmu();
  const auto hypervisor = detect_hypervisor();
  if (reason.find("ENOENT") == std::string::npos || !hypervisor) {
    GTEST_SKIP() << "not the no-PMU-under-a-hypervisor case here";
  }
  EXPECT_NE(reason.find(*hypervisor), std::string::npos) << reason;
  EXPECT_NE(reason.find("no hardware PMU"), std::string::npos) << reason;
}

TEST(MachineTest, FingerprintWithoutCalibrationFillsTheBasics) {
  const Machine machine = fingerprint(false);
  EXPECT_FALSE(machine.kernel.empty());
  EXPECT_GT(machine.logical_cpus, 0u);
  EXPECT_FALSE(machine.cpu_model.empty());
  EXPECT_FALSE(machine.vendor.empty());
  EXPECT_GT(machine.tsc_hz, 0.0);
  EXPECT_EQ(machine.core_clock.hz, 0.0);
  EXPECT_EQ(machine.logical_cpus, machine.topology.logical_cpus());
  if (exists("/sys/kernel/mm/transparent_hugepage")) {
    EXPECT_FALSE(machine.thp_enabled.empty());
    EXPECT_FALSE(machine.thp_defrag.empty());
  }
  EXPECT_LE(machine.hugepages_2m_free, machine.hugepages_2m_reserved);
  EXPECT_EQ(machine.base_page_bytes, static_cast<std::size_t>(sysconf(_SC_PAGESIZE)));
  EXPECT_GT(machine.thp_page_bytes, machine.base_page_bytes);
  ASSERT_EQ(machine.hugetlb_pools.size(), hugetlb_page_sizes().size());
  for (std::size_t i = 0; i < machine.hugetlb_pools.size(); ++i) {
    EXPECT_EQ(machine.hugetlb_pools[i].page_bytes, hugetlb_page_sizes()[i]);
    EXPECT_LE(machine.hugetlb_pools[i].free, machine.hugetlb_pools[i].reserved);
  }
  EXPECT_FALSE(machine.tlb_source.empty());
#if defined(__aarch64__)
  // No architectural source of TLB sizes on Arm: said, never guessed.
  EXPECT_TRUE(machine.tlbs.empty());
  EXPECT_EQ(machine.tlb_source.rfind(kTlbsNotReported, 0), 0U) << machine.tlb_source;
#else
  EXPECT_EQ(machine.tlb_source.rfind(machine.tlbs.empty() ? kTlbsNotReported : "CPUID ", 0), 0U)
      << machine.tlb_source;
#endif
  EXPECT_LE(machine.hugepages_1g_free, machine.hugepages_1g_reserved);
  if (exists("/proc/sys/kernel/perf_event_paranoid")) {
    EXPECT_TRUE(machine.perf_event_paranoid.has_value());
  }
  EXPECT_EQ(machine.pmu_available, machine.pmu_reason.empty());
}

TEST(MachineTest, FingerprintWithCalibrationHasACoreClock) {
  const Machine machine = fingerprint(true);
  EXPECT_GT(machine.core_clock.hz, 0.0);
  EXPECT_EQ(machine.core_clock.source, "calibrated");
}

}  // namespace
}  // namespace memprobe::core
