#include "harness/machine_info.h"

#include <unistd.h>

#include <climits>

namespace memprobe::harness {

analysis::MachineInfo to_machine_info(const core::Machine& machine) {
  analysis::MachineInfo info;
  info.cpu_model = machine.cpu_model;
  info.vendor = machine.vendor;
  info.logical_cpus = static_cast<int>(machine.logical_cpus);
  info.kernel = machine.kernel;
  info.hypervisor = machine.hypervisor;
  info.tsc_hz = machine.tsc_hz;
  info.core_hz = machine.core_clock.hz;
  info.core_hz_source = machine.core_clock.source;
  for (const core::CacheLevel& cache : machine.topology.data_caches()) {
    info.caches.push_back({cache.level, cache.kind, static_cast<double>(cache.size_bytes),
                           static_cast<double>(cache.line_bytes), cache.ways});
  }
  for (const core::TlbLevel& tlb : machine.tlbs) {
    analysis::TlbInfo t;
    t.level = tlb.level;
    t.page_bytes = static_cast<double>(tlb.page_bytes);
    if (tlb.entries) t.entries = static_cast<double>(*tlb.entries);
    t.ways = tlb.ways;
    info.tlb.push_back(t);
  }
  info.tlb_source = machine.tlb_source;
  if (const auto signature = core::read_cpu_signature()) info.cpu_family = signature->family;
  if (machine.base_page_bytes > 0) info.base_page_bytes = static_cast<double>(machine.base_page_bytes);
  if (machine.thp_page_bytes > 0) info.thp_page_bytes = static_cast<double>(machine.thp_page_bytes);
  info.thp_enabled = machine.thp_enabled;
  info.thp_defrag = machine.thp_defrag;
  info.hugepages_2m_reserved = static_cast<double>(machine.hugepages_2m_reserved);
  info.hugepages_1g_reserved = static_cast<double>(machine.hugepages_1g_reserved);
  info.pmu_available = machine.pmu_available;
  info.pmu_reason = machine.pmu_reason;
  // Host and memory size name the node in a fleet (memprobe fleet).
  char host[HOST_NAME_MAX + 1] = {};
  if (::gethostname(host, sizeof host - 1) == 0) info.host = host;
  if (const auto meminfo = core::read_text_file("/proc/meminfo"))
    if (const auto total = core::meminfo_field_bytes(*meminfo, "MemTotal"))
      info.memory_bytes = static_cast<double>(*total);
  return info;
}

}  // namespace memprobe::harness
