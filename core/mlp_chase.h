// Memory-level parallelism kernel: k independent pointer chases interleaved
// in one loop, so up to k cache misses can be in flight at once.
#pragma once

#include <cstddef>

namespace memprobe::core {

inline constexpr std::size_t kMaxChaseChains = 32;

// Advances each of the k chains heads[0..k-1] exactly `steps` steps (one
// dependent load per chain per loop iteration, the k chains in registers)
// and writes the positions reached back to heads, so a caller can resume.
// k in 1..kMaxChaseChains; returns false (heads untouched) otherwise.
// Each k runs its own template instance core::mlp_chase_loop<k> (k > ~13
// spills some chain registers to the stack on x86-64).
extern "C" bool memprobe_chase_k(void** heads, std::size_t k, std::size_t steps);

}  // namespace memprobe::core
