// The machine's caches, cores and NUMA nodes from hwloc, pinning, and TLB
// geometry from CPUID (hwloc has no TLB objects). Values a leaf does not give
// are "unknown" (nullopt), never 0.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"

namespace memprobe::core {

struct CacheLevel {
  int level = 0;                     // 1, 2, 3...
  std::string kind;                  // "data", "unified" or "instruction"
  std::uint64_t size_bytes = 0;
  std::uint32_t line_bytes = 0;      // 0 = unknown
  int ways = 0;                      // -1 fully associative, 0 unknown
  unsigned shared_by_cpus = 0;       // logical CPUs sharing one instance
};

struct TlbLevel {
  int level = 0;                     // 1 or 2
  std::string kind;                  // "data", "instruction" or "unified"
  std::uint64_t page_bytes = 0;      // 4096, 2 MiB, 1 GiB
  std::optional<unsigned> entries;   // nullopt = the leaf reports nothing
  int ways = 0;                      // -1 fully associative, 0 unknown
};

// Where one logical CPU sits in the machine: the hwloc logical indexes of
// its core, its L3 cache, its package and the OS index of its NUMA node; -1
// where hwloc shows no such object (no L3 on some Arm parts, no NUMA node
// covering the CPU).
struct CpuPlace {
  int cpu = -1;      // OS index (what taskset and sched_getcpu use)
  int core = -1;
  int l3 = -1;
  int package = -1;
  int numa = -1;
};

// What two logical CPUs share, from the closest: the core (SMT siblings),
// the L3, the package ("other L3": same package, different L3), nothing.
// kSameSocket: same package where hwloc shows no L3 for either CPU.
enum class PairSharing { kSameCore, kSameL3, kOtherL3, kSameSocket, kOtherSocket };

struct PairClass {
  PairSharing sharing = PairSharing::kOtherSocket;
  bool same_numa = false;  // both in one NUMA node (false if either is unknown)
};

// "same core (SMT)", "same L3", "other L3", "same socket", "other socket".
const char* pair_sharing_name(PairSharing sharing);
// A token without spaces for a case label: "smt", "l3", "other_l3",
// "socket", "other_socket".
const char* pair_sharing_key(PairSharing sharing);

// What CPUs a and b share, from their places. Pure (tests feed synthetic
// topologies). A CPU paired with itself is kSameCore.
PairClass classify_pair(const CpuPlace& a, const CpuPlace& b);

class Topology {
 public:
  // The machine's topology (hwloc_topology_load). Throws std::runtime_error
  // if hwloc cannot load one.
  static Topology load();
  // A synthetic hwloc topology, e.g.
  // "pack:1 l3:1(size=32MiB) l2:2(size=512KiB) l1d:1(size=32KiB) core:1 pu:1".
  static Topology from_synthetic(const std::string& description);

  // Data/unified caches seen by the first PU, innermost first (L1d, L2, L3).
  const std::vector<CacheLevel>& data_caches() const { return data_caches_; }
  std::uint64_t last_level_cache_bytes() const;  // 0 if hwloc reports no cache
  std::uint32_t line_bytes() const;              // L1d line size, 64 if unknown
  unsigned cores() const { return cores_; }
  unsigned logical_cpus() const { return logical_cpus_; }
  unsigned numa_nodes() const { return numa_nodes_; }
  // Every logical CPU hwloc shows, by OS index.
  const std::vector<CpuPlace>& cpu_places() const { return cpu_places_; }
  // The place of CPU `cpu` (OS index); nullopt if hwloc has no such CPU.
  std::optional<CpuPlace> place_of(int cpu) const;
  // classify_pair of the two CPUs' places; nullopt if either is unknown.
  std::optional<PairClass> classify(int a, int b) const;

 private:
  // The machine hwloc sees, or a synthetic one (description not null).
  static Topology from_hwloc(const char* synthetic_description);
  std::vector<CacheLevel> data_caches_;
  unsigned cores_ = 0;
  unsigned logical_cpus_ = 0;
  unsigned numa_nodes_ = 0;
  std::vector<CpuPlace> cpu_places_;
};

// The CPUs this process may run on, as OS indexes, ascending: the affinity
// mask it was started with (taskset, a cgroup cpuset, a batch scheduler)
// within hwloc's allowed set. Read once, at the first call; pin_current_thread
// calls it before it binds, since afterwards the mask is the pinned CPU
// alone and the threads a family starts would inherit that.
const std::vector<int>& inherited_cpus();
// inherited_cpus() as a list: "0-3,8".
std::string inherited_cpus_list();

// Pins the calling thread to logical CPU `cpu` (OS index) with hwloc, strict;
// Unavailable with the reason if that CPU does not exist, is outside
// inherited_cpus() (the kernel would let a thread leave its inherited mask),
// or binding fails.
Result<int> pin_current_thread(int cpu);
// The logical CPU the calling thread last ran on (OS index), -1 if unknown.
int current_cpu();

// Raw CPUID registers, for decoding and for recording in tests.
struct CpuidRegs {
  std::uint32_t eax = 0, ebx = 0, ecx = 0, edx = 0;
};

// AMD: leaves 0x80000005 (L1), 0x80000006 (L2), 0x80000019 (1 GiB pages).
// Data TLBs only (instruction TLBs are not what a load sees).
std::vector<TlbLevel> decode_amd_tlbs(const CpuidRegs& leaf_80000005, const CpuidRegs& leaf_80000006,
                                      const CpuidRegs& leaf_80000019);
// Intel: deterministic leaf 0x18, one entry per valid subleaf (data,
// load-only and unified TLBs; one TlbLevel per page size supported).
std::vector<TlbLevel> decode_intel_leaf18(const std::vector<CpuidRegs>& subleaves);
// Intel legacy leaf 2 descriptor bytes (used when leaf 0x18 is absent).
// Partial: knows only the common data / shared second-level TLB descriptors;
// other descriptors (caches, instruction TLBs, 0xFF, 0xFE) are ignored.
std::vector<TlbLevel> decode_intel_leaf2(const CpuidRegs& leaf2);

// The x86 display family of a CPUID leaf 1 EAX: the base family, plus the
// extended family when the base is 0xF (0x00B40F40, a Zen 5 -> 0x1A).
unsigned x86_display_family(std::uint32_t leaf1_eax);

// Who made this CPU and which family, from CPUID; nullopt off x86.
struct CpuSignature {
  std::string vendor;   // CPUID leaf 0 vendor string: "AuthenticAMD", "GenuineIntel"
  unsigned family = 0;  // display family: 0x19 Zen 3/4, 0x1A Zen 5, 6 Intel Core
};
std::optional<CpuSignature> read_cpu_signature();

// This CPU's data-TLB geometry and where it came from ("CPUID leaf 0x18"),
// or empty levels and kTlbsNotReported with the reason (always on AArch64).
inline const std::string kTlbsNotReported = "not reported on this CPU";
struct TlbReport {
  std::vector<TlbLevel> levels;
  std::string source;
};
TlbReport read_tlb_report();

// read_tlb_report().levels: empty on AArch64.
std::vector<TlbLevel> read_cpuid_tlbs();

}  // namespace memprobe::core
