#include "core/chase.h"

#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <new>
#include <optional>
#include <regex>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "core/chain.h"
#include "core/units.h"
#include "tests/aligned_bytes.h"
#include "tests/disassembly.h"

namespace memprobe::core {
namespace {

using Arena = memprobe::testing::AlignedBytes;

TEST(ChaseTest, ReturnsToHeadAfterWholeLaps) {
  constexpr std::size_t kNodes = 96;  // 3 x kChaseUnroll, so whole laps are whole blocks
  Arena arena(kNodes * 64);
  const Chain chain = build_random_cycle(arena.bytes(), 64, 17);
  for (std::size_t laps = 1; laps <= 5; ++laps) {
    EXPECT_EQ(memprobe_chase(chain.head, kNodes * laps), chain.head) << laps << " laps";
  }
  EXPECT_EQ(memprobe_chase(chain.head, 0), chain.head);
}

TEST(ChaseTest, StopsWhereTheWalkSaysAndRoundsStepsUp) {
  constexpr std::size_t kNodes = 1000;
  Arena arena(kNodes * 64);
  const Chain chain = build_random_cycle(arena.bytes(), 64, 23);
  const auto order = walk_chain(chain.head, kNodes);
  ASSERT_EQ(order.size(), kNodes);
  EXPECT_EQ(memprobe_chase(chain.head, 64), order[64]);
  EXPECT_EQ(memprobe_chase(chain.head, 1), order[kChaseUnroll]);  // one whole block
  EXPECT_EQ(memprobe_chase(chain.head, kChaseUnroll + 1), order[2 * kChaseUnroll]);
  // Resuming from where it stopped continues the same walk.
  void* mid = memprobe_chase(chain.head, 320);
  EXPECT_EQ(memprobe_chase(mid, 320), order[640]);
}

TEST(AddChainTest, ReturnsTheNumberOfAdds) {
  EXPECT_EQ(memprobe_add_chain(0), 0U);
  EXPECT_EQ(memprobe_add_chain(4), 4U);
  EXPECT_EQ(memprobe_add_chain(1'000'000), 1'000'000U);
  EXPECT_EQ(memprobe_add_chain(6), 8U);  // rounded up to whole iterations of 4
}

// ---- Disassembly checks: the compiled loops are what the method needs ----

using memprobe::testing::disassemble;
using memprobe::testing::Instruction;
using memprobe::testing::is_branch;
using memprobe::testing::is_loop_control;
using memprobe::testing::listing;
using memprobe::testing::loop_body;

// One chase step: a 64-bit load whose address register is its destination.
// x86-64 `mov (%rX),%rX`; AArch64 `ldr xN, [xN]`. Both groups must be equal.
#if defined(__x86_64__)
constexpr const char* kLoadMnemonic = "mov";
const std::regex kSelfLoad(R"(^\((%r[a-z0-9]+)\),(%r[a-z0-9]+)$)");
#elif defined(__aarch64__)
constexpr const char* kLoadMnemonic = "ldr";
const std::regex kSelfLoad(R"(^(x[0-9]+), \[(x[0-9]+)\]$)");
#endif

bool has_memory_operand(const Instruction& ins) {
  return ins.operands.find('(') != std::string::npos || ins.operands.find('[') != std::string::npos;
}

// A register-to-register add: {sum register, increment register}.
// x86-64 `add %rI,%rS`; AArch64 `add xS, xS, xI` (the sum is both source and destination).
std::optional<std::pair<std::string, std::string>> register_add(const Instruction& ins) {
  if (ins.mnemonic.rfind("add", 0) != 0) return std::nullopt;
  std::smatch m;
#if defined(__x86_64__)
  static const std::regex kAdd(R"(^(%r[a-z0-9]+),(%r[a-z0-9]+)$)");
  if (std::regex_match(ins.operands, m, kAdd)) return std::pair{m[2].str(), m[1].str()};
#elif defined(__aarch64__)
  static const std::regex kAdd(R"(^(x[0-9]+), (x[0-9]+), (x[0-9]+)$)");
  if (std::regex_match(ins.operands, m, kAdd) && m[1].str() == m[2].str()) return std::pair{m[1].str(), m[3].str()};
#endif
  return std::nullopt;
}

// The loop of `function` in the test binary's disassembly; left empty when
// the test is skipped (no objdump) or failed (no such function, no loop).
void disassembled_loop(const std::string& function, std::vector<Instruction>& body) {
  const auto d = disassemble(function);
  if (d.skip_reason) GTEST_SKIP() << *d.skip_reason;
  ASSERT_FALSE(d.instructions.empty()) << function << " not found in the test binary:\n" << d.raw;
  body = loop_body(d.instructions);
  ASSERT_FALSE(body.empty()) << "no loop found:\n" << d.raw;
}

// disassembled_loop as a value: empty when the test is skipped or failed.
std::vector<Instruction> loop_of(const std::string& function) {
  std::vector<Instruction> body;
  disassembled_loop(function, body);
  return body;
}

TEST(ChaseDisassemblyTest, LoopIsOnlyDependentLoads) {
  const std::vector<Instruction> body = loop_of("memprobe_chase");
  if (body.empty()) return;

  std::size_t loads = 0;
  std::string chain_register;
  for (const Instruction& ins : body) {
    std::smatch m;
    if (ins.mnemonic == kLoadMnemonic && std::regex_match(ins.operands, m, kSelfLoad)) {
      EXPECT_EQ(m[1].str(), m[2].str()) << "load does not feed its own address: " << ins.operands;
      if (chain_register.empty()) chain_register = m[1].str();
      EXPECT_EQ(m[1].str(), chain_register) << "loads use more than one register";
      ++loads;
      continue;
    }
    EXPECT_TRUE(is_loop_control(ins)) << "unexpected instruction in the chase loop: " << ins.mnemonic << " "
                                      << ins.operands << "\n" << listing(body);
    EXPECT_FALSE(has_memory_operand(ins)) << "memory operand besides the chase loads";
  }
  EXPECT_EQ(loads, kChaseUnroll) << listing(body);
  EXPECT_LE(body.size() - loads, 3U) << "loop control is more than counter update + branch:\n" << listing(body);
}

TEST(AddChainDisassemblyTest, LoopIsRegisterAdds) {
  const std::vector<Instruction> body = loop_of("memprobe_add_chain");
  if (body.empty()) return;

  std::size_t adds = 0;
  std::string sum_register;
  std::string increment_register;
  std::size_t other = 0;
  for (const Instruction& ins : body) {
    const auto add = register_add(ins);
    if (add && (sum_register.empty() || add->first == sum_register)) {
      if (sum_register.empty()) std::tie(sum_register, increment_register) = *add;
      EXPECT_EQ(add->second, increment_register);
      ++adds;
      continue;
    }
    ++other;
    EXPECT_TRUE(is_loop_control(ins)) << "unexpected instruction in the add loop: " << ins.mnemonic << " "
                                      << ins.operands << "\n" << listing(body);
    if (!is_branch(ins)) {
      EXPECT_EQ(ins.operands.find(sum_register), std::string::npos) << "loop control touches the sum register";
    }
  }
  EXPECT_EQ(adds, 4U) << "expected 4 dependent register adds:\n" << listing(body);
  EXPECT_NE(sum_register, increment_register);
  EXPECT_LE(other, 3U) << listing(body);
}

}  // namespace
}  // namespace memprobe::core
