// The interleaved k-chain chase. One noinline instance per k so the k chain
// pointers live in registers and each loop iteration is k independent
// `mov (%rX),%rX`; tests/core_bandwidth_kernels_test.cc checks k = 8.
#include "core/mlp_chase.h"

#include <array>
#include <utility>

namespace memprobe::core {

// Named (not anonymous) so the instances have stable symbols for objdump:
// memprobe::core::mlp_chase_loop<8ul>(void**, unsigned long).
template <std::size_t K>
[[gnu::noinline]] void mlp_chase_loop(void** heads, std::size_t steps);

namespace {

// As core/chase.cc: volatile on the loaded location keeps `p` in a register.
[[gnu::always_inline]] inline void* load_next(void* p) { return *static_cast<void* const volatile*>(p); }

template <std::size_t... I>
[[gnu::always_inline]] inline void step_all(std::array<void*, sizeof...(I)>& p, std::index_sequence<I...>) {
  ((p[I] = load_next(p[I])), ...);
}

template <std::size_t... I>
[[gnu::always_inline]] inline bool dispatch(void** heads, std::size_t k, std::size_t steps,
                                            std::index_sequence<I...>) {
  bool done = false;
  ((k == I + 1 ? (mlp_chase_loop<I + 1>(heads, steps), done = true) : false), ...);
  return done;
}

}  // namespace

template <std::size_t K>
[[gnu::noinline]] void mlp_chase_loop(void** heads, std::size_t steps) {
  std::array<void*, K> p;
  for (std::size_t i = 0; i < K; ++i) p[i] = heads[i];
  // No unrolling: clang would otherwise unroll and rotate registers, so a
  // chain would no longer be one register (the disassembly test's check).
#if defined(__clang__)
#pragma clang loop unroll(disable)
#elif defined(__GNUC__)
#pragma GCC unroll 1
#endif
  for (std::size_t s = steps; s != 0; --s) step_all(p, std::make_index_sequence<K>{});
  for (std::size_t i = 0; i < K; ++i) heads[i] = p[i];
}

extern "C" [[gnu::noinline]] bool memprobe_chase_k(void** heads, std::size_t k, std::size_t steps) {
  return dispatch(heads, k, steps, std::make_index_sequence<kMaxChaseChains>{});
}

}  // namespace memprobe::core
