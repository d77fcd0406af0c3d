#include "core/topology.h"

#include <hwloc.h>
#include <sched.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

#include <fmt/format.h>

#include "core/hwloc_support.h"
#include "core/units.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

namespace memprobe::core {
namespace {

std::string cache_kind(hwloc_obj_cache_type_e type) {
  switch (type) {
    case HWLOC_OBJ_CACHE_DATA: return "data";
    case HWLOC_OBJ_CACHE_INSTRUCTION: return "instruction";
    case HWLOC_OBJ_CACHE_UNIFIED: return "unified";
  }
  return "unified";
}

unsigned count_of(hwloc_topology_t topology, hwloc_obj_type_t type) {
  const int n = hwloc_get_nbobjs_by_type(topology, type);
  return n > 0 ? static_cast<unsigned>(n) : 0u;
}

// The calling thread's affinity mask within hwloc's allowed set; the allowed
// set alone if the mask cannot be read.
HwlocBitmapHandle read_inherited_cpuset() {
  hwloc_topology_t topology = process_topology();
  HwlocBitmapHandle cpus(hwloc_bitmap_alloc());
  if (!cpus) throw std::bad_alloc();
  if (hwloc_get_cpubind(topology, cpus.get(), HWLOC_CPUBIND_THREAD) != 0 || hwloc_bitmap_iszero(cpus.get()))
    hwloc_bitmap_copy(cpus.get(), hwloc_topology_get_allowed_cpuset(topology));
  else
    hwloc_bitmap_and(cpus.get(), cpus.get(), hwloc_topology_get_allowed_cpuset(topology));
  return cpus;
}

hwloc_const_bitmap_t inherited_cpuset() {
  static const HwlocBitmapHandle cpus = read_inherited_cpuset();
  return cpus.get();
}

// AMD associativity codes of leaves 0x80000006 and 0x80000019 (AMD PPR
// "L2DTlb4KAssoc" table): ways, -1 fully associative, 0 unknown/reserved.
int amd_assoc_code_ways(unsigned code) {
  switch (code) {
    case 0x1: return 1;
    case 0x2: return 2;
    case 0x3: return 3;
    case 0x4: return 4;
    case 0x5: return 6;
    case 0x6: return 8;
    case 0x8: return 16;
    case 0xA: return 32;
    case 0xB: return 48;
    case 0xC: return 64;
    case 0xD: return 96;
    case 0xE: return 128;
    case 0xF: return -1;
    default: return 0;  // 0 = disabled, 7/9 = reserved or "see leaf 0x8000001D"
  }
}

std::optional<unsigned> entries_or_unknown(unsigned entries) {
  if (entries == 0) return std::nullopt;
  return entries;
}

// Leaf 0x80000005 layout: [31:24] DTLB assoc (0xFF fully), [23:16] DTLB entries.
TlbLevel amd_l1_dtlb(std::uint32_t reg, std::uint64_t page_bytes) {
  const unsigned assoc = (reg >> 24) & 0xFF;
  const unsigned entries = (reg >> 16) & 0xFF;
  const int ways = assoc == 0xFF ? -1 : static_cast<int>(assoc);
  return TlbLevel{1, "data", page_bytes, entries_or_unknown(entries), entries == 0 ? 0 : ways};
}

// Leaves 0x80000006 / 0x80000019 layout: [31:28] DTLB assoc code, [27:16] DTLB entries.
TlbLevel amd_coded_dtlb(int level, std::uint32_t reg, std::uint64_t page_bytes) {
  const unsigned code = (reg >> 28) & 0xF;
  const unsigned entries = (reg >> 16) & 0xFFF;
  return TlbLevel{level, "data", page_bytes, entries_or_unknown(entries), entries == 0 ? 0 : amd_assoc_code_ways(code)};
}

// Page-size bits shared by leaf 0x18 EBX[3:0] and the leaf-2 table below.
constexpr unsigned kPage4K = 1u << 0;
constexpr unsigned kPage2M = 1u << 1;
constexpr unsigned kPage4M = 1u << 2;
constexpr unsigned kPage1G = 1u << 3;

void append_per_page_size(std::vector<TlbLevel>& out, int level, const std::string& kind, unsigned page_bits,
                          unsigned entries, int ways) {
  constexpr struct {
    unsigned bit;
    std::uint64_t page_bytes;
  } kPageSizes[] = {{kPage4K, 4 * kKiB}, {kPage2M, 2 * kMiB}, {kPage4M, 4 * kMiB}, {kPage1G, kGiB}};
  for (const auto& size : kPageSizes) {
    if ((page_bits & size.bit) != 0) out.push_back(TlbLevel{level, kind, size.page_bytes, entries_or_unknown(entries), ways});
  }
}

// Intel leaf-2 descriptors for data and shared second-level TLBs (Intel SDM
// vol. 2A, CPUID leaf 2 descriptor table). Partial by design: instruction
// TLBs and caches are left out, and CPUs since Skylake report 0xFE ("use
// leaf 0x18") instead. "DTLB0" (a small load TLB on Core 2) is level 1,
// "DTLB1" and the shared STLB level 2. ways -1 = fully associative.
struct Leaf2Tlb {
  std::uint8_t descriptor;
  int level;
  const char* kind;
  unsigned page_bits;
  unsigned entries;
  int ways;
};
constexpr Leaf2Tlb kLeaf2Tlbs[] = {
    {0x03, 1, "data", kPage4K, 64, 4},
    {0x04, 1, "data", kPage4M, 8, 4},
    {0x05, 2, "data", kPage4M, 32, 4},
    {0x56, 1, "data", kPage4M, 16, 4},
    {0x57, 1, "data", kPage4K, 16, 4},
    {0x59, 1, "data", kPage4K, 16, -1},
    {0x5A, 1, "data", kPage2M | kPage4M, 32, 4},
    {0x5B, 1, "data", kPage4K | kPage4M, 64, 0},
    {0x5C, 1, "data", kPage4K | kPage4M, 128, 0},
    {0x5D, 1, "data", kPage4K | kPage4M, 256, 0},
    {0x63, 1, "data", kPage2M | kPage4M, 32, 4},
    {0x63, 1, "data", kPage1G, 4, 4},
    {0x64, 1, "data", kPage4K, 512, 4},
    {0xA0, 1, "data", kPage4K, 32, -1},
    {0xB3, 1, "data", kPage4K, 128, 4},
    {0xB4, 2, "data", kPage4K, 256, 4},
    {0xBA, 2, "data", kPage4K, 64, 4},
    {0xC0, 1, "data", kPage4K | kPage4M, 8, 4},
    {0xC1, 2, "unified", kPage4K | kPage2M, 1024, 8},
    {0xC2, 1, "data", kPage4K | kPage2M, 16, 4},
    {0xC3, 2, "unified", kPage4K | kPage2M, 1536, 6},
    {0xC3, 2, "unified", kPage1G, 16, 4},
    {0xC4, 1, "data", kPage2M | kPage4M, 32, 4},
    {0xCA, 2, "unified", kPage4K, 512, 4},
};

#if defined(__x86_64__) || defined(__i386__)
CpuidRegs cpuid(std::uint32_t leaf, std::uint32_t subleaf = 0) {
  CpuidRegs regs;
  __cpuid_count(leaf, subleaf, regs.eax, regs.ebx, regs.ecx, regs.edx);
  return regs;
}

std::string cpuid_vendor() {
  const CpuidRegs leaf0 = cpuid(0);
  char vendor[13] = {};
  std::memcpy(vendor + 0, &leaf0.ebx, 4);
  std::memcpy(vendor + 4, &leaf0.edx, 4);
  std::memcpy(vendor + 8, &leaf0.ecx, 4);
  return vendor;
}
#endif

// Data and unified caches of the first PU, innermost first: walking up from
// the PU meets them in that order; instruction caches are not on a load's path.
std::vector<CacheLevel> data_caches_of_first_pu(hwloc_topology_t handle) {
  std::vector<CacheLevel> caches;
  if (hwloc_obj_t pu = hwloc_get_obj_by_type(handle, HWLOC_OBJ_PU, 0)) {
    for (hwloc_obj_t obj = pu->parent; obj != nullptr; obj = obj->parent) {
      if (!hwloc_obj_type_is_dcache(obj->type) || obj->attr == nullptr) continue;
      const auto& cache = obj->attr->cache;
      CacheLevel level;
      level.level = static_cast<int>(cache.depth);
      level.kind = cache_kind(cache.type);
      level.size_bytes = cache.size;
      level.line_bytes = cache.linesize;
      level.ways = cache.associativity;
      level.shared_by_cpus = obj->cpuset != nullptr ? static_cast<unsigned>(std::max(0, hwloc_bitmap_weight(obj->cpuset))) : 0u;
      caches.push_back(std::move(level));
    }
  }
  return caches;
}

int logical_index_of(hwloc_obj_t obj) { return obj != nullptr ? static_cast<int>(obj->logical_index) : -1; }

// Each PU's core, L3, package and NUMA node. NUMA nodes are memory children
// in hwloc 2, not ancestors: a node covers a CPU if its cpuset holds it.
std::vector<CpuPlace> cpu_places_of(hwloc_topology_t handle) {
  std::vector<CpuPlace> places;
  const int pus = hwloc_get_nbobjs_by_type(handle, HWLOC_OBJ_PU);
  for (int i = 0; i < pus; ++i) {
    hwloc_obj_t pu = hwloc_get_obj_by_type(handle, HWLOC_OBJ_PU, static_cast<unsigned>(i));
    if (pu == nullptr) continue;
    CpuPlace place;
    place.cpu = static_cast<int>(pu->os_index);
    place.core = logical_index_of(hwloc_get_ancestor_obj_by_type(handle, HWLOC_OBJ_CORE, pu));
    place.l3 = logical_index_of(hwloc_get_ancestor_obj_by_type(handle, HWLOC_OBJ_L3CACHE, pu));
    place.package = logical_index_of(hwloc_get_ancestor_obj_by_type(handle, HWLOC_OBJ_PACKAGE, pu));
    for (hwloc_obj_t node = hwloc_get_next_obj_by_type(handle, HWLOC_OBJ_NUMANODE, nullptr); node != nullptr;
         node = hwloc_get_next_obj_by_type(handle, HWLOC_OBJ_NUMANODE, node))
      if (node->cpuset != nullptr && hwloc_bitmap_isset(node->cpuset, pu->os_index)) {
        place.numa = static_cast<int>(node->os_index);
        break;
      }
    places.push_back(place);
  }
  std::sort(places.begin(), places.end(), [](const CpuPlace& x, const CpuPlace& y) { return x.cpu < y.cpu; });
  return places;
}

}  // namespace

const char* pair_sharing_name(PairSharing sharing) {
  switch (sharing) {
    case PairSharing::kSameCore: return "same core (SMT)";
    case PairSharing::kSameL3: return "same L3";
    case PairSharing::kOtherL3: return "other L3";
    case PairSharing::kSameSocket: return "same socket";
    case PairSharing::kOtherSocket: return "other socket";
  }
  return "other socket";
}

const char* pair_sharing_key(PairSharing sharing) {
  switch (sharing) {
    case PairSharing::kSameCore: return "smt";
    case PairSharing::kSameL3: return "l3";
    case PairSharing::kOtherL3: return "other_l3";
    case PairSharing::kSameSocket: return "socket";
    case PairSharing::kOtherSocket: return "other_socket";
  }
  return "other_socket";
}

PairClass classify_pair(const CpuPlace& a, const CpuPlace& b) {
  PairClass c;
  c.same_numa = a.numa >= 0 && a.numa == b.numa;
  // An unknown object (-1) is shared by nobody; a machine without packages
  // in hwloc (rare) is one socket.
  const bool same_package = a.package == b.package;
  if (a.cpu == b.cpu || (a.core >= 0 && a.core == b.core && same_package))
    c.sharing = PairSharing::kSameCore;
  else if (a.l3 >= 0 && a.l3 == b.l3)
    c.sharing = PairSharing::kSameL3;
  else if (!same_package)
    c.sharing = PairSharing::kOtherSocket;
  else if (a.l3 >= 0 || b.l3 >= 0)
    c.sharing = PairSharing::kOtherL3;
  else
    c.sharing = PairSharing::kSameSocket;
  return c;
}

std::optional<CpuPlace> Topology::place_of(int cpu) const {
  for (const CpuPlace& p : cpu_places_)
    if (p.cpu == cpu) return p;
  return std::nullopt;
}

std::optional<PairClass> Topology::classify(int a, int b) const {
  const auto pa = place_of(a);
  const auto pb = place_of(b);
  if (!pa || !pb) return std::nullopt;
  return classify_pair(*pa, *pb);
}

Topology Topology::load() { return from_hwloc(nullptr); }

Topology Topology::from_synthetic(const std::string& description) { return from_hwloc(description.c_str()); }

Topology Topology::from_hwloc(const char* synthetic_description) {
  const HwlocTopologyHandle handle = load_hwloc_topology(synthetic_description);
  Topology topology;
  topology.data_caches_ = data_caches_of_first_pu(handle.get());
  topology.cores_ = count_of(handle.get(), HWLOC_OBJ_CORE);
  topology.logical_cpus_ = count_of(handle.get(), HWLOC_OBJ_PU);
  topology.numa_nodes_ = count_of(handle.get(), HWLOC_OBJ_NUMANODE);
  topology.cpu_places_ = cpu_places_of(handle.get());
  return topology;
}

std::uint64_t Topology::last_level_cache_bytes() const {
  return data_caches_.empty() ? 0 : data_caches_.back().size_bytes;
}

std::uint32_t Topology::line_bytes() const {
  constexpr std::uint32_t kDefaultLineBytes = 64;
  if (data_caches_.empty() || data_caches_.front().line_bytes == 0) return kDefaultLineBytes;
  return data_caches_.front().line_bytes;
}

const std::vector<int>& inherited_cpus() {
  static const std::vector<int> cpus = [] {
    const hwloc_const_bitmap_t set = inherited_cpuset();
    std::vector<int> list;
    for (int cpu = hwloc_bitmap_first(set); cpu != -1; cpu = hwloc_bitmap_next(set, cpu)) list.push_back(cpu);
    return list;
  }();
  return cpus;
}

std::string inherited_cpus_list() { return bitmap_list(inherited_cpuset()); }

Result<int> pin_current_thread(int cpu) {
  hwloc_topology_t topology = process_topology();
  const hwloc_const_bitmap_t inherited = inherited_cpuset();  // before this thread's mask narrows
  hwloc_obj_t pu = cpu >= 0 ? hwloc_get_pu_obj_by_os_index(topology, static_cast<unsigned>(cpu)) : nullptr;
  if (pu == nullptr || pu->cpuset == nullptr) {
    return Unavailable{fmt::format("no CPU {}: this machine has CPUs {}", cpu,
                                   bitmap_list(hwloc_topology_get_allowed_cpuset(topology)))};
  }
  if (!hwloc_bitmap_isincluded(pu->cpuset, inherited)) {
    return Unavailable{fmt::format("CPU {} is outside the CPUs this process may run on: {} (its inherited "
                                   "affinity mask: taskset, a cgroup cpuset or a scheduler)",
                                   cpu, bitmap_list(inherited))};
  }
  hwloc_bitmap_t set = hwloc_bitmap_dup(pu->cpuset);
  if (set == nullptr) {
    return Unavailable{fmt::format("cannot pin to CPU {}: out of memory", cpu)};
  }
  hwloc_bitmap_singlify(set);
  const int rc = hwloc_set_cpubind(topology, set, HWLOC_CPUBIND_THREAD | HWLOC_CPUBIND_STRICT);
  const int saved_errno = errno;
  hwloc_bitmap_free(set);
  if (rc != 0) {
    return Unavailable{fmt::format("cannot pin to CPU {}: {} (allowed CPUs: {})", cpu, std::strerror(saved_errno),
                                   bitmap_list(inherited))};
  }
  return cpu;
}

int current_cpu() {
  const int cpu = sched_getcpu();
  return cpu >= 0 ? cpu : -1;
}

std::vector<TlbLevel> decode_amd_tlbs(const CpuidRegs& leaf_80000005, const CpuidRegs& leaf_80000006,
                                      const CpuidRegs& leaf_80000019) {
  // EBX holds the 4 KiB TLBs, EAX the 2 MiB (and 4 MiB as two 2 MiB entries)
  // TLBs; leaf 0x80000019 the 1 GiB TLBs. Zero entries (e.g. a hypervisor
  // masking the leaf) become "unknown", never 0.
  return {
      amd_l1_dtlb(leaf_80000005.ebx, 4 * kKiB),
      amd_l1_dtlb(leaf_80000005.eax, 2 * kMiB),
      amd_coded_dtlb(1, leaf_80000019.eax, kGiB),
      amd_coded_dtlb(2, leaf_80000006.ebx, 4 * kKiB),
      amd_coded_dtlb(2, leaf_80000006.eax, 2 * kMiB),
      amd_coded_dtlb(2, leaf_80000019.ebx, kGiB),
  };
}

std::vector<TlbLevel> decode_intel_leaf18(const std::vector<CpuidRegs>& subleaves) {
  std::vector<TlbLevel> out;
  for (const CpuidRegs& regs : subleaves) {
    const unsigned type = regs.edx & 0x1F;
    std::string kind;
    switch (type) {
      case 1: kind = "data"; break;     // data TLB
      case 3: kind = "unified"; break;  // unified (STLB)
      case 4: kind = "data"; break;     // load-only TLB: what a load sees
      default: continue;                // 0 invalid, 2 instruction, 5 store-only
    }
    const int level = static_cast<int>((regs.edx >> 5) & 0x7);
    const bool fully_associative = ((regs.edx >> 8) & 0x1) != 0;
    const unsigned ways = (regs.ebx >> 16) & 0xFFFF;
    const unsigned sets = regs.ecx;
    append_per_page_size(out, level, kind, regs.ebx & 0xF, ways * sets, fully_associative ? -1 : static_cast<int>(ways));
  }
  return out;
}

std::vector<TlbLevel> decode_intel_leaf2(const CpuidRegs& leaf2) {
  std::vector<TlbLevel> out;
  const std::uint32_t regs[] = {leaf2.eax, leaf2.ebx, leaf2.ecx, leaf2.edx};
  for (int r = 0; r < 4; ++r) {
    if ((regs[r] >> 31) != 0) continue;  // bit 31 set: register holds no descriptors
    for (int byte = 0; byte < 4; ++byte) {
      if (r == 0 && byte == 0) continue;  // AL is the iteration count, not a descriptor
      const auto descriptor = static_cast<std::uint8_t>(regs[r] >> (8 * byte));
      for (const Leaf2Tlb& tlb : kLeaf2Tlbs) {
        if (tlb.descriptor == descriptor) {
          append_per_page_size(out, tlb.level, tlb.kind, tlb.page_bits, tlb.entries, tlb.ways);
        }
      }
    }
  }
  return out;
}

unsigned x86_display_family(std::uint32_t leaf1_eax) {
  const unsigned base = (leaf1_eax >> 8) & 0xFu;
  return base == 0xFu ? base + ((leaf1_eax >> 20) & 0xFFu) : base;
}

std::optional<CpuSignature> read_cpu_signature() {
#if defined(__x86_64__)
  return CpuSignature{cpuid_vendor(), x86_display_family(cpuid(1).eax)};
#else
  return std::nullopt;
#endif
}

TlbReport read_tlb_report() {
#if defined(__x86_64__)
  const std::uint32_t max_leaf = cpuid(0).eax;
  const std::string vendor = cpuid_vendor();
  if (vendor == "AuthenticAMD" || vendor == "HygonGenuine") {
    const std::uint32_t max_extended_leaf = cpuid(0x80000000).eax;
    if (max_extended_leaf < 0x80000006) return {{}, kTlbsNotReported + ": CPUID has no leaf 0x80000006"};
    const CpuidRegs leaf_80000019 = max_extended_leaf >= 0x80000019 ? cpuid(0x80000019) : CpuidRegs{};
    return {decode_amd_tlbs(cpuid(0x80000005), cpuid(0x80000006), leaf_80000019),
            "CPUID leaves 0x80000005, 0x80000006, 0x80000019"};
  }
  if (vendor == "GenuineIntel") {
    if (max_leaf >= 0x18) {
      const std::uint32_t max_subleaf = cpuid(0x18, 0).eax;
      std::vector<CpuidRegs> subleaves;
      for (std::uint32_t i = 0; i <= max_subleaf && i < 64; ++i) subleaves.push_back(cpuid(0x18, i));
      std::vector<TlbLevel> tlbs = decode_intel_leaf18(subleaves);
      if (!tlbs.empty()) return {std::move(tlbs), "CPUID leaf 0x18"};
    }
    if (max_leaf >= 2) {
      std::vector<TlbLevel> tlbs = decode_intel_leaf2(cpuid(2));
      if (!tlbs.empty()) return {std::move(tlbs), "CPUID leaf 2 descriptors"};
    }
    // Hypervisors may hide both leaves (seen on a KVM guest).
    return {{}, kTlbsNotReported + ": CPUID leaves 0x18 and 2 describe no data TLB"};
  }
  return {{}, kTlbsNotReported + ": CPUID vendor '" + vendor + "' has no TLB leaves memprobe decodes"};
#elif defined(__aarch64__)
  // hwloc has no TLB objects, and no architectural register or Linux
  // interface reports TLB geometry on Arm (it is only in each core's TRM).
  return {{}, kTlbsNotReported + ": AArch64 has no architectural source of TLB sizes (hwloc reports none)"};
#else
#error "memprobe supports x86-64 and AArch64 only"
#endif
}

std::vector<TlbLevel> read_cpuid_tlbs() { return read_tlb_report().levels; }

}  // namespace memprobe::core
