// The timed kernels. core/CMakeLists.txt compiles this file at -O2 whatever the
// build type, and tests/core_chase_test.cc checks the loops' disassembly.
#include "core/chase.h"

#include <utility>

namespace memprobe::core {
namespace {

// One step: the volatile qualifier is on the loaded location, not on the local
// pointer, so `p` stays in a register and each step is one `mov (%reg),%reg`
// whose address is the previous load's result.
[[gnu::always_inline]] inline void* load_next(void* p) {
  return *static_cast<void* const volatile*>(p);
}

// kChaseUnroll steps, unrolled by a fold expression rather than a pragma so the
// count does not depend on the compiler's unrolling heuristics.
template <std::size_t... I>
[[gnu::always_inline]] inline void* chase_block(void* p, std::index_sequence<I...>) {
  ((static_cast<void>(I), p = load_next(p)), ...);
  return p;
}

}  // namespace

extern "C" [[gnu::noinline]] void* memprobe_chase(void* start, std::size_t steps) {
  void* p = start;
  // Steps are rounded up to whole blocks: the loop has no remainder code.
  for (std::size_t blocks = steps / kChaseUnroll + (steps % kChaseUnroll != 0); blocks != 0; --blocks) {
    p = chase_block(p, std::make_index_sequence<kChaseUnroll>{});
  }
  return p;
}

// Adds of a register to a register: some cores run a dependent add of an
// immediate faster than one per cycle (uarch-bench's add_calibration notes),
// so the increment lives in a register the compiler cannot fold. Each
// iteration runs 4 adds; `adds` is rounded up to a multiple of 4, and each add
// adds 1, so the result is the number of adds run.
extern "C" [[gnu::noinline]] std::uint64_t memprobe_add_chain(std::uint64_t adds) {
  std::uint64_t sum = 0;
  std::uint64_t one = 1;
#if defined(__GNUC__)
  // Hide the value of `one` so the generic path cannot fold the adds either.
  asm("" : "+r"(one));
#endif
  for (std::uint64_t iterations = adds / 4 + (adds % 4 != 0); iterations != 0; --iterations) {
#if defined(__x86_64__)
    asm volatile(
        "add %1, %0\n\t"
        "add %1, %0\n\t"
        "add %1, %0\n\t"
        "add %1, %0"
        : "+r"(sum)
        : "r"(one));
#elif defined(__aarch64__)
    asm volatile(
        "add %0, %0, %1\n\t"
        "add %0, %0, %1\n\t"
        "add %0, %0, %1\n\t"
        "add %0, %0, %1"
        : "+r"(sum)
        : "r"(one));
#else
#error "memprobe supports x86-64 and AArch64 only: write the dependent-add chain for this architecture"
#endif
  }
  return sum;
}

}  // namespace memprobe::core
