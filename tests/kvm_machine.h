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

}  // namespace memprobe::analysis::testing
