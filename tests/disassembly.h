// objdump's listing of one function of the running test binary, for the
// tests that check the timed kernels' machine code (core_chase_test,
// core_bandwidth_kernels_test) on x86-64 and AArch64.
#pragma once

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <regex>
#include <string>
#include <vector>

namespace memprobe::testing {

struct Instruction {
  std::uint64_t address = 0;
  std::string mnemonic;  // "mov", "ldr", "b.ne"
  std::string operands;  // "(%rax),%rax", "x0, [x0]"
};

struct Disassembly {
  std::optional<std::string> skip_reason;  // objdump missing
  std::vector<Instruction> instructions;
  std::string raw;
};

inline std::string self_path() {
  // Resolve here: inside popen's shell /proc/self would be the shell (or
  // objdump). Under qemu-user the emulator answers with the guest binary.
  std::vector<char> path(4096);
  const ssize_t n = ::readlink("/proc/self/exe", path.data(), path.size() - 1);
  if (n <= 0) return {};
  return std::string(path.data(), static_cast<std::size_t>(n));
}

inline bool command_exists(const std::string& tool) {
  return std::system(("command -v " + tool + " >/dev/null 2>&1").c_str()) == 0;
}

// An objdump that reads this binary's architecture: an AArch64 binary run
// under qemu-user on an x86-64 host needs the cross binutils' objdump (the
// host's own objdump cannot decode it); on an Arm machine plain objdump does.
inline std::optional<std::string> objdump_for_this_binary() {
#if defined(__aarch64__)
  if (command_exists("aarch64-linux-gnu-objdump")) return "aarch64-linux-gnu-objdump";
#endif
  if (command_exists("objdump")) return "objdump";
  return std::nullopt;
}

// The instructions of `symbol` (mangled or extern "C") in this binary.
inline Disassembly disassemble(const std::string& symbol) {
  Disassembly out;
  const std::string exe = self_path();
  if (exe.empty()) {
    out.skip_reason = "cannot resolve /proc/self/exe";
    return out;
  }
  const auto objdump = objdump_for_this_binary();
  if (!objdump) {
    out.skip_reason = "objdump is not installed (Debian package binutils"
#if defined(__aarch64__)
                      ", or binutils-aarch64-linux-gnu on an x86-64 host"
#endif
                      "); kernel disassembly not checked";
    return out;
  }
  const std::string command =
      *objdump + " -d --no-show-raw-insn --disassemble=" + symbol + " '" + exe + "' 2>&1";
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(::popen(command.c_str(), "r"), ::pclose);
  if (!pipe) {
    out.skip_reason = "cannot run " + *objdump;
    return out;
  }
  char line[1024];
  // "  4011f0:\tmov    (%rax),%rax" / "  4011f0:\tldr\tx0, [x0]"
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

// A conditional or unconditional branch: x86 j*, AArch64 b, b.<cond>, cbz,
// cbnz, tbz, tbnz.
inline bool is_branch(const Instruction& ins) {
  static const std::regex kBranch(R"(^(j[a-z]+|b|b\.[a-z]+|cbn?z|tbn?z)$)");
  return std::regex_match(ins.mnemonic, kBranch);
}

// The loop body: from the target of the last backward branch to that branch.
inline std::vector<Instruction> loop_body(const std::vector<Instruction>& code) {
  static const std::regex kTarget(R"(\b([0-9a-f]+) <)");
  for (std::size_t i = code.size(); i-- > 0;) {
    if (!is_branch(code[i])) continue;
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

// Counter update and exit test: register-only arithmetic on one counter.
inline bool is_loop_control(const Instruction& ins) {
  static const std::regex kControl(R"(^(sub|add|dec|inc|cmp|test)[lqs]?$)");
  return is_branch(ins) || (std::regex_match(ins.mnemonic, kControl) &&
                            ins.operands.find('(') == std::string::npos &&
                            ins.operands.find('[') == std::string::npos);
}

inline std::string listing(const std::vector<Instruction>& body) {
  std::string text;
  for (const Instruction& ins : body) text += ins.mnemonic + " " + ins.operands + "\n";
  return text;
}

}  // namespace memprobe::testing
