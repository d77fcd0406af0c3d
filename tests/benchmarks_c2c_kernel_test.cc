// The c2c family's timed loops (benchmarks/c2c_kernel.h): they hand the
// sequence number back and forth to the end, and their machine code is the
// bare loop the family's comment claims (no fence, no locked instruction, no
// call). Two threads, not pinned: holds on one CPU too, only slower.
#include "benchmarks/c2c_kernel.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <regex>
#include <thread>

#include "tests/disassembly.h"

namespace memprobe {
namespace {

TEST(C2cKernelTest, PingPongEndsOnTheLastSequenceNumber) {
  alignas(128) std::atomic<std::uint64_t> line{100};
  constexpr std::uint64_t kTrips = 1000;
  std::thread pong([&] { memprobe_c2c_pong(&line, 100, kTrips); });
  memprobe_c2c_ping(&line, 100, kTrips);
  pong.join();
  EXPECT_EQ(line.load(), 100 + 2 * kTrips);
  // Zero round trips return at once.
  memprobe_c2c_ping(&line, 0, 0);
  memprobe_c2c_pong(&line, 0, 0);
}

void expect_bare_loop(const char* symbol) {
  const testing::Disassembly d = testing::disassemble(symbol);
  if (d.skip_reason) GTEST_SKIP() << *d.skip_reason;
  ASSERT_FALSE(d.instructions.empty()) << symbol << ":\n" << d.raw;
  bool stores = false;
  for (const testing::Instruction& i : d.instructions) {
    EXPECT_EQ(i.mnemonic.find("lock"), std::string::npos) << symbol << ": " << i.mnemonic << "\n" << d.raw;
    EXPECT_NE(i.mnemonic, "mfence") << d.raw;
    // xchg with memory is implicitly locked; register-to-register
    // (clang's two-byte padding nop "xchg %ax,%ax") is not.
    if (i.mnemonic == "xchg") {
      EXPECT_EQ(i.operands.find('('), std::string::npos) << d.raw;
    }
    EXPECT_EQ(i.mnemonic.rfind("call", 0), std::string::npos) << d.raw;
#if defined(__x86_64__)
    if (i.mnemonic == "mov" && std::regex_search(i.operands, std::regex(",\\(%r[a-z0-9]+\\)$"))) stores = true;
#elif defined(__aarch64__)
    if (i.mnemonic == "stlr" || i.mnemonic == "str") stores = true;
#endif
  }
#if defined(__x86_64__) || defined(__aarch64__)
  EXPECT_TRUE(stores) << symbol << ": a store to the line\n" << d.raw;
#endif
}

TEST(C2cKernelTest, PingIsABareLoop) { expect_bare_loop("memprobe_c2c_ping"); }
TEST(C2cKernelTest, PongIsABareLoop) { expect_bare_loop("memprobe_c2c_pong"); }

}  // namespace
}  // namespace memprobe
