// core::Machine (what was read off this machine) -> analysis::MachineInfo
// (what the results file records).
#pragma once

#include "analysis/results.h"
#include "core/machine.h"

namespace memprobe::harness {

analysis::MachineInfo to_machine_info(const core::Machine& machine);

}  // namespace memprobe::harness
