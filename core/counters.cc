#include "core/counters.h"

// <linux/perf_event.h> (via counters.h) comes first so that libpfm4's own copy
// of the perf ABI steps aside and both agree on perf_event_attr.
#include <perfmon/pfmlib_perf_event.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <system_error>
#include <tuple>
#include <utility>

#include <fmt/format.h>

#include "core/machine.h"
#include "core/system_files.h"
#include "core/topology.h"

namespace memprobe::core {
namespace {

constexpr std::uint64_t kReadFormat = PERF_FORMAT_GROUP | PERF_FORMAT_TOTAL_TIME_ENABLED |
                                      PERF_FORMAT_TOTAL_TIME_RUNNING;
// Words before the values in a group read: nr, time_enabled, time_running.
constexpr std::size_t kGroupHeaderWords = 3;
constexpr std::size_t kMaxCloseMatches = 5;
// Used when libpfm4 knows no core PMU: Intel's generic counters per
// hyperthread; smaller groups are always safe.
constexpr std::size_t kFallbackCountersPerGroup = 4;
// Software events take no PMU counters; a group of them always schedules.
constexpr std::size_t kSoftwareEventsPerGroup = 64;

struct SoftwareEvent {
  const char* name;
  std::uint64_t config;
  const char* canonical;
  // The kernel raises context switches and migrations from kernel context, so
  // a user-only counter would always read 0.
  bool always_kernel;
};

constexpr SoftwareEvent kSoftwareEvents[] = {
    {"page-faults", PERF_COUNT_SW_PAGE_FAULTS, "perf::PERF_COUNT_SW_PAGE_FAULTS", false},
    {"minor-faults", PERF_COUNT_SW_PAGE_FAULTS_MIN, "perf::PERF_COUNT_SW_PAGE_FAULTS_MIN", false},
    {"major-faults", PERF_COUNT_SW_PAGE_FAULTS_MAJ, "perf::PERF_COUNT_SW_PAGE_FAULTS_MAJ", false},
    {"context-switches", PERF_COUNT_SW_CONTEXT_SWITCHES, "perf::PERF_COUNT_SW_CONTEXT_SWITCHES",
     true},
    {"task-clock", PERF_COUNT_SW_TASK_CLOCK, "perf::PERF_COUNT_SW_TASK_CLOCK", false},
    {"cpu-migrations", PERF_COUNT_SW_CPU_MIGRATIONS, "perf::PERF_COUNT_SW_CPU_MIGRATIONS", true},
};

const SoftwareEvent* find_software_event(std::string_view name) {
  for (const auto& event : kSoftwareEvents) {
    if (name == event.name) return &event;
  }
  return nullptr;
}

// Events that name no PMU: the kernel's generic hardware events and raw codes
// ("perf_raw::r<hex>"). memprobe encodes them itself, exactly as libpfm4's
// perf and perf_raw PMUs do (CounterEncodingTest.PmuFreeNamesEncodeAsLibpfm4Does),
// because they must encode the same whatever core PMU libpfm4 detected, was
// forced to (LIBPFM_FORCE_PMU deactivates libpfm4's perf and perf_raw PMUs)
// or does not know at all (Zen 5 on libpfm4 4.13).
struct GenericHardwareEvent {
  const char* name;
  std::uint64_t config;
  const char* canonical;
};

constexpr GenericHardwareEvent kGenericHardwareEvents[] = {
    {"cycles", PERF_COUNT_HW_CPU_CYCLES, "perf::PERF_COUNT_HW_CPU_CYCLES"},
    {"instructions", PERF_COUNT_HW_INSTRUCTIONS, "perf::PERF_COUNT_HW_INSTRUCTIONS"},
};

constexpr std::string_view kRawPrefix = "perf_raw::";

// "perf_raw::r0346" -> 0x346; nullopt for anything else (modifiers included:
// those go to libpfm4).
std::optional<std::uint64_t> raw_event_config(std::string_view name) {
  if (name.rfind(kRawPrefix, 0) != 0) return std::nullopt;
  const std::string_view digits = name.substr(kRawPrefix.size());
  if (digits.size() < 2 || digits.size() > 17 || digits[0] != 'r') return std::nullopt;
  std::uint64_t config = 0;
  for (const char c : digits.substr(1)) {
    const int value = std::isdigit(static_cast<unsigned char>(c)) ? c - '0'
                      : (c >= 'a' && c <= 'f')                   ? c - 'a' + 10
                      : (c >= 'A' && c <= 'F')                   ? c - 'A' + 10
                                                                 : -1;
    if (value < 0) return std::nullopt;
    config = (config << 4) | static_cast<std::uint64_t>(value);
  }
  return config;
}

// The attr of a PMU-free event, or nullopt if `name` is not one. Privilege
// bits as libpfm4 sets them for PFM_PLM3 (| PFM_PLM0 with `kernel`) and its
// default "mg=0" (guest excluded); the hypervisor is never wanted.
std::optional<EncodedEvent> encode_pmu_free_event(std::string_view name, bool kernel) {
  EncodedEvent out;
  bool found = false;
  for (const auto& event : kGenericHardwareEvents) {
    if (name != event.name) continue;
    out.attr.type = PERF_TYPE_HARDWARE;
    out.attr.config = event.config;
    out.canonical = event.canonical;
    found = true;
  }
  if (const auto config = raw_event_config(name)) {
    out.attr.type = PERF_TYPE_RAW;
    out.attr.config = *config;
    out.canonical = fmt::format("{}r{:04x}", kRawPrefix, *config);
    found = true;
  }
  if (!found) return std::nullopt;
  out.attr.size = sizeof(perf_event_attr);
  out.attr.exclude_kernel = kernel ? 0 : 1;
  out.attr.exclude_hv = 1;
  out.attr.exclude_guest = 1;
  return out;
}

// pfm_initialize() once per process; a function-local static is thread-safe.
int pfm_status() {
  static const int status = pfm_initialize();
  return status;
}

// Whether the kernel registered a core PMU: "cpu" (x86), "cpu_core"/"cpu_atom"
// (hybrid Intel), or a PMU directory with a "cpus" file (Arm).
bool kernel_has_core_pmu() {
  namespace fs = std::filesystem;
  const fs::path devices = "/sys/bus/event_source/devices";
  std::error_code ec;
  for (const char* name : {"cpu", "cpu_core", "cpu_atom"}) {
    if (fs::exists(devices / name, ec)) return true;
  }
  for (const auto& entry : fs::directory_iterator(devices, ec)) {
    if (fs::exists(entry.path() / "cpus", ec)) return true;
  }
  return false;
}

// The reason an event did not open, from perf_event_open's errno.
std::string open_failure_reason(int err, bool software, bool kernel) {
  const std::string name = errno_name(err);
  switch (err) {
    case ENOENT:
    case ENODEV:
    case EOPNOTSUPP:
      if (software) return fmt::format("not supported by this kernel ({})", name);
      if (kernel_has_core_pmu()) return fmt::format("not supported by this PMU ({})", name);
      return fmt::format("no hardware PMU exposed ({}){}", name,
                         detect_hypervisor().has_value()
                             ? " — virtual machine without a virtual PMU?"
                             : "");
    case EACCES:
    case EPERM: {
      // User-only counting needs paranoid <= 2, kernel counting <= 1
      // (Documentation/admin-guide/perf-security.rst).
      const int needed = kernel ? 1 : 2;
      const auto level = read_perf_event_paranoid();
      if (geteuid() == 0) {
        return fmt::format("not permitted ({}) even as root: a seccomp profile or kernel "
                           "lockdown may block perf_event_open", name);
      }
      if (!level) {
        return fmt::format("not permitted ({}): run as root or set "
                           "kernel.perf_event_paranoid<={}", name, needed);
      }
      if (*level <= needed) {
        return fmt::format("not permitted ({}) although perf_event_paranoid={}: a seccomp "
                           "profile or missing CAP_PERFMON may block perf_event_open",
                           name, *level);
      }
      return fmt::format("not permitted ({}): perf_event_paranoid={}; run as root or set "
                         "kernel.perf_event_paranoid<={}", name, *level, needed);
    }
    case EINVAL:
      return fmt::format("rejected by the kernel ({}): encoding, modifier or group not "
                         "supported here", name);
    case EBUSY:
      return fmt::format("counter busy ({}): another user holds it exclusively", name);
    case EMFILE:
      return fmt::format("too many open files ({})", name);
    default:
      return fmt::format("perf_event_open failed ({}): {}", name, std::strerror(err));
  }
}

int perf_event_open(perf_event_attr& attr, int group_fd) {
  return static_cast<int>(syscall(SYS_perf_event_open, &attr, 0 /* this thread */,
                                  -1 /* any cpu */, group_fd, PERF_FLAG_FD_CLOEXEC));
}

std::string upper(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

// Ranks `candidates` against `token` (case-insensitive): containment first,
// then small edit distances; at most kMaxCloseMatches, no duplicates.
std::vector<std::string> rank_matches(const std::string& token,
                                      const std::vector<std::string>& candidates,
                                      const std::string& prefix = "") {
  const std::string wanted = upper(token);
  const std::size_t max_distance = std::max<std::size_t>(2, wanted.size() / 4);
  // (score, length gap, position): ties keep the candidates' order.
  std::vector<std::tuple<std::size_t, std::size_t, std::size_t>> scored;
  for (std::size_t index = 0; index < candidates.size(); ++index) {
    const std::string& candidate = candidates[index];
    const std::string have = upper(candidate);
    if (have == wanted) continue;
    const std::size_t length_gap =
        have.size() > wanted.size() ? have.size() - wanted.size() : wanted.size() - have.size();
    std::size_t score = 0;
    if (wanted.size() >= 3 && have.find(wanted) != std::string::npos) {
      score = 0;
    } else {
      const std::size_t distance = edit_distance(wanted, have);
      if (distance > max_distance) continue;
      score = distance;
    }
    scored.emplace_back(score, length_gap, index);
  }
  std::sort(scored.begin(), scored.end());
  std::vector<std::string> out;
  std::vector<std::string> seen;  // upper case: libpfm4's perf PMU repeats names
  for (const auto& entry : scored) {
    const std::string& name = candidates[std::get<2>(entry)];
    if (std::find(seen.begin(), seen.end(), upper(name)) != seen.end()) continue;
    seen.push_back(upper(name));
    out.push_back(prefix + name);
    if (out.size() == kMaxCloseMatches) break;
  }
  return out;
}

// A libpfm4 event string split into "pmu::", "EVENT" and its attributes.
struct ParsedName {
  std::string pmu_prefix;
  std::string event;
  std::vector<std::string> attributes;
};

ParsedName parse_name(const std::string& name) {
  ParsedName parsed;
  std::string rest = name;
  if (const auto pos = name.rfind("::"); pos != std::string::npos) {
    parsed.pmu_prefix = name.substr(0, pos + 2);
    rest = name.substr(pos + 2);
  }
  const auto end = rest.find_first_of(":.");
  parsed.event = rest.substr(0, end);
  std::size_t start = end;
  while (start != std::string::npos) {
    const auto next = rest.find_first_of(":.", start + 1);
    parsed.attributes.push_back(rest.substr(start + 1, next == std::string::npos
                                                           ? std::string::npos
                                                           : next - start - 1));
    start = next;
  }
  return parsed;
}

template <typename Info>
Info zeroed_info() {
  Info info;
  std::memset(&info, 0, sizeof info);
  info.size = sizeof info;
  return info;
}

// Event names of every PMU libpfm4 reports present (core, perf, perf_raw, ...).
std::vector<std::string> present_event_names() {
  std::vector<std::string> names;
  if (pfm_status() != PFM_SUCCESS) return names;
  for (int pmu = PFM_PMU_NONE; pmu < PFM_PMU_MAX; ++pmu) {
    auto info = zeroed_info<pfm_pmu_info_t>();
    if (pfm_get_pmu_info(static_cast<pfm_pmu_t>(pmu), &info) != PFM_SUCCESS) continue;
    if (!info.is_present) continue;
    for (int idx = info.first_event; idx != -1; idx = pfm_get_event_next(idx)) {
      auto event = zeroed_info<pfm_event_info_t>();
      if (pfm_get_event_info(idx, PFM_OS_PERF_EVENT_EXT, &event) == PFM_SUCCESS &&
          event.name != nullptr) {
        names.emplace_back(event.name);
      }
    }
  }
  return names;
}

std::vector<std::string> umask_names(int event_idx) {
  std::vector<std::string> names;
  auto event = zeroed_info<pfm_event_info_t>();
  if (pfm_get_event_info(event_idx, PFM_OS_PERF_EVENT_EXT, &event) != PFM_SUCCESS) return names;
  for (int a = 0; a < event.nattrs; ++a) {
    auto attr = zeroed_info<pfm_event_attr_info_t>();
    if (pfm_get_event_attr_info(event_idx, a, PFM_OS_PERF_EVENT_EXT, &attr) != PFM_SUCCESS) {
      continue;
    }
    if (attr.type == PFM_ATTR_UMASK && attr.name != nullptr) names.emplace_back(attr.name);
  }
  return names;
}

std::string with_matches(std::string message, const std::vector<std::string>& matches) {
  if (matches.empty()) return message + " (no close matches)";
  std::string list;
  for (const auto& match : matches) list += (list.empty() ? "" : ", ") + match;
  return message + " (close matches: " + list + ")";
}

// memprobe's name for its Zen 5 table, in libpfm4's naming scheme
// (amd64_fam<family>h_zen<n>): a libpfm4 that knows Zen 5 under this name
// selects the same table.
constexpr std::string_view kZen5Table = "amd64_fam1ah_zen5";

struct TableEntry {
  const char* label;
  const char* name;
  const char* meaning;
};

// Names checked to encode with Debian's libpfm4 4.13 (see docs/counters.md and
// the CounterTest encode tests); sources: libpfm4 lib/events/*.h and Linux
// tools/perf/pmu-events/arch/x86/{amdzen3,amdzen4,skylake,icelake}.
constexpr TableEntry kCommonEvents[] = {
    {"cycles", "cycles", "core cycles (user mode) per access"},
    {"instructions", "instructions", "instructions retired per access"},
};

constexpr TableEntry kZen3Events[] = {
    {"l1d_misses",
     "DEMAND_DATA_CACHE_FILLS_FROM_SYSTEM:LCL_L2:INT_CACHE:EXT_CACHE_LCL:EXT_CACHE_RMT:"
     "MEM_IO_LCL:MEM_IO_RMT",
     "demand L1D misses (fills from any source) per access"},
    {"l2_misses",
     "DEMAND_DATA_CACHE_FILLS_FROM_SYSTEM:INT_CACHE:EXT_CACHE_LCL:EXT_CACHE_RMT:MEM_IO_LCL:"
     "MEM_IO_RMT",
     "demand L1D fills from beyond the local L2 (L3, other caches, DRAM) per access"},
    {"l3_misses",
     "DEMAND_DATA_CACHE_FILLS_FROM_SYSTEM:EXT_CACHE_LCL:EXT_CACHE_RMT:MEM_IO_LCL:MEM_IO_RMT",
     "demand L1D fills from outside the core complex (other CCX caches, DRAM) per access"},
    {"dtlb_l2_hits",
     "L1_DTLB_MISS:TLB_RELOAD_4K_L2_HIT:TLB_RELOAD_COALESCED_PAGE_HIT:TLB_RELOAD_2M_L2_HIT:"
     "TLB_RELOAD_1G_L2_HIT",
     "L1 DTLB misses that hit the L2 DTLB per access"},
    {"dtlb_l2_misses",
     "L1_DTLB_MISS:TLB_RELOAD_4K_L2_MISS:TLB_RELOAD_COALESCED_PAGE_MISS:TLB_RELOAD_2M_L2_MISS:"
     "TLB_RELOAD_1G_L2_MISS",
     "L1 DTLB misses that also miss the L2 DTLB (a page walk is requested) per access"},
    // libpfm4 4.13's Zen 3 table lacks the table walker; Linux perf names it
    // ls_tablewalker.dside (event 0x46, umask 0x03).
    {"page_walks", "perf_raw::r0346",
     "data-side page-table walker allocations per access (raw 0x46/0x03)"},
};

constexpr TableEntry kZen4Events[] = {
    {"l1d_misses",
     "DEMAND_DATA_CACHE_FILLS_FROM_SYSTEM:LCL_L2:LOCAL_CCX:NEAR_CACHE_NEAR_FAR:DRAM_IO_NEAR:"
     "FAR_CACHE_NEAR_FAR:DRAM_IO_FAR:ALT_MEM_NEAR_FAR",
     "demand L1D misses (fills from any source) per access"},
    {"l2_misses",
     "DEMAND_DATA_CACHE_FILLS_FROM_SYSTEM:LOCAL_CCX:NEAR_CACHE_NEAR_FAR:DRAM_IO_NEAR:"
     "FAR_CACHE_NEAR_FAR:DRAM_IO_FAR:ALT_MEM_NEAR_FAR",
     "demand L1D fills from beyond the local L2 (L3, other caches, memory) per access"},
    {"l3_misses",
     "DEMAND_DATA_CACHE_FILLS_FROM_SYSTEM:NEAR_CACHE_NEAR_FAR:DRAM_IO_NEAR:FAR_CACHE_NEAR_FAR:"
     "DRAM_IO_FAR:ALT_MEM_NEAR_FAR",
     "demand L1D fills from outside the core complex (other CCX caches, memory) per access"},
    {"dtlb_l2_hits",
     "L1_DTLB_MISS:TLB_RELOAD_4K_L2_HIT:TLB_RELOAD_COALESCED_PAGE_HIT:TLB_RELOAD_2M_L2_HIT:"
     "TLB_RELOAD_1G_L2_HIT",
     "L1 DTLB misses that hit the L2 DTLB per access"},
    // Zen 4 documents no table-walker event (neither libpfm4 4.13 nor Linux
    // perf's amdzen4 tables): an L2 DTLB miss is a requested page walk.
    {"dtlb_l2_misses",
     "L1_DTLB_MISS:TLB_RELOAD_4K_L2_MISS:TLB_RELOAD_COALESCED_PAGE_MISS:TLB_RELOAD_2M_L2_MISS:"
     "TLB_RELOAD_1G_L2_MISS",
     "L1 DTLB misses that also miss the L2 DTLB (a page walk is requested) per access"},
};

// AMD Zen 5 (family 0x1A): libpfm4 4.13 has no table for it, so these are raw
// codes from Linux perf's tools/perf/pmu-events/arch/x86/amdzen5/load-store.json
// (event, umask), config = (event & 0xff) | umask << 8 | (event >> 8) << 32.
// The fill-source unit masks are the documented bits (0x20 is not one):
// local_l2 0x01, local_ccx 0x02, near_cache 0x04, dram_io_near 0x08,
// far_cache 0x10, dram_io_far 0x40, alternate_memories 0x80.
constexpr TableEntry kZen5Events[] = {
    // ls_dmnd_fills_from_sys (0x43), every source.
    {"l1d_misses", "perf_raw::rdf43", "demand L1D misses (fills from any source) per access"},
    // ls_dmnd_fills_from_sys (0x43) without local_l2.
    {"l2_misses", "perf_raw::rde43",
     "demand L1D fills from beyond the local L2 (L3, other caches, memory) per access"},
    // ls_dmnd_fills_from_sys (0x43) without local_l2 and local_ccx.
    {"l3_misses", "perf_raw::rdc43",
     "demand L1D fills from outside the core complex (other CCX caches, memory) per access"},
    // ls_any_fills_from_sys.dram_io_all (0x44, 0x48): prefetches included.
    {"l1d_fills_dram", "perf_raw::r4844",
     "L1D fills from DRAM or MMIO, demand and prefetch, per access"},
    // ls_l1_d_tlb_miss (0x45) tlb_reload_{4k,coalesced_page,2m,1g}_l2_hit.
    {"dtlb_l2_hits", "perf_raw::r0f45", "L1 DTLB misses that hit the L2 DTLB per access"},
    // ls_l1_d_tlb_miss.all_l2_miss (0x45, 0xf0).
    {"dtlb_l2_misses", "perf_raw::rf045",
     "L1 DTLB misses that also miss the L2 DTLB (a page walk is requested) per access"},
    // ls_l1_d_tlb_miss (0x45) tlb_reload_4k_l2_miss 0x10 | coalesced_page 0x20
    // (a coalesced page is four adjacent 4 KiB pages).
    {"dtlb_l2_misses_4k", "perf_raw::r3045",
     "L2 DTLB misses (page walks requested) for 4 KiB and coalesced pages per access"},
    // ls_l1_d_tlb_miss.tlb_reload_2m_l2_miss (0x45, 0x40).
    {"dtlb_l2_misses_2m", "perf_raw::r4045",
     "L2 DTLB misses (page walks requested) for 2 MiB pages per access"},
    // ls_l1_d_tlb_miss.tlb_reload_1g_l2_miss (0x45, 0x80).
    {"dtlb_l2_misses_1g", "perf_raw::r8045",
     "L2 DTLB misses (page walks requested) for 1 GiB pages per access"},
};

// Skylake(-X), Cascade Lake, Ice Lake(-X), Sapphire Rapids share these names.
constexpr TableEntry kIntelEvents[] = {
    {"l1d_misses", "MEM_LOAD_RETIRED:L1_MISS", "retired loads that missed L1D per access"},
    {"l2_misses", "MEM_LOAD_RETIRED:L2_MISS", "retired loads that missed L2 per access"},
    {"l3_misses", "MEM_LOAD_RETIRED:L3_MISS", "retired loads that missed L3 per access"},
    {"dtlb_l2_hits", "DTLB_LOAD_MISSES:STLB_HIT",
     "loads that missed the L1 DTLB and hit the STLB per access"},
    {"page_walks", "DTLB_LOAD_MISSES:WALK_COMPLETED",
     "load page walks (STLB misses) that completed per access"},
    {"walk_cycles", "DTLB_LOAD_MISSES:WALK_ACTIVE",
     "cycles with at least one load page walk in progress per access"},
};

// Arm Neoverse N1 (Graviton2, Ampere Altra), N2, V1 (Graviton3), V2 (Graviton4,
// Grace): PMUv3 common events, the same number on every Armv8 core (Arm ARM
// DDI 0487, "Common event numbers"; Linux tools/perf/pmu-events/arch/arm64/
// common-and-microarch.json). libpfm4 4.13 names them alike for all four.
constexpr TableEntry kArmNeoverseEvents[] = {
    {"l1d_misses", "L1D_CACHE_REFILL", "L1D refills (misses that allocate) per access"},
    {"l2_misses", "L2D_CACHE_REFILL", "L2 refills per access"},
    {"l3_misses", "LL_CACHE_MISS_RD", "last-level cache read misses per access"},
    {"dtlb_l1_misses", "L1D_TLB_REFILL", "L1 data TLB refills per access"},
    {"dtlb_l2_misses", "L2D_TLB_REFILL", "L2 (unified) TLB refills per access"},
    {"page_walks", "DTLB_WALK", "data-side translation table walks per access"},
};

// The kernel's generic cache events: mapped per CPU by the kernel itself.
constexpr TableEntry kGenericEvents[] = {
    {"l1d_misses", "perf::PERF_COUNT_HW_CACHE_L1D:READ:MISS",
     "L1D read misses per access (the kernel's generic mapping)"},
    {"l3_misses", "perf::PERF_COUNT_HW_CACHE_LL:READ:MISS",
     "last-level cache read misses per access (the kernel's generic mapping)"},
    {"dtlb_misses", "perf::PERF_COUNT_HW_CACHE_DTLB:READ:MISS",
     "DTLB read misses per access (the kernel's generic mapping; level depends on the CPU)"},
};

std::span<const TableEntry> table_for(std::string_view pmu) {
  if (pmu == "amd64_fam19h_zen3") return kZen3Events;
  if (pmu == "amd64_fam19h_zen4") return kZen4Events;
  if (pmu == kZen5Table) return kZen5Events;
  for (const char* intel : {"skl", "skx", "clx", "icl", "icx", "spr"}) {
    if (pmu == intel) return kIntelEvents;
  }
  for (const char* neoverse : {"arm_n1", "arm_n2", "arm_v1", "arm_v2"}) {
    if (pmu == neoverse) return kArmNeoverseEvents;
  }
  return kGenericEvents;
}

// Generic counters of the core PMU libpfm4 detected (the group size limit).
std::size_t counters_per_group() {
  if (pfm_status() != PFM_SUCCESS) return kFallbackCountersPerGroup;
  for (int pmu = PFM_PMU_NONE; pmu < PFM_PMU_MAX; ++pmu) {
    auto info = zeroed_info<pfm_pmu_info_t>();
    if (pfm_get_pmu_info(static_cast<pfm_pmu_t>(pmu), &info) != PFM_SUCCESS) continue;
    if (info.is_present && info.type == PFM_PMU_TYPE_CORE && info.num_cntrs > 0) {
      return static_cast<std::size_t>(info.num_cntrs);
    }
  }
  return kFallbackCountersPerGroup;
}

}  // namespace

const std::vector<std::string>& software_event_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> out;
    for (const auto& event : kSoftwareEvents) out.emplace_back(event.name);
    return out;
  }();
  return names;
}

bool is_software_event(std::string_view name) { return find_software_event(name) != nullptr; }

std::vector<std::string> close_event_matches(const std::string& name) {
  const ParsedName parsed = parse_name(name);
  if (pfm_status() == PFM_SUCCESS && !parsed.attributes.empty()) {
    // A known event with a bad unit mask: suggest that event's unit masks.
    const int idx = pfm_find_event((parsed.pmu_prefix + parsed.event).c_str());
    if (idx >= 0) {
      const auto umasks = umask_names(idx);
      for (const auto& attribute : parsed.attributes) {
        const bool known = std::any_of(umasks.begin(), umasks.end(), [&](const auto& u) {
          return upper(u) == upper(attribute);
        });
        // Lower-case modifiers (u, k, c=1, ...) are libpfm4's, not unit masks.
        if (known || attribute.find('=') != std::string::npos ||
            upper(attribute) != attribute) {
          continue;
        }
        auto matches = rank_matches(attribute, umasks, parsed.pmu_prefix + parsed.event + ":");
        if (!matches.empty()) return matches;
      }
    }
  }
  // memprobe's own software names first: they win ties with libpfm4's aliases.
  std::vector<std::string> candidates = software_event_names();
  const auto libpfm_names = present_event_names();
  candidates.insert(candidates.end(), libpfm_names.begin(), libpfm_names.end());
  return rank_matches(parsed.event.empty() ? name : parsed.event, candidates);
}

Result<EncodedEvent> encode_event(const std::string& name, bool kernel) {
  EncodedEvent out;
  out.attr.size = sizeof(perf_event_attr);
  if (const SoftwareEvent* sw = find_software_event(name)) {
    out.attr.type = PERF_TYPE_SOFTWARE;
    out.attr.config = sw->config;
    out.attr.exclude_kernel = (kernel || sw->always_kernel) ? 0 : 1;
    out.attr.exclude_hv = 1;
    out.canonical = sw->canonical;
    out.software = true;
    return out;
  }
  if (auto pmu_free = encode_pmu_free_event(name, kernel)) return *std::move(pmu_free);
  if (const int status = pfm_status(); status != PFM_SUCCESS) {
    return Unavailable{fmt::format("cannot encode event '{}': libpfm4 did not initialise: {}",
                                   name, pfm_strerror(status))};
  }
  pfm_perf_encode_arg_t arg;
  std::memset(&arg, 0, sizeof arg);
  char* fstr = nullptr;
  arg.attr = &out.attr;
  arg.fstr = &fstr;
  arg.size = sizeof arg;
  const int plm = PFM_PLM3 | (kernel ? PFM_PLM0 : 0);
  const int ret = pfm_get_os_event_encoding(name.c_str(), plm, PFM_OS_PERF_EVENT_EXT, &arg);
  if (fstr != nullptr) {
    out.canonical = fstr;
    std::free(fstr);  // allocated by libpfm4 with malloc
  }
  switch (ret) {
    case PFM_SUCCESS:
      break;
    case PFM_ERR_NOTFOUND:
      return Unavailable{with_matches(fmt::format("unknown event '{}'", name),
                                       close_event_matches(name))};
    case PFM_ERR_UMASK:
    case PFM_ERR_ATTR:
    case PFM_ERR_ATTR_VAL:
    case PFM_ERR_ATTR_SET:
    case PFM_ERR_FEATCOMB:
      return Unavailable{with_matches(
          fmt::format("unknown event '{}': libpfm4: {}", name, pfm_strerror(ret)),
          close_event_matches(name))};
    default:
      return Unavailable{
          fmt::format("cannot encode event '{}': libpfm4: {}", name, pfm_strerror(ret))};
  }
  // libpfm4 sets exclude_user/exclude_kernel from the privilege levels and any
  // ":u"/":k" modifier in the name; the hypervisor is never wanted.
  out.attr.size = sizeof(perf_event_attr);
  out.attr.exclude_hv = 1;
  // libpfm4's fstr for perf_raw drops the code ("perf_raw:::u=1:..."): restore it.
  if (out.canonical.rfind(kRawPrefix, 0) == 0 && out.canonical.size() > kRawPrefix.size() &&
      out.canonical[kRawPrefix.size()] == ':') {
    out.canonical = fmt::format("{}r{:x}{}", kRawPrefix, out.attr.config,
                                out.canonical.substr(kRawPrefix.size()));
  }
  out.software = out.attr.type == PERF_TYPE_SOFTWARE;
  return out;
}

std::string libpfm_core_pmu() {
  if (pfm_status() != PFM_SUCCESS) return "";
  std::string first;
  for (int pmu = PFM_PMU_NONE; pmu < PFM_PMU_MAX; ++pmu) {
    auto info = zeroed_info<pfm_pmu_info_t>();
    if (pfm_get_pmu_info(static_cast<pfm_pmu_t>(pmu), &info) != PFM_SUCCESS) continue;
    if (!info.is_present || info.type != PFM_PMU_TYPE_CORE || info.name == nullptr) continue;
    if (info.is_dfl) return info.name;
    if (first.empty()) first = info.name;
  }
  return first;
}

std::string event_table_for(std::string_view libpfm_pmu, std::string_view cpu_vendor,
                            unsigned cpu_family) {
  if (table_for(libpfm_pmu).data() != kGenericEvents) {
    return std::string(libpfm_pmu);
  }
  // Linux perf maps AuthenticAMD family 26 (0x1A), every model, to amdzen5
  // (tools/perf/pmu-events/arch/x86/mapfile.csv).
  if (cpu_vendor == "AuthenticAMD" && cpu_family == 0x1A) return std::string(kZen5Table);
  return std::string(libpfm_pmu);
}

std::string core_event_table() {
  const std::optional<CpuSignature> cpu = read_cpu_signature();
  return event_table_for(libpfm_core_pmu(), cpu ? cpu->vendor : "", cpu ? cpu->family : 0);
}

std::vector<EventSpec> default_memory_events(std::string_view pmu) {
  std::vector<EventSpec> out;
  auto add = [&](const TableEntry& entry) {
    out.push_back(EventSpec{entry.name, false, entry.label, entry.meaning});
  };
  for (const auto& entry : kCommonEvents) add(entry);
  for (const auto& entry : table_for(pmu)) add(entry);
  return out;
}

std::vector<EventSpec> default_software_events() {
  return {
      {"page-faults", false, "page_faults", "page faults (minor and major) per access"},
      {"minor-faults", false, "minor_faults", "page faults served without I/O per access"},
      {"major-faults", false, "major_faults", "page faults that needed I/O per access"},
  };
}

Result<GroupRead> parse_group_read(std::span<const std::uint64_t> buffer, std::size_t events) {
  if (buffer.size() < kGroupHeaderWords) {
    return Unavailable{fmt::format("group read too short: {} words, need at least {}",
                                   buffer.size(), kGroupHeaderWords)};
  }
  if (buffer[0] != events) {
    return Unavailable{
        fmt::format("group read has nr={}, expected {} events", buffer[0], events)};
  }
  if (buffer.size() < kGroupHeaderWords + events) {
    return Unavailable{fmt::format("group read too short: {} words for {} events",
                                   buffer.size(), events)};
  }
  GroupRead out;
  out.time_enabled_ns = buffer[1];
  out.time_running_ns = buffer[2];
  out.values.assign(buffer.begin() + kGroupHeaderWords,
                    buffer.begin() + static_cast<std::ptrdiff_t>(kGroupHeaderWords + events));
  return out;
}

std::optional<double> scale_count(std::uint64_t value, std::uint64_t enabled_ns,
                                  std::uint64_t running_ns) {
  if (running_ns == 0) return std::nullopt;
  if (running_ns >= enabled_ns) return static_cast<double>(value);
  return static_cast<double>(value) * static_cast<double>(enabled_ns) /
         static_cast<double>(running_ns);
}

const EventReading* Reading::find(std::string_view key) const {
  for (const auto& event : events) {
    if (event.label == key || event.name == key) return &event;
  }
  return nullptr;
}

EventGroup::Fd& EventGroup::Fd::operator=(Fd&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.release();
  }
  return *this;
}

EventGroup::Fd::~Fd() {
  if (fd_ >= 0) ::close(fd_);
}

EventGroup EventGroup::open(const std::vector<EventSpec>& events) {
  EventGroup group;
  std::vector<std::optional<EncodedEvent>> encoded;
  for (const auto& spec : events) {
    EventStatus status;
    status.name = spec.name;
    status.label = spec.column();
    status.meaning = spec.meaning;
    status.kernel = spec.kernel;
    auto result = encode_event(spec.name, spec.kernel);
    if (result) {
      status.canonical = result->canonical;
      status.software = result->software;
      status.kernel = result->attr.exclude_kernel == 0;
      encoded.emplace_back(std::move(result).value());
    } else {
      status.reason = result.error().reason;
      encoded.emplace_back(std::nullopt);
    }
    group.statuses_.push_back(std::move(status));
  }

  // Each event is first opened alone, as a disabled would-be leader: that
  // separates "this event cannot be counted here" (its own errno) from "it
  // does not fit the current group" (start a new group with it).
  auto place = [&](bool software, std::size_t max_per_group) {
    Group* current = nullptr;
    for (std::size_t i = 0; i < encoded.size(); ++i) {
      if (!encoded[i] || encoded[i]->software != software) continue;
      perf_event_attr attr = encoded[i]->attr;
      attr.read_format = kReadFormat;
      attr.disabled = 1;
      Fd alone(perf_event_open(attr, -1));
      if (alone.get() < 0) {
        const int err = errno;
        group.statuses_[i].reason = open_failure_reason(err, software, attr.exclude_kernel == 0);
        continue;
      }
      group.statuses_[i].available = true;
      if (current != nullptr && current->fds.size() < max_per_group) {
        attr.disabled = 0;  // members follow their leader
        Fd member(perf_event_open(attr, current->fds.front().get()));
        if (member.get() >= 0) {
          current->fds.push_back(std::move(member));
          current->events.push_back(i);
          continue;
        }
      }
      group.groups_.emplace_back();
      current = &group.groups_.back();
      current->fds.push_back(std::move(alone));
      current->events.push_back(i);
    }
  };
  place(/*software=*/false, counters_per_group());
  place(/*software=*/true, kSoftwareEventsPerGroup);
  return group;
}

bool EventGroup::any_available() const {
  return std::any_of(statuses_.begin(), statuses_.end(),
                     [](const EventStatus& s) { return s.available; });
}

void EventGroup::start() {
  for (const auto& g : groups_) {
    const int leader = g.fds.front().get();
    if (ioctl(leader, PERF_EVENT_IOC_RESET, PERF_IOC_FLAG_GROUP) != 0 ||
        ioctl(leader, PERF_EVENT_IOC_ENABLE, PERF_IOC_FLAG_GROUP) != 0) {
      throw std::system_error(errno, std::generic_category(), "cannot start perf counters");
    }
  }
}

void EventGroup::stop() {
  for (const auto& g : groups_) {
    if (ioctl(g.fds.front().get(), PERF_EVENT_IOC_DISABLE, PERF_IOC_FLAG_GROUP) != 0) {
      throw std::system_error(errno, std::generic_category(), "cannot stop perf counters");
    }
  }
}

Reading EventGroup::read() const {
  Reading reading;
  reading.events.reserve(statuses_.size());
  for (const auto& status : statuses_) {
    EventReading& event = reading.events.emplace_back();
    event.name = status.name;
    event.label = status.label;
    event.kernel = status.kernel;
    event.reason = status.reason;
  }
  for (const auto& g : groups_) {
    std::vector<std::uint64_t> buffer(kGroupHeaderWords + g.events.size());
    const ssize_t bytes =
        ::read(g.fds.front().get(), buffer.data(), buffer.size() * sizeof(std::uint64_t));
    const int err = errno;
    Result<GroupRead> parsed =
        bytes < 0 ? Result<GroupRead>(Unavailable{fmt::format(
                        "cannot read counters ({})", errno_name(err))})
                  : parse_group_read(std::span<const std::uint64_t>(buffer).first(
                                         static_cast<std::size_t>(bytes) / sizeof(std::uint64_t)),
                                     g.events.size());
    for (std::size_t j = 0; j < g.events.size(); ++j) {
      EventReading& event = reading.events[g.events[j]];
      if (!parsed) {
        event.reason = parsed.error().reason;
        continue;
      }
      event.raw = parsed->values[j];
      event.enabled_ns = parsed->time_enabled_ns;
      event.running_ns = parsed->time_running_ns;
      const auto scaled = scale_count(event.raw, event.enabled_ns, event.running_ns);
      if (!scaled) {
        event.reason = "not scheduled (time_running=0): the PMU had no free counter";
        continue;
      }
      event.available = true;
      event.value = *scaled;
      event.multiplexed = event.running_ns < event.enabled_ns;
    }
  }
  return reading;
}

std::vector<EventStatus> list_available_events() {
  std::vector<EventSpec> specs = default_memory_events(core_event_table());
  for (const auto& name : software_event_names()) specs.push_back(EventSpec{name});
  return EventGroup::open(specs).statuses();
}

}  // namespace memprobe::core
