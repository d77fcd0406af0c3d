// The machine fingerprint: what a results file needs to be read and compared
// later (CPU, kernel, hypervisor, clocks, THP and hugetlb settings, PMU).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/system_files.h"  // read_text_file, for check and tests
#include "core/topology.h"

namespace memprobe::core {

// One hugetlb pool: its page size and how many pages are reserved / free.
struct HugetlbPool {
  std::size_t page_bytes = 0;
  std::uint64_t reserved = 0;  // nr_hugepages
  std::uint64_t free = 0;      // free_hugepages
};

struct Machine {
  std::string cpu_model;             // "AMD EPYC 9R14 ..."
  std::string vendor;                // "AMD", "Intel", "ARM", ...
  unsigned logical_cpus = 0;
  std::string kernel;                // uname -r
  std::optional<std::string> hypervisor;  // "KVM", "VMware", ... ; nullopt on bare metal
  double tsc_hz = 0.0;
  CoreClock core_clock;
  Topology topology;
  std::vector<TlbLevel> tlbs;        // from CPUID; empty where no source reports them
  std::string tlb_source;            // where `tlbs` came from, or why there are none
  std::size_t base_page_bytes = 0;   // sysconf(_SC_PAGESIZE): 4 KiB, or 16/64 KiB on arm64
  std::size_t thp_page_bytes = 0;    // hpage_pmd_size: 2 MiB, 512 MiB with 64 KiB pages
  std::vector<HugetlbPool> hugetlb_pools;  // every size in /sys/kernel/mm/hugepages, ascending
  std::string thp_enabled;           // "madvise" (the bracketed choice)
  std::string thp_defrag;
  std::uint64_t hugepages_2m_reserved = 0;  // nr_hugepages of the 2 MiB pool
  std::uint64_t hugepages_2m_free = 0;
  std::uint64_t hugepages_1g_reserved = 0;
  std::uint64_t hugepages_1g_free = 0;
  std::optional<int> perf_event_paranoid;
  bool pmu_available = false;
  std::string pmu_reason;            // why not, when !pmu_available
};

// Reads everything above. Calibrates the core clock (~0.1 s) unless
// `calibrate` is false (then core_clock.hz == 0).
Machine fingerprint(bool calibrate = true);

// Helpers shared with `memprobe check` and tests.
// A "Name:  <number> kB" line of /proc/meminfo's text in bytes ("MemAvailable"
// -> 21.3 GiB); nullopt if the field is missing or not such a number.
std::optional<std::uint64_t> meminfo_field_bytes(std::string_view meminfo_text, std::string_view field);
// MemAvailable from /proc/meminfo: the kernel's estimate of the memory a new
// allocation can get now without swapping. nullopt if it cannot be read.
std::optional<std::uint64_t> mem_available_bytes();
// "always [madvise] never" -> "madvise"; "" if no bracket.
std::string bracketed_choice(const std::string& text);
// CPUID hypervisor vendor ("KVMKVMKVM" -> "KVM"), nullopt on bare metal.
std::optional<std::string> detect_hypervisor();
// Opens PERF_COUNT_HW_CPU_CYCLES user-only on this thread (and closes it):
// empty string if it opens, else the reason, which always names the errno,
// e.g. "no hardware PMU exposed to this system (ENOENT) — running under KVM
// without a virtual PMU; /sys/bus/event_source/devices has no cpu PMU".
std::string probe_hardware_pmu();

}  // namespace memprobe::core
