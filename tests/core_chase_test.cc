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
#include <vector>

#include "core/chain.h"
#include "core/units.h"
#include "tests/aligned_bytes.h"

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

struct Instruction {
  std::uint64_t address = 0;
  std::string mnemonic;
  std::string operands;
};

struct Disassembly {
  std::optional<std::string> skip_reason;  // objdump missing
  std::vector<Instruction> instructions;
  std::string raw;
};

std::string self_path() {
  // Resolve here: inside popen's shell /proc/self would be the shell (or objdump).
  std::vector<char> path(4096);
  const ssize_t n = ::readlink("/proc/self/exe", path.data(), path.size() - 1);
  if (n <= 0) return {};
  return std::string(path.data(), static_cast<std::size_t>(n));
}

Disassembly disassemble(const std::string& symbol) {
  Disassembly out;
  const std::string exe = self_path();
  if (exe.empty()) {
    out.skip_reason = "cannot resolve /proc/self/exe";
    return out;
  }
  if (std::system("command -v objdump >/dev/null 2>&1") != 0) {
    out.skip_reason = "objdump is not installed (Debian package binutils); kernel disassembly not checked";
    return out;
  }
  const std::string command =
      "objdump -d --no-show-raw-insn --disassemble=" + symbol + " '" + exe + "' 2>&1";
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(::popen(command.c_str(), "r"), ::pclose);
  if (!pipe) {
    out.skip_reason = "cannot run objdump";
    return out;
  }
  char line[1024];
  // "  4011f0:\tmov    (%rax),%rax"
  static const std::regex kLine(R"(^\s*([0-9a-f]+):\s+([a-z][a-z0-9.]*)\s*(.*?)\s*$)");
  while (std::fgets(line, sizeof line, pipe.get()) != nullptr) {
    out.raw += line;
    std::string text(line);
    if (!text.empty() && text.back() == '\n') text.pop_back();
    std::smatch m;
    if (std::regex_match(text, m, kLine)) {
      out.instructions.push_back({std::stoull(m[1].str(), nullptr, 16), m[2].str(), m[3].str()});
    }
  }
  return out;
}

// The loop body: from the target of the last backward branch to that branch.
std::vector<Instruction> loop_body(const std::vector<Instruction>& code) {
  static const std::regex kTarget(R"(^([0-9a-f]+)\b)");
  for (std::size_t i = code.size(); i-- > 0;) {
    if (code[i].mnemonic.front() != 'j' && code[i].mnemonic != "b.ne" && code[i].mnemonic.rfind("cb", 0) != 0)
      continue;
    std::smatch m;
    if (!std::regex_search(code[i].operands, m, kTarget)) continue;
    const std::uint64_t target = std::stoull(m[1].str(), nullptr, 16);
    if (target > code[i].address) continue;
    std::vector<Instruction> body;
    for (const Instruction& ins : code) {
      if (ins.address >= target && ins.address <= code[i].address) body.push_back(ins);
    }
    return body;
  }
  return {};
}

bool is_branch(const Instruction& ins) { return ins.mnemonic.front() == 'j'; }

// Counter update and exit test: register-only arithmetic on one counter.
bool is_loop_control(const Instruction& ins) {
  static const std::regex kControl(R"(^(sub|add|dec|inc|cmp|test)[lq]?$)");
  return is_branch(ins) ||
         (std::regex_match(ins.mnemonic, kControl) && ins.operands.find('(') == std::string::npos);
}

std::string listing(const std::vector<Instruction>& body) {
  std::string text;
  for (const Instruction& ins : body) text += ins.mnemonic + " " + ins.operands + "\n";
  return text;
}

#if defined(__x86_64__)

TEST(ChaseDisassemblyTest, LoopIsOnlyDependentLoads) {
  const Disassembly d = disassemble("memprobe_chase");
  if (d.skip_reason) GTEST_SKIP() << *d.skip_reason;
  ASSERT_FALSE(d.instructions.empty()) << "memprobe_chase not found in the test binary:\n" << d.raw;
  const auto body = loop_body(d.instructions);
  ASSERT_FALSE(body.empty()) << "no loop found:\n" << d.raw;

  static const std::regex kLoad(R"(^\((%r[a-z0-9]+)\),(%r[a-z0-9]+)$)");
  std::size_t loads = 0;
  std::string chain_register;
  for (const Instruction& ins : body) {
    std::smatch m;
    if (ins.mnemonic == "mov" && std::regex_match(ins.operands, m, kLoad)) {
      EXPECT_EQ(m[1].str(), m[2].str()) << "load does not feed its own address: " << ins.operands;
      if (chain_register.empty()) chain_register = m[1].str();
      EXPECT_EQ(m[1].str(), chain_register) << "loads use more than one register";
      ++loads;
      continue;
    }
    EXPECT_TRUE(is_loop_control(ins)) << "unexpected instruction in the chase loop: " << ins.mnemonic << " "
                                      << ins.operands << "\n" << listing(body);
    EXPECT_EQ(ins.operands.find('('), std::string::npos) << "memory operand besides the chase loads";
  }
  EXPECT_EQ(loads, kChaseUnroll) << listing(body);
  EXPECT_LE(body.size() - loads, 3U) << "loop control is more than counter update + branch:\n" << listing(body);
}

TEST(AddChainDisassemblyTest, LoopIsRegisterAdds) {
  const Disassembly d = disassemble("memprobe_add_chain");
  if (d.skip_reason) GTEST_SKIP() << *d.skip_reason;
  ASSERT_FALSE(d.instructions.empty()) << "memprobe_add_chain not found in the test binary:\n" << d.raw;
  const auto body = loop_body(d.instructions);
  ASSERT_FALSE(body.empty()) << "no loop found:\n" << d.raw;

  static const std::regex kAdd(R"(^(%r[a-z0-9]+),(%r[a-z0-9]+)$)");
  std::size_t adds = 0;
  std::string sum_register;
  std::string increment_register;
  std::size_t other = 0;
  for (const Instruction& ins : body) {
    std::smatch m;
    if (ins.mnemonic.rfind("add", 0) == 0 && std::regex_match(ins.operands, m, kAdd) &&
        (sum_register.empty() || m[2].str() == sum_register)) {
      if (sum_register.empty()) {
        sum_register = m[2].str();
        increment_register = m[1].str();
      }
      EXPECT_EQ(m[1].str(), increment_register);
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

#endif  // defined(__x86_64__)

}  // namespace
}  // namespace memprobe::core
