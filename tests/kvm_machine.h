// The machine most analysis tests describe: an AMD KVM guest with two
// logical CPUs and a calibrated core clock; each test sets the rest.
#pragma once

#include <string>
#include <utility>

#include "analysis/results.h"

namespace memprobe::analysis::testing {

inline MachineInfo kvm_amd_machine(std::string cpu_model, std::string kernel, double tsc_hz, double core_hz) {
  MachineInfo m;
  m.cpu_model = std::move(cpu_model);
  m.vendor = "AMD";
  m.logical_cpus = 2;
  m.kernel = std::move(kernel);
  m.hypervisor = "KVM";
  m.tsc_hz = tsc_hz;
  m.core_hz = core_hz;
  m.core_hz_source = "calibrated";
  return m;
}

// Results of a run started 2024-05-01T12:00:00Z on kvm_amd_machine(...) with
// THP madvise (enabled and defrag); no cases yet.
inline Results kvm_amd_run(std::string cpu_model, std::string kernel, double tsc_hz, double core_hz) {
  Results r;
  r.started_at = "2024-05-01T12:00:00Z";
  r.machine = kvm_amd_machine(std::move(cpu_model), std::move(kernel), tsc_hz, core_hz);
  r.machine.thp_enabled = "madvise";
  r.machine.thp_defrag = "madvise";
  return r;
}

}  // namespace memprobe::analysis::testing
