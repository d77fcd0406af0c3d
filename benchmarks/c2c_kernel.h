// The c2c family's timed loops (benchmarks/c2c.cc), extern "C" so tests find
// them by name in the disassembly (tests/benchmarks_c2c_kernel_test.cc).
#pragma once

#include <atomic>
#include <cstdint>

// CPU a's side: for n = from, from + 2, ... (round_trips of them): stores
// n + 1 (release), then spins until the line holds n + 2 (acquire).
extern "C" void memprobe_c2c_ping(std::atomic<std::uint64_t>* line, std::uint64_t from, std::uint64_t round_trips);
// CPU b's side: spins until the line holds n + 1 (acquire), stores n + 2 (release).
extern "C" void memprobe_c2c_pong(std::atomic<std::uint64_t>* line, std::uint64_t from, std::uint64_t round_trips);
