// The c2c family's timed loops (benchmarks/c2c_kernel.h), out of line and
// extern "C" so the disassembly can be read by name; a file of their own so
// sanitizer builds leave them uninstrumented (benchmarks/CMakeLists.txt) and
// their disassembly test still sees the bare loops.
//
// Disassembly (GCC 12, RelWithDebInfo -O2, x86-64; objdump -d
// --no-show-raw-insn --disassemble=memprobe_c2c_ping build/harness/memprobe),
// the whole timed loops:
//   ping: top:  lea 0x1(%rsi),%rax ; mov %rax,(%rdi)      store n + 1 (release = plain mov on x86-TSO)
//               lea 0x2(%rsi),%rax
//         spin: mov (%rdi),%rsi ; cmp %rax,%rsi ; jne spin  acquire load = plain mov
//               cmp %rax,%rdx ; jne top                  (the answer n + 2 is the next n)
//   pong: spin: mov (%rdi),%rax ; cmp %rdx,%rax ; jne spin
//               lea 0x1(%rdx),%rax ; add $0x2,%rdx ; mov %rax,(%rdi) ; cmp %rcx,%rax ; jne spin
// No fences, no locked instructions, no calls inside the loops: the only
// memory traffic is the one line moving between the two cores (and each
// spinning load, which hits the local copy until the other side's store
// invalidates it). No pause in the spin: it would add its own latency
// (tens of cycles on Zen, ~140 on Skylake-SP) to every observed hand-off.
#include "benchmarks/c2c_kernel.h"

extern "C" __attribute__((noinline)) void memprobe_c2c_ping(std::atomic<std::uint64_t>* line, std::uint64_t from,
                                                          std::uint64_t round_trips) {
  const std::uint64_t end = from + 2 * round_trips;
  for (std::uint64_t n = from; n != end; n += 2) {
    line->store(n + 1, std::memory_order_release);
    while (line->load(std::memory_order_acquire) != n + 2) {
    }
  }
}

extern "C" __attribute__((noinline)) void memprobe_c2c_pong(std::atomic<std::uint64_t>* line, std::uint64_t from,
                                                          std::uint64_t round_trips) {
  const std::uint64_t end = from + 2 * round_trips;
  for (std::uint64_t n = from; n != end; n += 2) {
    while (line->load(std::memory_order_acquire) != n + 1) {
    }
    line->store(n + 2, std::memory_order_release);
  }
}
