// The timed kernels, in their own translation unit so their code does not
// depend on the caller and tests can disassemble them by symbol name.
#pragma once

#include <cstddef>
#include <cstdint>

namespace memprobe::core {

// Loads per iteration of the chase loop; steps are rounded up to a multiple.
inline constexpr std::size_t kChaseUnroll = 32;

// Follows next-pointers `steps` times from `start` (one dependent load per
// step) and returns where it stopped, so the caller can resume the chain.
extern "C" void* memprobe_chase(void* start, std::size_t steps);

// Dependent register adds, one per core cycle on every x86-64 and AArch64 core
// memprobe targets: runs `adds` adds (multiple of 4) and returns the sum so
// the work is not removed. Used to calibrate the core clock without a PMU.
extern "C" std::uint64_t memprobe_add_chain(std::uint64_t adds);

}  // namespace memprobe::core
