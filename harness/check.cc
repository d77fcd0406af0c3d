#include "harness/check.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <map>
#include <sstream>

#include "analysis/table_format.h"
#include "core/buffer.h"
#include "core/machine.h"
#include "core/system_files.h"
#include "core/units.h"
#include "harness/system_guard.h"

namespace memprobe::harness {
namespace {

using core::parse_number;

const std::string kThpDir = "/sys/kernel/mm/transparent_hugepage/";
const std::string kCpuDir = "/sys/devices/system/cpu/";

// Size of the live hugetlb proof buffers: two 2 MiB pages, so a proof is not
// one lucky page.
constexpr std::size_t kProofBytes = 4 * core::kMiB;

// The THP proof: two THP pages of this kernel (2 MiB on x86-64 and arm64
// with 4 KiB pages, 32 MiB with 16 KiB, 512 MiB with 64 KiB pages).
std::size_t thp_proof_bytes() { return 2 * core::thp_page_bytes(); }

// A hugetlb pool by page size, and how the report names it.
struct Pool {
  std::size_t page_bytes;
  const char* label;   // "2 MiB"
  const char* policy;  // "hugetlb-2m"
};
constexpr Pool kPools[] = {{2 * core::kMiB, "2 MiB", "hugetlb-2m"}, {core::kGiB, "1 GiB", "hugetlb-1g"}};

// "always [madvise] never" -> "madvise"; text without a bracket as it is.
std::string choice(const std::optional<std::string>& text) {
  if (!text) return "";
  const std::string chosen = core::bracketed_choice(*text);
  return chosen.empty() ? *text : chosen;
}

std::string thp_path(const std::string& file) { return kThpDir + file; }
std::string pool_path(const Pool& pool, const std::string& file) {
  return core::hugetlb_sysfs_path(pool.page_bytes, file);
}

// The THP page size of this kernel (hpage_pmd_size: 2 MiB on x86-64, up to
// 512 MiB on arm64 with 64 KiB pages); 2 MiB if not readable.
std::uint64_t thp_pmd_bytes(const SystemReader& reader) {
  return parse_number<std::uint64_t>(reader.read(thp_path("hpage_pmd_size"))).value_or(2 * core::kMiB);
}

void check_thp(const SystemReader& reader, std::vector<CheckItem>& items) {
  // What a buffer gets without a huge page: the base page (4 KiB on x86-64;
  // 4, 16 or 64 KiB on arm64).
  const std::string base_pages = core::format_bytes(core::base_page_bytes()) + " pages";
  const auto enabled_text = reader.read(thp_path("enabled"));
  if (!enabled_text) {
    items.push_back({"THP enabled", "not available (kernel without transparent huge pages)", CheckVerdict::kInfo,
                     "thp cases report " + base_pages + "; use hugetlb pages (--pages 2m)"});
    return;
  }
  const std::string enabled = choice(enabled_text);
  if (enabled == "never")
    items.push_back({"THP enabled", "never: thp buffers get " + base_pages, CheckVerdict::kWarn,
                     "echo madvise > " + thp_path("enabled")});
  else if (enabled == "madvise")
    items.push_back({"THP enabled", "madvise (memprobe asks per buffer with MADV_HUGEPAGE)", CheckVerdict::kOk, ""});
  else if (enabled == "always")
    items.push_back(
        {"THP enabled", "always (memprobe's 4k buffers opt out with MADV_NOHUGEPAGE)", CheckVerdict::kOk, ""});
  else
    items.push_back({"THP enabled", enabled, CheckVerdict::kInfo, ""});

  const std::string defrag = choice(reader.read(thp_path("defrag")));
  if (defrag.empty()) {
    items.push_back({"THP defrag", "not visible", CheckVerdict::kInfo, ""});
  } else if (defrag == "madvise" || defrag == "defer+madvise" || defrag == "always") {
    items.push_back({"THP defrag",
                     defrag + " (a MADV_HUGEPAGE fault compacts memory to get its " +
                         core::format_bytes(thp_pmd_bytes(reader)) + " page)",
                     CheckVerdict::kOk, ""});
  } else {
    items.push_back({"THP defrag",
                     defrag + ": a THP fault without a free " + core::format_bytes(thp_pmd_bytes(reader)) +
                         " block falls back to " + base_pages,
                     CheckVerdict::kWarn, "echo madvise > " + thp_path("defrag")});
  }
}

// mTHP: anonymous huge pages smaller than the PMD size (Linux 6.8+). An
// enabled size changes what a "4 KiB page" is for programs that do not opt
// out, and where a THP fault falls back to.
void check_mthp(const SystemReader& reader, std::vector<CheckItem>& items) {
  const std::string top = choice(reader.read(thp_path("enabled")));
  const std::uint64_t pmd_kb = thp_pmd_bytes(reader) / core::kKiB;
  std::vector<std::pair<std::uint64_t, std::string>> sizes;  // kB, setting
  bool any = false;
  for (const std::string& entry : reader.list(kThpDir)) {
    if (entry.rfind("hugepages-", 0) != 0 || entry.size() < 13 || entry.substr(entry.size() - 2) != "kB") continue;
    const auto kb = parse_number<std::uint64_t>(entry.substr(10, entry.size() - 12));
    if (!kb || *kb >= pmd_kb) continue;
    any = true;
    const std::string setting = choice(reader.read(kThpDir + entry + "/enabled"));
    const bool effective =
        setting == "always" || setting == "madvise" || (setting == "inherit" && (top == "always" || top == "madvise"));
    if (effective) sizes.emplace_back(*kb, setting == "inherit" ? "inherit: " + top : setting);
  }
  if (!any) {
    items.push_back({"mTHP sizes", "none on this kernel", CheckVerdict::kOk, ""});
    return;
  }
  if (sizes.empty()) {
    items.push_back({"mTHP sizes", "all below the PMD size are never", CheckVerdict::kOk, ""});
    return;
  }
  std::sort(sizes.begin(), sizes.end());
  std::string value, fix;
  for (const auto& [kb, setting] : sizes) {
    value += fmt::format("{}{} ({})", value.empty() ? "" : ", ", analysis::format_bytes(kb * 1024.0), setting);
    fix += fmt::format("{}echo never > {}hugepages-{}kB/enabled", fix.empty() ? "" : "; ", kThpDir, kb);
  }
  items.push_back({"mTHP sizes", value + ": other programs' \"4 KiB\" pages and THP fallbacks may be these sizes",
                   CheckVerdict::kWarn,
                   "memprobe's 4k buffers opt out (MADV_NOHUGEPAGE); for 4 KiB baselines elsewhere: " + fix});
}

std::string proof_item_name(const std::string& policy) { return fmt::format("huge page in use ({})", policy); }

void add_proof(const LiveFacts& live, const std::string& policy, const std::string& not_tried,
               const std::string& thp_enabled, std::vector<CheckItem>& items) {
  if (!live.probed) return;
  const auto proof = std::find_if(live.proofs.begin(), live.proofs.end(),
                                  [&](const HugePageProof& p) { return p.policy == policy; });
  if (proof == live.proofs.end()) {
    items.push_back({proof_item_name(policy), "not tried: " + not_tried, CheckVerdict::kInfo,
                     "reserve pages (see the pool above), then run memprobe check again"});
    return;
  }
  const std::string size = analysis::format_bytes(static_cast<double>(proof->bytes));
  if (!proof->allocated) {
    items.push_back({proof_item_name(policy), fmt::format("{} buffer not obtained", size), CheckVerdict::kWarn,
                     proof->detail});
    return;
  }
  if (proof->huge) {
    items.push_back({proof_item_name(policy), fmt::format("yes: {} buffer, {}", size, proof->detail),
                     CheckVerdict::kOk, ""});
    return;
  }
  std::string fix;
  if (policy == "thp")
    fix = thp_enabled == "never"
              ? "echo madvise > " + thp_path("enabled")
              : "memory too fragmented for free " + core::format_bytes(core::thp_page_bytes()) +
                    " blocks: as root, echo 1 > /proc/sys/vm/compact_memory, then check again (and see THP defrag "
                    "above)";
  items.push_back({proof_item_name(policy),
                   fmt::format("no: {} buffer got {} ({})", size, proof->verified, proof->detail),
                   CheckVerdict::kWarn, fix});
}

void check_pool(const SystemReader& reader, const Pool& pool, std::vector<CheckItem>& items) {
  const std::string setting = fmt::format("hugetlb {} pool", pool.label);
  const auto reserved = parse_number<std::uint64_t>(reader.read(pool_path(pool, "nr_hugepages")));
  const auto free = parse_number<std::uint64_t>(reader.read(pool_path(pool, "free_hugepages")));
  const bool gib = pool.page_bytes == core::kGiB;
  if (!reserved) {
    items.push_back({setting,
                     gib ? "no 1 GiB pool (kernel or CPU without 1 GiB pages)" : "no 2 MiB pool on this kernel",
                     CheckVerdict::kInfo, ""});
    return;
  }
  const std::string sysfs = pool_path(pool, "nr_hugepages");
  if (*reserved == 0) {
    items.push_back(
        {setting, fmt::format("0 reserved: {} cases are reported unavailable", pool.policy), CheckVerdict::kInfo,
         gib ? fmt::format("memprobe run --pages 1g --reserve-hugepages-1g N (reserves for the run, restores after; "
                           "may fail at run time from fragmentation), or at boot: hugepagesz=1G hugepages=N on the "
                           "kernel command line")
             : fmt::format("memprobe run --pages 2m --reserve-hugepages N (reserves for the run, restores after), "
                           "or as root: echo N > {}",
                           sysfs)});
    return;
  }
  const std::uint64_t available = free.value_or(0);
  if (available == 0) {
    items.push_back({setting, fmt::format("{} reserved, 0 free (in use by other processes)", *reserved),
                     CheckVerdict::kWarn,
                     fmt::format("free them, or grow the pool to M > {} pages: memprobe run --reserve-hugepages{} M, "
                                 "or as root: echo M > {}",
                                 *reserved, gib ? "-1g" : "", sysfs)});
    return;
  }
  items.push_back({setting, fmt::format("{} reserved, {} free", *reserved, available), CheckVerdict::kOk, ""});
}

// A pool some memprobe run recorded raising (SystemGuard's state file).
struct RecordedReservation {
  std::string state_file;
  long pid = 0;
  bool running = false;  // that run is still alive
  ReservedPool pool;
};

// "reservation-4242.json" -> 4242; nullopt for any other name.
std::optional<long> state_file_pid(const std::string& name) {
  const std::string prefix = kReservationStatePrefix, suffix = ".json";
  if (name.size() <= prefix.size() + suffix.size() || name.rfind(prefix, 0) != 0 ||
      name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0)
    return std::nullopt;
  return parse_number<long>(name.substr(prefix.size(), name.size() - prefix.size() - suffix.size()));
}

// Every reservation recorded in the state directory; a state file that
// cannot be read is an item of its own.
std::vector<RecordedReservation> recorded_reservations(const SystemReader& reader, std::vector<CheckItem>& items) {
  std::vector<RecordedReservation> recorded;
  const std::string dir = reservation_state_dir();
  for (const std::string& name : reader.list(dir)) {
    const auto pid = state_file_pid(name);
    if (!pid) continue;
    const std::string path = dir + "/" + name;
    const auto text = reader.read(path);
    const auto state = text ? parse_reservation_state(*text) : std::nullopt;
    if (!state || state->pid != *pid) {
      items.push_back({"memprobe state file", fmt::format("{}: not a reservation record memprobe can read", path),
                       CheckVerdict::kInfo, "rm " + path});
      continue;
    }
    // A live memprobe with that pid holds it; a reused pid is another program.
    const bool running = reader.read(fmt::format("/proc/{}/comm", *pid)) == std::optional<std::string>("memprobe");
    for (const ReservedPool& pool : state->pools) recorded.push_back({path, *pid, running, pool});
  }
  return recorded;
}

// The item for a pool a run recorded; `now` is the pool's nr_hugepages.
CheckItem reservation_item(const Pool& pool, const RecordedReservation& r, std::optional<std::uint64_t> now) {
  const std::string setting = fmt::format("hugetlb {} pool reservation", pool.label);
  const std::uint64_t from = r.pool.previous_pages, to = r.pool.requested_pages;
  if (r.running)
    return {setting,
            fmt::format("held by memprobe run {} (running): raised from {} to {} pages; restored when it ends", r.pid,
                        from, to),
            CheckVerdict::kInfo, ""};
  if (!now || *now <= from)
    return {setting,
            fmt::format("memprobe run {} (no longer running) recorded raising it from {} to {} pages; it is at {} "
                        "again: only its state file is left",
                        r.pid, from, to, now ? std::to_string(*now) : std::string("an unknown size")),
            CheckVerdict::kInfo, "rm " + r.state_file};
  return {setting,
          fmt::format("raised by memprobe run {} (no longer running), from {} to {} pages; {} now: it was killed "
                      "before it could restore the pool",
                      r.pid, from, to, *now),
          CheckVerdict::kWarn,
          fmt::format("as root: echo {} > {} && rm {}", from, pool_path(pool, "nr_hugepages"), r.state_file)};
}

void check_reservations(const SystemReader& reader, const Pool& pool, const std::vector<RecordedReservation>& recorded,
                        std::vector<CheckItem>& items) {
  const auto now = parse_number<std::uint64_t>(reader.read(pool_path(pool, "nr_hugepages")));
  const std::size_t pool_item = items.size() - 1;  // check_pool's item, just added
  for (const RecordedReservation& r : recorded) {
    if (r.pool.page_bytes != pool.page_bytes) continue;
    items.push_back(reservation_item(pool, r, now));
    if (items.back().verdict != CheckVerdict::kWarn) continue;
    // The pool's own item must not call a leftover pool "ok".
    items[pool_item].verdict = CheckVerdict::kWarn;
    items[pool_item].value += " (left raised by a killed memprobe run: next row)";
    if (items[pool_item].fix.empty()) items[pool_item].fix = items.back().fix;
  }
}

bool running_as_root(const SystemReader& reader) {
  // "Uid:\treal\teffective\tsaved\tfs"
  const auto status = reader.read("/proc/self/status");
  if (!status) return false;
  std::istringstream lines(*status);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("Uid:", 0) != 0) continue;
    std::istringstream fields(line.substr(4));
    std::string real, effective;
    fields >> real >> effective;
    return effective == "0";
  }
  return false;
}

void check_perf(const SystemReader& reader, const LiveFacts& live, std::vector<CheckItem>& items) {
  const auto paranoid = core::parse_perf_event_paranoid(reader.read(core::kPerfEventParanoidPath));
  const std::string sysctl_fix = "sysctl kernel.perf_event_paranoid=1 (or run memprobe as root)";
  if (!paranoid) {
    items.push_back({"perf_event_paranoid", "not visible (kernel without perf events?)", CheckVerdict::kInfo, ""});
  } else if (running_as_root(reader)) {
    items.push_back(
        {"perf_event_paranoid", fmt::format("{} (running as root: not restricted)", *paranoid), CheckVerdict::kOk, ""});
  } else if (*paranoid >= 3) {
    items.push_back({"perf_event_paranoid", fmt::format("{}: perf_event_open is refused to non-root users", *paranoid),
                     CheckVerdict::kWarn, sysctl_fix});
  } else if (*paranoid == 2) {
    items.push_back({"perf_event_paranoid",
                     "2: user-space counting only; kernel+user counts (page-fault cycles) need <= 1",
                     CheckVerdict::kWarn, sysctl_fix});
  } else {
    items.push_back({"perf_event_paranoid", fmt::format("{}", *paranoid), CheckVerdict::kOk, ""});
  }

  if (!live.probed) return;
  if (live.pmu_reason.empty()) {
    items.push_back({"hardware PMU", "available (the cycles counter opens)", CheckVerdict::kOk, ""});
  } else if (live.pmu_reason.find("not permitted") != std::string::npos) {
    items.push_back({"hardware PMU", "unavailable: " + live.pmu_reason, CheckVerdict::kWarn, sysctl_fix});
  } else if (live.hypervisor) {
    items.push_back({"hardware PMU", "unavailable: " + live.pmu_reason, CheckVerdict::kInfo,
                     fmt::format("give the {} guest a virtual PMU (QEMU: -cpu host,pmu=on; libvirt: <pmu "
                                 "state='on'/>); meanwhile memprobe counts software events and calibrates cycles",
                                 *live.hypervisor)});
  } else {
    items.push_back({"hardware PMU", "unavailable: " + live.pmu_reason, CheckVerdict::kWarn,
                     "check the kernel has perf events (CONFIG_PERF_EVENTS) and a PMU driver for this CPU"});
  }
}

void check_hypervisor(const LiveFacts& live, std::vector<CheckItem>& items) {
  if (!live.probed) return;
  if (!live.hypervisor) {
    items.push_back({"hypervisor", "none detected (bare metal)", CheckVerdict::kOk, ""});
    return;
  }
  items.push_back({"hypervisor",
                   *live.hypervisor + ": page walks are nested (guest and host tables), and guest huge pages are "
                                      "huge in the host only if it backs the guest with huge pages",
                   CheckVerdict::kInfo, ""});
}

void check_frequency(const SystemReader& reader, const LiveFacts& live, std::vector<CheckItem>& items) {
  const std::string not_visible =
      live.probed && live.hypervisor ? "not visible (VM: the host controls the clock)" : "not visible";
  std::map<std::string, int> governors;
  for (const std::string& entry : reader.list(kCpuDir)) {
    if (entry.size() < 4 || entry.rfind("cpu", 0) != 0 ||
        !std::all_of(entry.begin() + 3, entry.end(), [](char c) { return c >= '0' && c <= '9'; }))
      continue;
    if (const auto governor = reader.read(kCpuDir + entry + "/cpufreq/scaling_governor")) ++governors[*governor];
  }
  if (governors.empty()) {
    items.push_back({"CPU frequency governor", not_visible, CheckVerdict::kInfo, ""});
  } else {
    std::string value;
    for (const auto& [governor, cpus] : governors)
      value += fmt::format("{}{} on {} CPU{}", value.empty() ? "" : ", ", governor, cpus, cpus == 1 ? "" : "s");
    if (governors.size() == 1 && governors.count("performance"))
      items.push_back({"CPU frequency governor", value, CheckVerdict::kOk, ""});
    else
      items.push_back({"CPU frequency governor", value + ": the clock can change during a run", CheckVerdict::kWarn,
                       "cpupower frequency-set -g performance (or echo performance | tee " + kCpuDir +
                           "cpu*/cpufreq/scaling_governor)"});
  }

  const std::string boost_path = kCpuDir + "cpufreq/boost";
  const std::string no_turbo_path = kCpuDir + "intel_pstate/no_turbo";
  if (const auto boost = reader.read(boost_path)) {
    if (*boost == "0")
      items.push_back({"CPU boost", "off", CheckVerdict::kOk, ""});
    else
      items.push_back({"CPU boost", "on: the core clock varies with load and temperature", CheckVerdict::kInfo,
                       "for steadier figures: echo 0 > " + boost_path});
  } else if (const auto no_turbo = reader.read(no_turbo_path)) {
    if (*no_turbo == "1")
      items.push_back({"CPU boost", "off (intel_pstate no_turbo=1)", CheckVerdict::kOk, ""});
    else
      items.push_back({"CPU boost", "on (intel_pstate turbo): the core clock varies with load and temperature",
                       CheckVerdict::kInfo, "for steadier figures: echo 1 > " + no_turbo_path});
  } else {
    items.push_back({"CPU boost", not_visible, CheckVerdict::kInfo, ""});
  }
}

void check_memory_policy(const SystemReader& reader, std::vector<CheckItem>& items) {
  const auto numa = reader.read("/proc/sys/kernel/numa_balancing");
  if (!numa)
    items.push_back({"NUMA balancing", "not in this kernel", CheckVerdict::kOk, ""});
  else if (*numa == "0")
    items.push_back({"NUMA balancing", "off", CheckVerdict::kOk, ""});
  else
    items.push_back({"NUMA balancing",
                     fmt::format("on ({}): the kernel unmaps pages to sample accesses and migrates them during a run",
                                 *numa),
                     CheckVerdict::kWarn, "sysctl kernel.numa_balancing=0"});

  // /proc/swaps: a header line, then one line per active area (size in KiB, 3rd column).
  std::size_t areas = 0;
  double swap_kib = 0;
  if (const auto swaps = reader.read("/proc/swaps")) {
    std::istringstream lines(*swaps);
    std::string line;
    std::getline(lines, line);
    while (std::getline(lines, line)) {
      std::istringstream fields(line);
      std::string name, type;
      double size_kib = 0;
      if (fields >> name >> type >> size_kib) {
        ++areas;
        swap_kib += size_kib;
      }
    }
  }

  const auto swappiness = reader.read("/proc/sys/vm/swappiness");
  if (!swappiness)
    items.push_back({"swappiness", "not visible", CheckVerdict::kInfo, ""});
  else if (areas == 0)
    items.push_back({"swappiness", *swappiness + " (no swap active: no effect)", CheckVerdict::kOk, ""});
  else
    items.push_back({"swappiness", *swappiness + " with swap active: idle anonymous memory may be swapped out",
                     CheckVerdict::kInfo, "for runs with large working sets: sysctl vm.swappiness=1"});

  if (areas == 0)
    items.push_back({"swap", "none active", CheckVerdict::kOk, ""});
  else
    items.push_back({"swap",
                     fmt::format("{} area{} active, {}", areas, areas == 1 ? "" : "s",
                                 analysis::format_bytes(swap_kib * 1024)),
                     CheckVerdict::kInfo, "keep working sets within free memory, or swapoff -a for the run"});
}

HugePageProof prove(std::size_t bytes, core::PagePolicy policy) {
  HugePageProof proof;
  proof.policy = std::string(core::cli_name(policy));
  proof.bytes = bytes;
  auto buffer = core::Buffer::allocate(bytes, policy);
  if (!buffer) {
    proof.detail = buffer.error().reason;
    return proof;
  }
  const core::Backing& backing = buffer->backing();
  proof.allocated = true;
  proof.huge = backing.matches_request();
  proof.verified = backing.verified;
  proof.detail = backing.how_verified;
  return proof;
}

}  // namespace

std::optional<std::string> LiveSystemReader::read(const std::string& path) const { return core::read_text_file(path); }

std::vector<std::string> LiveSystemReader::list(const std::string& directory) const {
  std::vector<std::string> names;
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator(directory, error))
    names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

std::string_view check_verdict_name(CheckVerdict verdict) {
  switch (verdict) {
    case CheckVerdict::kOk: return "ok";
    case CheckVerdict::kWarn: return "warn";
    case CheckVerdict::kInfo: return "info";
  }
  return "info";
}

LiveFacts probe_live(const SystemReader& reader) {
  LiveFacts live;
  live.probed = true;
  live.hypervisor = core::detect_hypervisor();
  live.pmu_reason = core::probe_hardware_pmu();
  // One buffer at a time: each is freed before the next is allocated.
  live.proofs.push_back(prove(thp_proof_bytes(), core::PagePolicy::kThp));
  for (const Pool& pool : kPools) {
    const auto free = parse_number<std::uint64_t>(reader.read(pool_path(pool, "free_hugepages"))).value_or(0);
    if (free == 0) continue;
    const std::size_t bytes = std::min<std::size_t>(kProofBytes, free * pool.page_bytes);
    const std::size_t proof_bytes = std::max(bytes, pool.page_bytes);
    live.proofs.push_back(prove(proof_bytes, *core::parse_page_policy(pool.policy)));
  }
  return live;
}

std::vector<CheckItem> gather_checks(const SystemReader& reader, const LiveFacts& live) {
  std::vector<CheckItem> items;
  check_thp(reader, items);
  check_mthp(reader, items);
  const std::string thp_enabled = choice(reader.read(thp_path("enabled")));
  add_proof(live, "thp", "", thp_enabled, items);
  const std::vector<RecordedReservation> recorded = recorded_reservations(reader, items);
  for (const Pool& pool : kPools) {
    check_pool(reader, pool, items);
    check_reservations(reader, pool, recorded, items);
    add_proof(live, pool.policy, fmt::format("no free {} pages", pool.label), thp_enabled, items);
  }
  check_perf(reader, live, items);
  check_hypervisor(live, items);
  check_frequency(reader, live, items);
  check_memory_policy(reader, items);
  return items;
}

std::string render_checks(const std::vector<CheckItem>& items) {
  std::vector<std::vector<std::string>> rows;
  std::map<CheckVerdict, int> counts;
  for (const CheckItem& item : items) {
    ++counts[item.verdict];
    rows.push_back({item.setting, item.value, std::string(check_verdict_name(item.verdict)),
                    item.fix.empty() ? std::string(analysis::kMissing) : item.fix});
  }
  std::string out = analysis::render_table({{"setting", false}, {"value", false}, {"verdict", false}, {"fix", false}},
                                           rows);
  out += fmt::format("\n{} ok, {} warn, {} info. memprobe check only reads the system; it changed nothing.\n",
                     counts[CheckVerdict::kOk], counts[CheckVerdict::kWarn], counts[CheckVerdict::kInfo]);
  return out;
}

int check_command(std::ostream& out) {
  const LiveSystemReader reader;
  const LiveFacts live = probe_live(reader);
  out << render_checks(gather_checks(reader, live));
  return 0;
}

}  // namespace memprobe::harness
