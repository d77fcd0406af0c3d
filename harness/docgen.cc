// memprobe_docgen: writes memprobe's man pages (memprobe.1, memprobe-<sub>.1)
// and its bash completion from the CLI11 app harness/cli.cc builds, the one
// the memprobe binary parses with. Run at build time (harness/CMakeLists.txt);
// never installed.
//
// Why a walker of the CLI11 app rather than help2man over --help: help2man
// only reformats help text, so it cannot write the FILES, EXIT STATUS and
// EXAMPLES sections, a page per subcommand with its own synopsis, nor the
// completion script; walking the app gives every subcommand and flag from the
// same definitions the parser uses, so a new flag shows up in the pages and
// in the completion (tests/harness_manpage_test.cc fails otherwise).
//
//   memprobe_docgen MAN_DIR COMPLETION_FILE VERSION DATE
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <cctype>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "benchmarks/family.h"
#include "harness/cli.h"

namespace {

using memprobe::harness::kBenchDescription;
using memprobe::harness::kBenchSynopsis;

// Roff-escapes one text: backslashes and hyphens, and a leading '.' or '\''
// on any line (it would be read as a request).
std::string roff(std::string_view text) {
  std::string out;
  bool line_start = true;
  for (const char c : text) {
    if (line_start && (c == '.' || c == '\'')) out += "\\&";
    line_start = c == '\n';
    if (c == '\\') {
      out += "\\e";
    } else if (c == '-') {
      out += "\\-";
    } else {
      out += c;
    }
  }
  return out;
}

std::string upper(std::string text) {
  for (char& c : text) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return text;
}

// What CLI11 does not know about a subcommand: a longer description, the
// files it reads and writes, its exit statuses, examples.
struct Extra {
  std::string description;                                 // roff-escaped paragraphs are made from it
  std::vector<std::pair<std::string, std::string>> files;  // path, what
  std::vector<std::pair<std::string, std::string>> exits;  // status, meaning
  std::vector<std::pair<std::string, std::string>> examples;  // command, what it does
};

const std::vector<std::pair<std::string, std::string>> kCommonExits = {
    {"0", "success"},
    {"1", "a system failure: a file or standard output cannot be written, a measurement cannot run"},
    {"2", "bad input: an unknown subcommand or flag, a value out of range, a file that is not a memprobe "
          "results file (one line on standard error)"},
};

const std::pair<std::string, std::string> kSbatch = {
    "/usr/share/memprobe/memprobe.sbatch", "a Slurm batch script running memprobe on every node of an allocation"};
const std::pair<std::string, std::string> kDocs = {"/usr/share/doc/memprobe/",
                                                   "README.md and the documentation (docs/*.md in the source)"};
const std::pair<std::string, std::string> kResults = {
    "*.json", "results files (schema memprobe/1, see results-schema.md in /usr/share/doc/memprobe)"};

std::map<std::string, Extra> extras() {
  std::map<std::string, Extra> e;
  e["run"] = {
      "Pins itself to one CPU, fingerprints the machine, measures the families named by --only (all by "
      "default) and prints the machine header and the tables. With --out the results (every case and the "
      "derived figures) go to a JSON file that report, compare and fleet read later. Hugetlb pools grown "
      "by --reserve-hugepages are restored on exit and on SIGINT or SIGTERM.",
      {kResults,
       {"/run/memprobe/", "the hugetlb pool sizes to restore while a run has grown them (MEMPROBE_STATE_DIR "
                          "overrides the directory); memprobe check reports one left behind"},
       {"/sys/kernel/mm/hugepages/", "the hugetlb pools reserved and restored"},
       {"/proc/self/pagemap", "as root: physical addresses, evidence for the associativity probe"},
       kSbatch},
      {kCommonExits[0], kCommonExits[1], kCommonExits[2], {"130", "interrupted (SIGINT): the results measured "
                                                                  "so far are written and the pools restored"}},
      {{"memprobe run", "every family with the default page policies"},
       {"memprobe run --quick --out r.json", "a rough curve in a few seconds, kept in r.json"},
       {"memprobe run --only latency,tlb --pages 4k,thp,2m --reserve-hugepages 512",
        "latency and TLB on 4 KiB, THP and hugetlb 2 MiB pages (root grows the pool for the run)"}}};
  e["report"] = {"Prints the machine header and every table of a results file, derived again by today's "
                 "analysis; with --plot also writes the plots through gnuplot.",
                 {kResults},
                 kCommonExits,
                 {{"memprobe report r.json", "the tables as text"},
                  {"memprobe report --format markdown r.json", "the tables as markdown"},
                  {"memprobe report --plot plots r.json", "the tables, and SVG and PNG plots in plots/"}}};
  e["compare"] = {"Puts runs side by side: B/A per figure and case with a verdict (better, worse, within "
                  "noise). Several runs per side (A1 A2 -- B1 B2) give the noise of each side. With "
                  "--fail-on-regression it is a regression gate for CI.",
                  {kResults},
                  {kCommonExits[0], kCommonExits[1], kCommonExits[2],
                   {"3", "the regression gate failed: a figure of B is worse than A by more than "
                         "--fail-on-regression PCT and beyond noise"}},
                  {{"memprobe compare a.json b.json", "B/A and a verdict per figure"},
                   {"memprobe compare --fail-on-regression 5 a1.json a2.json -- b1.json b2.json",
                    "exit 3 when B is more than 5 % worse than A"},
                   {"memprobe compare --format junit --fail-on-regression 5 a.json b.json > gate.xml",
                    "the gate as JUnit XML"}}};
  e["fleet"] = {"Reads many results files (or directories of them), groups the runs by machine and flags "
                "the runs that stand out from their group.",
                {kResults, kSbatch},
                {kCommonExits[0], kCommonExits[1], kCommonExits[2],
                 {"3", "--fail-on-outlier was given and a run is flagged"}},
                {{"memprobe fleet results/", "every run in results/ in one table"},
                 {"memprobe fleet --fail-on-outlier --format csv results/", "CSV, exit 3 on an outlier"}}};
  e["check"] = {"Reports what the measurements depend on (transparent huge pages, the hugetlb pools, the "
                "PMU and perf_event_paranoid, frequency scaling, swap, a reservation left by a killed run) "
                "and how to fix what is off.",
                {{"/sys/kernel/mm/transparent_hugepage/", "THP settings"},
                 {"/sys/kernel/mm/hugepages/", "hugetlb pools"},
                 {"/proc/sys/kernel/perf_event_paranoid", "whether performance counters open"},
                 {"/run/memprobe/", "reservations left by a run that was killed"}},
                kCommonExits,
                {{"memprobe check", "the environment report"}}};
  e["list"] = {"Lists the benchmark families, the names --only takes.", {}, kCommonExits,
               {{"memprobe list", "the families and what each measures"}}};
  e["counters"] = {"Lists this machine's default performance events (libpfm4) and whether each opens.",
                   {{"/proc/sys/kernel/perf_event_paranoid", "whether performance counters open"}},
                   kCommonExits,
                   {{"memprobe counters", "the events run --counters defaults to"}}};
  return e;
}

void write_file(const std::filesystem::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
  out.close();
  if (!out) throw std::runtime_error("cannot write " + path.string());
}

std::string header(const std::string& page, const std::string& version, const std::string& date) {
  return fmt::format(".\\\" Generated by memprobe_docgen from memprobe's CLI11 definitions: do not edit.\n"
                     ".TH {} 1 \"{}\" \"memprobe {}\" \"User Commands\"\n.nh\n",
                     upper(roff(page)), roff(date), roff(version));
}

std::string section_files(const Extra& extra) {
  std::string text = ".SH FILES\n";
  if (extra.files.empty()) return text + "None.\n";
  for (const auto& [path, what] : extra.files) text += fmt::format(".TP\n.I {}\n{}\n", roff(path), roff(what));
  return text;
}

std::string section_exits(const Extra& extra) {
  std::string text = ".SH EXIT STATUS\n";
  for (const auto& [status, meaning] : extra.exits) text += fmt::format(".TP\n.B {}\n{}\n", status, roff(meaning));
  return text;
}

std::string section_examples(const Extra& extra) {
  std::string text = ".SH EXAMPLES\n";
  for (const auto& [command, what] : extra.examples)
    text += fmt::format(".PP\n{}:\n.PP\n.RS 4\n.EX\n{}\n.EE\n.RE\n", roff(what), roff(command));
  return text;
}

std::string see_also(const std::vector<std::string>& pages, const std::string& self) {
  std::string text = ".SH SEE ALSO\n";
  std::vector<std::string> refs;
  for (const std::string& page : pages)
    if (page != self) refs.push_back(fmt::format(".BR {} (1)", roff(page)));
  for (std::size_t i = 0; i < refs.size(); ++i) text += refs[i] + (i + 1 < refs.size() ? ",\n" : "\n");
  text += ".PP\nThe documentation in\n.IR /usr/share/doc/memprobe/ .\n";
  return text;
}

// "--only LIST" in bold/italic roff, as in a synopsis or an option list.
std::string option_text(const CLI::Option& opt) {
  std::vector<std::string> names;
  for (const std::string& s : opt.get_snames()) names.push_back(fmt::format("\\fB\\-{}\\fR", roff(s)));
  for (const std::string& l : opt.get_lnames()) names.push_back(fmt::format("\\fB\\-\\-{}\\fR", roff(l)));
  std::string text;
  for (std::size_t i = 0; i < names.size(); ++i) text += (i ? ", " : "") + names[i];
  if (opt.get_expected_max() != 0 && !opt.get_type_name().empty())
    text += fmt::format(" \\fI{}\\fR", roff(opt.get_type_name()));
  return text;
}

bool is_help(const CLI::Option& opt) {
  return opt.get_lnames().size() == 1 && opt.get_lnames().front() == "help";
}

std::string subcommand_page(const CLI::App& sub, const Extra& extra, const std::vector<std::string>& pages,
                            const std::string& version, const std::string& date) {
  const std::string name = "memprobe-" + sub.get_name();
  std::string text = header(name, version, date);
  text += fmt::format(".SH NAME\n{} \\- {}\n", roff(name), roff(sub.get_description()));
  text += fmt::format(".SH SYNOPSIS\n.B memprobe {}\n", roff(sub.get_name()));
  std::vector<const CLI::Option*> positionals;
  for (const CLI::Option* opt : sub.get_options()) {
    if (opt->get_positional()) {
      positionals.push_back(opt);
    } else if (!is_help(*opt)) {
      text += fmt::format("[{}]\n", option_text(*opt));
    }
  }
  for (const CLI::Option* opt : positionals)
    text += fmt::format("\\fI{}\\fR{}\n", roff(opt->get_name()), opt->get_expected_max() > 1 ? " ..." : "");
  text += fmt::format(".SH DESCRIPTION\n{}\n.PP\n{}\n", roff(sub.get_description()), roff(extra.description));
  text += ".SH OPTIONS\n";
  for (const CLI::Option* opt : positionals)
    text += fmt::format(".TP\n\\fI{}\\fR\n{}\n", roff(opt->get_name()), roff(opt->get_description()));
  for (const CLI::Option* opt : sub.get_options()) {
    if (opt->get_positional()) continue;
    std::string description = opt->get_description();
    if (!opt->get_default_str().empty()) description += fmt::format(" (default: {})", opt->get_default_str());
    text += fmt::format(".TP\n{}\n{}\n", option_text(*opt), roff(description));
  }
  // run's families (its footer in --help), one entry each.
  if (sub.get_name() == "run" || sub.get_name() == "list") {
    text += sub.get_name() == "run" ? ".SS Families (--only)\n" : ".SH FAMILIES\n";
    for (const auto& f : memprobe::bench::families())
      text += fmt::format(".TP\n.B {}\n{}\n", roff(f.name), roff(f.description));
  }
  text += section_files(extra) + section_exits(extra) + section_examples(extra) + see_also(pages, name);
  return text;
}

std::string bench_page(const CLI::App& run, const std::vector<std::string>& pages, const std::string& version,
                       const std::string& date) {
  const CLI::Option* cap = run.get_option("--max-working-set");
  Extra extra{"", {kResults}, kCommonExits,
              {{"memprobe bench --benchmark_list_tests", "the names of every case"},
               {"memprobe bench --benchmark_filter='latency/4k/.*' --benchmark_format=json",
                "the 4 KiB latency cases as Google Benchmark JSON"}}};
  std::string text = header("memprobe-bench", version, date);
  text += fmt::format(".SH NAME\nmemprobe\\-bench \\- {}\n", roff(kBenchDescription));
  text += fmt::format(".SH SYNOPSIS\n.B memprobe bench\n[\\fB\\-\\-max\\-working\\-set\\fR \\fISIZE\\fR]\n"
                      "[\\fIGoogle Benchmark flags\\fR]\n");
  text += fmt::format(".SH DESCRIPTION\n{}: every case of every family, registered with Google Benchmark and "
                      "run by its runner, with its console, JSON or CSV output. memprobe checks the flags "
                      "Google Benchmark would only warn about (a --benchmark_filter that is no POSIX extended "
                      "regular expression, an unknown --benchmark_format or --benchmark_out_format) and hands "
                      "every argument but --max-working-set to Google Benchmark.\n.PP\nUsage: {}\n",
                      roff(kBenchDescription), roff(kBenchSynopsis));
  text += ".SH OPTIONS\n";
  text += fmt::format(".TP\n\\fB\\-\\-max\\-working\\-set\\fR \\fISIZE\\fR\n{}\n", roff(cap->get_description()));
  text += ".TP\n\\fB\\-\\-benchmark_filter\\fR=\\fIREGEX\\fR, \\fB\\-\\-benchmark_format\\fR=console|json|csv, "
          "\\fB\\-\\-benchmark_out\\fR=\\fIFILE\\fR, ...\nGoogle Benchmark's own flags "
          "(\\fB\\-\\-help\\fR lists them).\n";
  text += section_files(extra) + section_exits(extra) + section_examples(extra) + see_also(pages, "memprobe-bench");
  return text;
}

std::string main_page(const CLI::App& app, const std::vector<const CLI::App*>& subs,
                      const std::vector<std::string>& pages, const std::string& version, const std::string& date) {
  std::string description = app.get_description();
  if (description.rfind("memprobe: ", 0) == 0) description = description.substr(10);
  std::string text = header("memprobe", version, date);
  text += fmt::format(".SH NAME\nmemprobe \\- {}\n", roff(description));
  text += ".SH SYNOPSIS\n.B memprobe\n[\\fB\\-\\-help\\fR] [\\fB\\-\\-version\\fR]\n\\fIsubcommand\\fR "
          "[\\fIoptions\\fR]\n";
  text += fmt::format(".SH DESCRIPTION\nmemprobe {}.\nIt prints the machine it ran on, then the tables, and keeps "
                      "everything in a results file to report on and compare later.\n.PP\n"
                      "Each subcommand has its own page and its own \\fB\\-\\-help\\fR.\n",
                      roff(description));
  text += ".SH COMMANDS\n";
  for (const CLI::App* sub : subs)
    text += fmt::format(".TP\n.BR memprobe\\-{} (1)\n{}\n", roff(sub->get_name()), roff(sub->get_description()));
  text += fmt::format(".TP\n.BR memprobe\\-bench (1)\n{}\n", roff(kBenchDescription));
  text += ".SH OPTIONS\n";
  for (const CLI::Option* opt : app.get_options())
    text += fmt::format(".TP\n{}\n{}\n", option_text(*opt), roff(opt->get_description()));
  text += ".SH ENVIRONMENT\n.TP\n.B MEMPROBE_STATE_DIR\nthe directory of the hugetlb reservation state "
          "(default \\fI/run/memprobe\\fR)\n";
  Extra extra{"", {kResults, {"/run/memprobe/", "hugetlb reservation state of a running memprobe run"}, kSbatch, kDocs},
              {kCommonExits[0], kCommonExits[1], kCommonExits[2],
               {"3", "compare's regression gate or fleet's outlier check failed"},
               {"130", "run was interrupted (SIGINT)"}},
              {{"memprobe check", "what the measurements depend on, with fixes"},
               {"memprobe run --out r.json", "measure and keep the results"},
               {"memprobe report --format markdown r.json", "the tables again, as markdown"},
               {"memprobe compare a.json b.json", "two runs side by side"}}};
  text += section_files(extra) + section_exits(extra) + section_examples(extra) + see_also(pages, "memprobe");
  return text;
}

// A bash word list, quoted for a double-quoted assignment.
std::string words(const std::vector<std::string>& list) {
  std::string text;
  for (const std::string& w : list) text += (text.empty() ? "" : " ") + w;
  return text;
}

std::string completion(const CLI::App& app, const std::vector<const CLI::App*>& subs) {
  std::vector<std::string> sub_names, families, top_flags;
  for (const CLI::App* sub : subs) sub_names.push_back(sub->get_name());
  sub_names.push_back("bench");
  for (const auto& f : memprobe::bench::families()) families.emplace_back(f.name);
  for (const CLI::Option* opt : app.get_options())
    for (const std::string& l : opt->get_lnames()) top_flags.push_back("--" + l);

  std::string text = fmt::format(
      "# bash completion for memprobe\n"
      "# Generated by memprobe_docgen from memprobe's CLI11 definitions (harness/cli.cc): do not edit.\n"
      "\n"
      "# Completes the last item of a comma-separated list from the words in $1.\n"
      "_memprobe_list() {{\n"
      "  local cur=$2 prefix=\"\" item\n"
      "  if [[ $cur == *,* ]]; then prefix=${{cur%,*}},; fi\n"
      "  item=${{cur##*,}}\n"
      "  COMPREPLY=($(compgen -P \"$prefix\" -W \"$1\" -- \"$item\"))\n"
      "  compopt -o nospace 2>/dev/null\n"
      "}}\n"
      "\n"
      "_memprobe_files() {{\n"
      "  compopt -o filenames 2>/dev/null\n"
      "  COMPREPLY=($(compgen -f -- \"$1\"))\n"
      "}}\n"
      "\n"
      "_memprobe() {{\n"
      "  local cur=${{COMP_WORDS[COMP_CWORD]}} prev=\"\" sub=\"\" i\n"
      "  ((COMP_CWORD > 0)) && prev=${{COMP_WORDS[COMP_CWORD - 1]}}\n"
      "  # --opt=value: bash splits at '=' (COMP_WORDBREAKS)\n"
      "  if [[ $cur == = ]]; then cur=\"\"; fi\n"
      "  if [[ $prev == = ]] && ((COMP_CWORD > 1)); then prev=${{COMP_WORDS[COMP_CWORD - 2]}}; fi\n"
      "  local subcommands=\"{}\"\n"
      "  local families=\"{}\"\n"
      "  local pages=\"{}\"\n"
      "  for ((i = 1; i < COMP_CWORD; i++)); do\n"
      "    case ${{COMP_WORDS[i]}} in\n"
      "      -*) ;;\n"
      "      *) sub=${{COMP_WORDS[i]}}; break ;;\n"
      "    esac\n"
      "  done\n"
      "  if [[ -z $sub ]]; then\n"
      "    COMPREPLY=($(compgen -W \"$subcommands {}\" -- \"$cur\"))\n"
      "    return\n"
      "  fi\n"
      "  case $sub in\n",
      words(sub_names), words(families), words(memprobe::harness::page_values()), words(top_flags));
  for (const CLI::App* sub : subs) {
    std::vector<std::string> flags;
    std::vector<std::string> value_options, file_options;
    bool positional_files = false;
    for (const CLI::Option* opt : sub->get_options()) {
      const std::string type = opt->get_type_name();
      const bool files = type == "FILE" || type == "DIR" || type == "PATH";
      if (opt->get_positional()) {
        positional_files |= files;
        continue;
      }
      for (const std::string& s : opt->get_snames()) flags.push_back("-" + s);
      for (const std::string& l : opt->get_lnames()) {
        flags.push_back("--" + l);
        if (opt->get_expected_max() != 0) (files ? file_options : value_options).push_back("--" + l);
      }
    }
    text += fmt::format("    {})\n      case $prev in\n", sub->get_name());
    for (const std::string& o : value_options) {
      if (o == "--only") {
        text += "        --only) _memprobe_list \"$families\" \"$cur\"; return ;;\n";
      } else if (o == "--pages") {
        text += "        --pages) _memprobe_list \"$pages\" \"$cur\"; return ;;\n";
      } else {
        text += fmt::format("        {}) return ;;  # a value: nothing to offer\n", o);
      }
    }
    for (const std::string& o : file_options) text += fmt::format("        {}) _memprobe_files \"$cur\"; return ;;\n", o);
    text += "      esac\n";
    text += fmt::format("      if [[ $cur == -* ]]; then\n        COMPREPLY=($(compgen -W \"{}\" -- \"$cur\"))\n",
                        words(flags));
    text += positional_files ? "      else\n        _memprobe_files \"$cur\"\n      fi\n      ;;\n"
                             : "      fi\n      ;;\n";
  }
  text += "    bench)\n"
          "      COMPREPLY=($(compgen -W \"--max-working-set --benchmark_filter= --benchmark_format= "
          "--benchmark_out= --benchmark_out_format= --benchmark_list_tests --help\" -- \"$cur\"))\n"
          "      ;;\n"
          "  esac\n"
          "}\n"
          "complete -F _memprobe memprobe\n";
  return text;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 5) {
    std::cerr << "usage: memprobe_docgen MAN_DIR COMPLETION_FILE VERSION DATE\n";
    return 2;
  }
  try {
    const std::filesystem::path man_dir = argv[1];
    const std::filesystem::path completion_file = argv[2];
    const std::string version = argv[3], date = argv[4];
    CLI::App app{std::string(memprobe::harness::kAppDescription), "memprobe"};
    memprobe::harness::CliArgs args;
    memprobe::harness::build_cli(app, args);
    const CLI::App& const_app = app;
    const std::vector<const CLI::App*> subs = const_app.get_subcommands([](const CLI::App*) { return true; });

    std::vector<std::string> pages{"memprobe"};
    for (const CLI::App* sub : subs) pages.push_back("memprobe-" + sub->get_name());
    pages.push_back("memprobe-bench");

    const auto extra = extras();
    std::filesystem::create_directories(man_dir);
    write_file(man_dir / "memprobe.1", main_page(app, subs, pages, version, date));
    for (const CLI::App* sub : subs) {
      const auto found = extra.find(sub->get_name());
      if (found == extra.end())
        throw std::runtime_error("subcommand '" + sub->get_name() +
                                 "' has no FILES/EXIT STATUS/EXAMPLES in harness/docgen.cc (extras())");
      write_file(man_dir / ("memprobe-" + sub->get_name() + ".1"),
                 subcommand_page(*sub, found->second, pages, version, date));
    }
    write_file(man_dir / "memprobe-bench.1", bench_page(*args.run_cmd, pages, version, date));
    if (completion_file.has_parent_path()) std::filesystem::create_directories(completion_file.parent_path());
    write_file(completion_file, completion(app, subs));
  } catch (const std::exception& e) {
    std::cerr << "memprobe_docgen: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
