// The man pages and the bash completion memprobe_docgen writes at build time
// (build/man, build/completion) against the CLI11 app they come from: every
// subcommand and every flag is in its page and in the completion, the pages
// render without groff warnings, and the completion completes.
#include <gtest/gtest.h>

#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include "benchmarks/family.h"
#include "command_runner.h"
#include "core/buffer.h"
#include "harness/cli.h"

namespace {

using memprobe::testing::run_command_line;
using memprobe::testing::slurp;

#ifdef MEMPROBE_MAN_DIR
const std::filesystem::path kManDir = MEMPROBE_MAN_DIR;
const std::filesystem::path kCompletion = MEMPROBE_COMPLETION;
#endif

// "--max-working-set" as a man page writes it: "\-\-max\-working\-set".
std::string roff_name(const std::string& name) {
  std::string out;
  for (const char c : name) out += c == '-' ? std::string("\\-") : std::string(1, c);
  return out;
}

struct Cli {
  CLI::App app{std::string(memprobe::harness::kAppDescription), "memprobe"};
  memprobe::harness::CliArgs args;
  Cli() { memprobe::harness::build_cli(app, args); }
  std::vector<const CLI::App*> subcommands() const {
    return app.get_subcommands([](const CLI::App*) { return true; });
  }
};

bool docs_generated() {
#ifdef MEMPROBE_MAN_DIR
  return std::filesystem::exists(kManDir / "memprobe.1") && std::filesystem::exists(kCompletion);
#else
  return false;
#endif
}

#define SKIP_WITHOUT_DOCS()                                                                              \
  do {                                                                                                   \
    if (!docs_generated()) GTEST_SKIP() << "no generated man pages (a cross build without an emulator)"; \
  } while (false)

// `word` as a whole word of a bash word list ("a b c") or a case pattern.
bool has_word(const std::string& text, const std::string& word) {
  const auto boundary = [](char c) { return c == ' ' || c == '"' || c == '\n' || c == ')'; };
  for (auto at = text.find(word); at != std::string::npos; at = text.find(word, at + 1)) {
    const bool starts = at == 0 || boundary(text[at - 1]);
    const bool ends = at + word.size() == text.size() || boundary(text[at + word.size()]);
    if (starts && ends) return true;
  }
  return false;
}

// The completion's branch for one subcommand: from "    name)" to its ";;".
std::string completion_branch(const std::string& completion, const std::string& name) {
  const auto start = completion.find("\n    " + name + ")\n");
  if (start == std::string::npos) return "";
  const auto end = completion.find("\n      ;;\n", start);
  return completion.substr(start, end == std::string::npos ? std::string::npos : end - start);
}

std::string complete(const std::string& words) {
  const std::string script = "source '" + kCompletion.string() + "'; COMP_WORDS=(" + words +
                             "); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); _memprobe; for w in \"${COMPREPLY[@]}\"; do printf '%s\\n' \"$w\"; done";
  const auto result = run_command_line("bash -c '" + [&] {
    std::string quoted;
    for (const char c : script) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return quoted;
  }() + "'");
  EXPECT_EQ(result.exit_status, 0) << result.err;
  return result.out;
}

TEST(ManPageTest, EverySubcommandAndFlagIsInItsPageAndTheCompletion) {
  SKIP_WITHOUT_DOCS();
  Cli cli;
  const std::string completion = slurp(kCompletion);
  const std::string main_page = slurp(kManDir / "memprobe.1");
  ASSERT_EQ(cli.subcommands().size(), 7u);
  for (const CLI::App* sub : cli.subcommands()) {
    const std::string name = sub->get_name();
    const auto page_path = kManDir / ("memprobe-" + name + ".1");
    ASSERT_TRUE(std::filesystem::exists(page_path)) << page_path;
    const std::string page = slurp(page_path);
    EXPECT_NE(main_page.find("memprobe\\-" + name), std::string::npos) << name << " not in memprobe(1)";
    EXPECT_NE(page.find(".SH NAME\nmemprobe\\-" + name + " \\-"), std::string::npos) << page;
    for (const char* section : {".SH SYNOPSIS", ".SH DESCRIPTION", ".SH OPTIONS", ".SH FILES", ".SH EXIT STATUS",
                                ".SH EXAMPLES", ".SH SEE ALSO"}) {
      EXPECT_NE(page.find(section), std::string::npos) << name << " lacks " << section;
    }
    const std::string branch = completion_branch(completion, name);
    EXPECT_FALSE(branch.empty()) << "no completion branch for " << name;
    for (const CLI::Option* opt : sub->get_options()) {
      if (opt->get_positional()) {
        EXPECT_NE(page.find(opt->get_name()), std::string::npos) << name << ": " << opt->get_name();
        continue;
      }
      for (const std::string& l : opt->get_lnames()) {
        EXPECT_NE(page.find("\\fB" + roff_name("--" + l) + "\\fR"), std::string::npos)
            << "--" << l << " of " << name << " is not in " << page_path;
        EXPECT_TRUE(has_word(branch, "--" + l))
            << "--" << l << " of " << name << " is not in the completion";
      }
      for (const std::string& s : opt->get_snames()) {
        EXPECT_NE(page.find("\\fB\\-" + s + "\\fR"), std::string::npos) << "-" << s << " of " << name;
        EXPECT_TRUE(has_word(branch, "-" + s)) << "-" << s << " of " << name;
      }
    }
  }
  for (const CLI::Option* opt : cli.app.get_options()) {
    for (const std::string& l : opt->get_lnames()) {
      EXPECT_NE(main_page.find(roff_name("--" + l)), std::string::npos) << "--" << l;
      EXPECT_TRUE(has_word(completion, "--" + l)) << "--" << l;
    }
  }
  // bench is no CLI11 subcommand: its page and completion branch all the same.
  EXPECT_TRUE(std::filesystem::exists(kManDir / "memprobe-bench.1"));
  EXPECT_NE(completion.find("\n    bench)\n"), std::string::npos);
  // Installed gzip'd (harness/CMakeLists.txt).
  EXPECT_TRUE(std::filesystem::exists(kManDir / "memprobe-run.1.gz"));
}

TEST(ManPageTest, CompletionKnowsEveryFamilyAndPagePolicy) {
  SKIP_WITHOUT_DOCS();
  const std::string completion = slurp(kCompletion);
  for (const auto& family : memprobe::bench::families()) {
    EXPECT_TRUE(has_word(completion, std::string(family.name))) << family.name;
  }
  for (const std::string& value : memprobe::harness::page_values()) {
    EXPECT_TRUE(memprobe::core::parse_page_policy(value).has_value()) << value;
    EXPECT_TRUE(has_word(completion, value)) << value;
  }
}

TEST(ManPageTest, PagesRenderWithoutWarnings) {
  SKIP_WITHOUT_DOCS();
  if (run_command_line("command -v man").exit_status != 0) GTEST_SKIP() << "man (man-db) is not installed";
  for (const auto& entry : std::filesystem::directory_iterator(kManDir)) {
    if (entry.path().extension() != ".1") continue;
    const auto result =
        run_command_line("MANWIDTH=80 man -l --warnings '" + entry.path().string() + "'");
    EXPECT_EQ(result.exit_status, 0) << entry.path();
    EXPECT_EQ(result.err, "") << entry.path();
    EXPECT_NE(result.out.find("EXIT STATUS"), std::string::npos) << entry.path();
  }
}

TEST(ManPageTest, BashCompletesSubcommandsFlagsFamiliesAndPages) {
  SKIP_WITHOUT_DOCS();
  if (run_command_line("command -v bash").exit_status != 0) GTEST_SKIP() << "no bash";
  EXPECT_EQ(complete("memprobe ru"), "run\n");
  const std::string subcommands = complete("memprobe ''");
  for (const char* sub : {"run", "report", "compare", "fleet", "check", "list", "counters", "bench"})
    EXPECT_NE(subcommands.find(std::string(sub) + "\n"), std::string::npos) << sub;
  const std::string flags = complete("memprobe run --o");
  EXPECT_NE(flags.find("--only\n"), std::string::npos) << flags;
  EXPECT_NE(flags.find("--out\n"), std::string::npos) << flags;
  const std::string families = complete("memprobe run --only l");
  EXPECT_NE(families.find("latency\n"), std::string::npos) << families;
  std::istringstream lines(families);
  for (std::string line; std::getline(lines, line);) EXPECT_EQ(line.front(), 'l') << families;
  EXPECT_NE(complete("memprobe run --only latency,t").find("latency,tlb\n"), std::string::npos);
  EXPECT_NE(complete("memprobe run --quick --pages 4k,2").find("4k,2m\n"), std::string::npos);
  EXPECT_EQ(complete("memprobe fleet --fail-on-o"), "--fail-on-outlier\n");
  // After a flag without a value, the flags again; after a value option, no flags.
  EXPECT_NE(complete("memprobe run --quick --p").find("--pages\n"), std::string::npos);
  EXPECT_EQ(complete("memprobe run --cpu -"), "");
  // A file argument completes files.
  EXPECT_NE(complete("memprobe report '" + kManDir.string() + "/memprobe-ru'").find("memprobe-run.1"),
            std::string::npos);
}

}  // namespace
