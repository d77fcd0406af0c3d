// Whether the tests run under an instruction-set emulator (qemu-user, as
// scripts/build-aarch64.sh runs the AArch64 build), for the few tests whose
// meaning needs real hardware timing or a kernel feature qemu-user does not
// pass through: those skip there, with the reason.
#pragma once

#include <cstdlib>
#include <fstream>
#include <optional>
#include <string>

namespace memprobe::testing {

// Why timing is not the hardware's here, or nullopt on real hardware.
// Two independent signs: the variable scripts/build-aarch64.sh sets
// (MEMPROBE_UNDER_EMULATION=qemu-user), and /proc/cpuinfo describing another
// architecture than this binary's (qemu-user passes the host's file through).
inline std::optional<std::string> emulation_reason() {
  if (const char* emulator = std::getenv("MEMPROBE_UNDER_EMULATION"); emulator != nullptr && *emulator != '\0') {
    return std::string("running under emulation (MEMPROBE_UNDER_EMULATION=") + emulator + ")";
  }
#if defined(__aarch64__)
  // An Arm kernel's /proc/cpuinfo has "CPU implementer"; an x86 host's has "vendor_id".
  std::ifstream cpuinfo("/proc/cpuinfo");
  for (std::string line; std::getline(cpuinfo, line);) {
    if (line.rfind("vendor_id", 0) == 0) {
      return std::string("running under emulation (an AArch64 binary on a CPU whose /proc/cpuinfo says '") + line +
             "')";
    }
  }
#endif
  return std::nullopt;
}

}  // namespace memprobe::testing

// Skips the current test when emulated, saying why the emulator cannot
// answer it: only for hardware timing (a latency, noise under load) or a
// kernel feature qemu-user does not pass through.
#define MEMPROBE_SKIP_IF_EMULATED(why)                                          \
  do {                                                                          \
    if (const auto memprobe_emulated = ::memprobe::testing::emulation_reason()) \
      GTEST_SKIP() << *memprobe_emulated << ": " << (why);                      \
  } while (false)
