#include "core/machine.h"

#include <linux/perf_event.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <initializer_list>
#include <limits>
#include <sstream>
#include <string_view>
#include <system_error>
#include <utility>

#include <fmt/format.h>

#include "core/buffer.h"
#include "core/units.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

namespace memprobe::core {
namespace {

constexpr const char* kWhitespace = " \t\r\n";

std::string trim(std::string_view text) {
  const auto first = text.find_first_not_of(kWhitespace);
  if (first == std::string_view::npos) return "";
  const auto last = text.find_last_not_of(kWhitespace);
  return std::string(text.substr(first, last - first + 1));
}

// The value of the first "key : value" line of /proc/cpuinfo, if any.
std::optional<std::string> cpuinfo_field(const std::string& key) {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    if (trim(std::string_view(line).substr(0, colon)) == key) return trim(std::string_view(line).substr(colon + 1));
  }
  return std::nullopt;
}

#if defined(__x86_64__) || defined(__i386__)
std::string regs_to_string(std::initializer_list<std::uint32_t> regs) {
  std::string text;
  for (std::uint32_t reg : regs) {
    char bytes[4];
    std::memcpy(bytes, &reg, 4);
    text.append(bytes, 4);
  }
  return std::string(text.c_str());  // stop at the first NUL
}

std::string cpuid_brand_string() {
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  __cpuid(0x80000000, eax, ebx, ecx, edx);
  if (eax < 0x80000004) return "";
  std::string brand;
  for (unsigned leaf = 0x80000002; leaf <= 0x80000004; ++leaf) {
    __cpuid(leaf, eax, ebx, ecx, edx);
    brand += regs_to_string({eax, ebx, ecx, edx});
  }
  return trim(brand);
}

std::string cpuid_vendor_string() {
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  __cpuid(0, eax, ebx, ecx, edx);
  return regs_to_string({ebx, edx, ecx});
}
#endif

// A code (a CPUID vendor string, an implementer code) and its usual name.
struct KnownName {
  std::string_view code;
  std::string_view name;
};

template <std::size_t N>
std::optional<std::string> known_name(const KnownName (&table)[N], std::string_view code) {
  for (const KnownName& known : table)
    if (known.code == code) return std::string(known.name);
  return std::nullopt;
}

std::string vendor_name() {
#if defined(__x86_64__) || defined(__i386__)
  static constexpr KnownName kVendors[] = {{"AuthenticAMD", "AMD"},   {"GenuineIntel", "Intel"},
                                           {"HygonGenuine", "Hygon"}, {"CentaurHauls", "Centaur"},
                                           {"  Shanghai  ", "Zhaoxin"}};
  const std::string vendor = cpuid_vendor_string();
  return known_name(kVendors, vendor).value_or(vendor);
#else
  // ARM: the implementer code from the MIDR, as /proc/cpuinfo prints it.
  static constexpr KnownName kImplementers[] = {
      {"0x41", "ARM"},    {"0x42", "Broadcom"}, {"0x43", "Cavium"}, {"0x46", "Fujitsu"},  {"0x48", "HiSilicon"},
      {"0x4e", "NVIDIA"}, {"0x50", "APM"},      {"0x51", "Qualcomm"}, {"0x61", "Apple"}, {"0xc0", "Ampere"}};
  if (const auto implementer = cpuinfo_field("CPU implementer"))
    return known_name(kImplementers, *implementer).value_or("implementer " + *implementer);
  return cpuinfo_field("vendor_id").value_or("");
#endif
}

std::string cpu_model_name() {
  if (auto model = cpuinfo_field("model name"); model && !model->empty()) return *model;
#if defined(__x86_64__) || defined(__i386__)
  return cpuid_brand_string();
#else
  if (auto part = cpuinfo_field("CPU part")) return vendor_name() + " part " + *part;
  return "";
#endif
}

bool path_exists(const std::string& path) { return access(path.c_str(), F_OK) == 0; }

struct HugepagePool {
  std::uint64_t reserved = 0;
  std::uint64_t free = 0;
};

HugepagePool read_hugepage_pool(std::size_t page_bytes) {
  HugepagePool pool;
  pool.reserved = parse_number<std::uint64_t>(read_text_file(hugetlb_sysfs_path(page_bytes, "nr_hugepages"))).value_or(0);
  pool.free = parse_number<std::uint64_t>(read_text_file(hugetlb_sysfs_path(page_bytes, "free_hugepages"))).value_or(0);
  return pool;
}

}  // namespace

std::optional<std::uint64_t> meminfo_field_bytes(std::string_view meminfo_text, std::string_view field) {
  std::size_t at = 0;
  while (at < meminfo_text.size()) {
    const std::size_t end = std::min(meminfo_text.find('\n', at), meminfo_text.size());
    std::string_view line = meminfo_text.substr(at, end - at);
    at = end + 1;
    if (line.size() <= field.size() || line.substr(0, field.size()) != field || line[field.size()] != ':') continue;
    line.remove_prefix(field.size() + 1);
    while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
    std::uint64_t value = 0;
    const auto [ptr, ec] = std::from_chars(line.data(), line.data() + line.size(), value);
    if (ec != std::errc() || ptr == line.data()) return std::nullopt;
    std::string_view unit = line.substr(static_cast<std::size_t>(ptr - line.data()));
    while (!unit.empty() && (unit.front() == ' ' || unit.front() == '\t')) unit.remove_prefix(1);
    while (!unit.empty() && (unit.back() == ' ' || unit.back() == '\t' || unit.back() == '\r')) unit.remove_suffix(1);
    if (unit.empty()) return value;  // a count (HugePages_Total), not a size
    if (unit != "kB" || value > std::numeric_limits<std::uint64_t>::max() / kKiB) return std::nullopt;
    return value * kKiB;
  }
  return std::nullopt;
}

std::optional<std::uint64_t> mem_available_bytes() {
  const auto text = read_text_file("/proc/meminfo");
  if (!text) return std::nullopt;
  return meminfo_field_bytes(*text, "MemAvailable");
}

std::string bracketed_choice(const std::string& text) {
  const auto open = text.find('[');
  if (open == std::string::npos) return "";
  const auto close = text.find(']', open + 1);
  if (close == std::string::npos) return "";
  return text.substr(open + 1, close - open - 1);
}

std::optional<std::string> detect_hypervisor() {
#if defined(__x86_64__) || defined(__i386__)
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  __cpuid(1, eax, ebx, ecx, edx);
  if ((ecx & (1u << 31)) == 0) return std::nullopt;  // CPUID.1:ECX[31]: running under a hypervisor
  __cpuid(0x40000000, eax, ebx, ecx, edx);
  static constexpr KnownName kHypervisors[] = {
      {"KVMKVMKVM", "KVM"},       {"Microsoft Hv", "Hyper-V"}, {"VMwareVMware", "VMware"},
      {"XenVMMXenVMM", "Xen"},    {"TCGTCGTCGTCG", "QEMU-TCG"}, {"ACRNACRNACRN", "ACRN"},
      {" lrpepyh  vr", "Parallels"}, {"bhyve bhyve ", "bhyve"}};
  const std::string vendor = regs_to_string({ebx, ecx, edx});
  if (auto name = known_name(kHypervisors, vendor)) return name;
  const std::string trimmed = trim(vendor);
  return trimmed.empty() ? std::string("unknown hypervisor") : trimmed;
#else
  // Without CPUID only Xen says so in sysfs; other hypervisors go undetected.
  if (auto type = read_text_file("/sys/hypervisor/type"); type && !type->empty()) {
    return *type == "xen" ? std::string("Xen") : *type;
  }
  return std::nullopt;
#endif
}

std::string probe_hardware_pmu() {
  perf_event_attr attr{};
  attr.size = sizeof(attr);
  attr.type = PERF_TYPE_HARDWARE;
  attr.config = PERF_COUNT_HW_CPU_CYCLES;
  attr.disabled = 1;
  attr.exclude_kernel = 1;
  attr.exclude_hv = 1;
  const long fd = syscall(SYS_perf_event_open, &attr, 0 /* this thread */, -1 /* any CPU */, -1 /* no group */,
                          PERF_FLAG_FD_CLOEXEC);
  if (fd >= 0) {
    close(static_cast<int>(fd));
    return "";
  }
  const int error = errno;
  const bool sysfs_cpu_pmu = path_exists("/sys/bus/event_source/devices/cpu") ||
                             path_exists("/sys/bus/event_source/devices/cpu_core");
  const std::string sysfs_note = sysfs_cpu_pmu ? "/sys/bus/event_source/devices/cpu exists"
                                               : "/sys/bus/event_source/devices has no cpu PMU";
  switch (error) {
    case ENOENT:
    case ENODEV:
    case EOPNOTSUPP: {
      std::string reason = fmt::format("no hardware PMU exposed to this system ({})", errno_name(error));
      if (const auto hypervisor = detect_hypervisor()) {
        reason += fmt::format(" \u2014 running under {} without a virtual PMU", *hypervisor);
      }
      return reason + "; " + sysfs_note;
    }
    case EACCES:
    case EPERM: {
      const auto paranoid = read_perf_event_paranoid();
      return fmt::format("not permitted ({}): perf_event_paranoid={}; run as root or `sysctl kernel.perf_event_paranoid=1`",
                         errno_name(error), paranoid ? std::to_string(*paranoid) : std::string("?"));
    }
    default:
      return fmt::format("cannot open the cycles counter: {} ({}); {}", errno_name(error), std::strerror(error),
                         sysfs_note);
  }
}

Machine fingerprint(bool calibrate) {
  Machine machine;
  machine.cpu_model = cpu_model_name();
  machine.vendor = vendor_name();

  utsname names{};
  if (uname(&names) == 0) machine.kernel = names.release;

  machine.hypervisor = detect_hypervisor();
  machine.tsc_hz = tsc_hz();
  if (calibrate) machine.core_clock = calibrate_core_clock();

  machine.topology = Topology::load();
  machine.logical_cpus = machine.topology.logical_cpus();
  if (machine.logical_cpus == 0) {
    const long online = sysconf(_SC_NPROCESSORS_ONLN);
    machine.logical_cpus = online > 0 ? static_cast<unsigned>(online) : 0u;
  }
  TlbReport tlbs = read_tlb_report();
  machine.tlbs = std::move(tlbs.levels);
  machine.tlb_source = std::move(tlbs.source);
  machine.base_page_bytes = base_page_bytes();
  machine.thp_page_bytes = thp_page_bytes();
  for (const std::size_t page_bytes : hugetlb_page_sizes()) {
    const HugepagePool pool = read_hugepage_pool(page_bytes);
    machine.hugetlb_pools.push_back({page_bytes, pool.reserved, pool.free});
  }

  const std::string thp = "/sys/kernel/mm/transparent_hugepage/";
  machine.thp_enabled = bracketed_choice(read_text_file(thp + "enabled").value_or(""));
  machine.thp_defrag = bracketed_choice(read_text_file(thp + "defrag").value_or(""));

  const HugepagePool pool_2m = read_hugepage_pool(2 * kMiB);
  const HugepagePool pool_1g = read_hugepage_pool(kGiB);
  machine.hugepages_2m_reserved = pool_2m.reserved;
  machine.hugepages_2m_free = pool_2m.free;
  machine.hugepages_1g_reserved = pool_1g.reserved;
  machine.hugepages_1g_free = pool_1g.free;

  machine.perf_event_paranoid = read_perf_event_paranoid();
  machine.pmu_reason = probe_hardware_pmu();
  machine.pmu_available = machine.pmu_reason.empty();
  return machine;
}

}  // namespace memprobe::core
