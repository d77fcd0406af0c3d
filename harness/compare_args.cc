// `memprobe compare`'s argument split (A files -- B files): parsing only, so
// the command-line fuzzer (tests/fuzz/fuzz_cli.cc) runs it without acting.
#include <fmt/format.h>

#include <string_view>

#include "harness/fleet_compare.h"
#include "harness/plan.h"

namespace memprobe::harness {

std::optional<std::vector<std::string>> take_compare_b_files(int& argc, char** argv) {
  if (argc < 2 || std::string_view(argv[1]) != "compare") return std::nullopt;
  for (int i = 2; i < argc; ++i) {
    if (std::string_view(argv[i]) != "--") continue;
    std::vector<std::string> b_files(argv + i + 1, argv + argc);
    argc = i;
    return b_files;
  }
  return std::nullopt;
}

void split_compare_sides(const std::vector<std::string>& files, const std::optional<std::vector<std::string>>& b_files,
                         CompareCommand& command) {
  if (!b_files) {
    if (files.size() != 2)
      throw UsageError(fmt::format("compare: {} files given; two (A B), or several per side: A1 A2 -- B1 B2",
                                   files.size()));
    command.a_files = {files[0]};
    command.b_files = {files[1]};
    return;
  }
  if (files.empty() || b_files->empty())
    throw UsageError("compare: each side needs at least one file: A1 [A2 ...] -- B1 [B2 ...] (options before --)");
  command.a_files = files;
  command.b_files = *b_files;
}

}  // namespace memprobe::harness
