#include <gtest/gtest.h>

#include <cctype>
#include <cmath>
#include <string>
#include <vector>

#include "analysis/derived.h"
#include "analysis/families/latency.h"
#include "analysis/tables.h"
#include "tests/kvm_machine.h"
#include "tests/text_checks.h"

namespace memprobe::analysis {
namespace {

using memprobe::testing::expect_contains_each;

constexpr double kKiB = 1024.0;
constexpr double kMiB = 1024.0 * kKiB;
constexpr double kGiB = 1024.0 * kMiB;

Results machine_only() {
  Results r = testing::kvm_amd_run("AMD EPYC 7B13 64-Core Processor", "Linux 6.1.0-18-cloud-amd64 x86_64", 2.445e9,
                                   3.24e9);
  r.git = "v0.1-3-gabcdef";
  MachineInfo& m = r.machine;
  m.caches = {{1, "data", 32 * kKiB, 64, 8},
              {1, "instruction", 32 * kKiB, 64, 8},
              {2, "unified", 512 * kKiB, 64, 8},
              {3, "unified", 32 * kMiB, 64, 16}};
  TlbInfo l1_4k{1, 4 * kKiB, 64};
  TlbInfo l1_1g{1, 1 * kGiB, std::nullopt};
  TlbInfo l2_4k{2, 4 * kKiB, 2048};
  m.tlb = {l1_4k, l1_1g, l2_4k};
  m.pmu_available = false;
  m.pmu_reason = "no hardware PMU exposed (perf_event_open cycles: ENOENT)";
  return r;
}

Results fixed_results() {
  Results r = machine_only();
  CacheLevelRow l1{"L1", 32 * kKiB, 32 * kKiB, 1.234, 3.998, 1.5, ""};
  CacheLevelRow l2{"L2", 512 * kKiB, 448 * kKiB, 4.05, 13.122, 0.84, ""};
  CacheLevelRow l3{
      "L3",
      32 * kMiB,
      8 * kMiB,
      12.3456,
      39.999,
      3.06,
      "measured knee at 8 MiB vs 32 MiB reported (KVM guest: the hypervisor may hide the real L3 geometry)"};
  CacheLevelRow dram{"DRAM", std::nullopt, std::nullopt, 92.35, 299.214, 12.3, ""};
  r.derived.cache_levels = {l1, l2, l3, dram};
  r.derived.extra["latency_curve_page"] = "4k";
  return r;
}

Case latency_case(const std::string& page, double bytes, double ns, const std::string& verified) {
  Case c;
  c.family = "latency";
  c.name = "latency/" + page;
  c.params = {{"working_set_bytes", bytes}, {"page", page}};
  c.metrics = {{"ns_per_load", ns}};
  c.spread = {5, ns, ns, ns};
  c.backing = {page, verified, 0};
  return c;
}

TEST(TablesTest, CacheTableGolden) {
  const std::string expected =
      "level  reported  detected  latency ns  latency cycles   spread\n"
      "-----  --------  --------  ----------  --------------  -------\n"
      "L1       32 KiB    32 KiB        1.23             4.0    ±1.5%\n"
      "L2      512 KiB   448 KiB        4.05            13.1    ±0.8%\n"
      "L3       32 MiB     8 MiB        12.3            40.0    ±3.1%\n"
      "DRAM          —         —        92.3           299.2  ±12.3%!\n"
      "latency from the 4k curve\n"
      "!: repetitions differ by more than 10% of the median; rerun on a quieter machine\n"
      "L3: measured knee at 8 MiB vs 32 MiB reported (KVM guest: the hypervisor may hide the real L3 geometry)\n";
  EXPECT_EQ(render_cache_table(fixed_results()), expected);
}

TEST(TablesTest, MachineHeaderNamesEverythingAndUnknowns) {
  const std::string header = render_machine_header(machine_only());
  EXPECT_NE(header.find("CPU        AMD EPYC 7B13 64-Core Processor (AMD), 2 logical CPUs, hypervisor KVM\n"),
            std::string::npos)
      << header;
  EXPECT_NE(header.find("kernel     Linux 6.1.0-18-cloud-amd64 x86_64\n"), std::string::npos) << header;
  EXPECT_NE(header.find("clocks     TSC 2.445 GHz, core 3.24 GHz (calibrated: dependent-add chain)\n"),
            std::string::npos)
      << header;
  EXPECT_NE(header.find("caches     L1d 32 KiB 8-way 64 B lines | L1i 32 KiB 8-way 64 B lines | "
                        "L2 512 KiB 8-way 64 B lines | L3 32 MiB 16-way 64 B lines\n"),
            std::string::npos)
      << header;
  EXPECT_NE(header.find("TLB        L1 4K 64 entries, L1 1G unknown, L2 4K 2048 entries (CPUID)\n"), std::string::npos)
      << header;
  EXPECT_NE(header.find("THP        enabled=madvise defrag=madvise\n"), std::string::npos) << header;
  EXPECT_NE(header.find("hugetlb    2 MiB pool 0 pages, 1 GiB pool 0 pages\n"), std::string::npos) << header;
  EXPECT_NE(header.find("PMU        unavailable: no hardware PMU exposed (perf_event_open cycles: ENOENT)\n"),
            std::string::npos)
      << header;

  Results bare = machine_only();
  bare.machine.hypervisor.reset();
  bare.machine.pmu_available = true;
  bare.machine.core_hz = 0;
  const std::string bare_header = render_machine_header(bare);
  EXPECT_NE(bare_header.find("no hypervisor detected"), std::string::npos);
  EXPECT_NE(bare_header.find("PMU        available\n"), std::string::npos);
  EXPECT_NE(bare_header.find("core clock unknown"), std::string::npos);
}

// Where the TLB sizes came from, the page sizes and where each growing sweep
// ended; files from before these members keep their old lines.
TEST(TablesTest, MachineHeaderNamesTheTlbSourcePageSizesAndSweepEnds) {
  Results r = machine_only();
  const std::string old_header = render_machine_header(r);
  EXPECT_EQ(old_header.find("pages      "), std::string::npos);
  EXPECT_EQ(old_header.find("sweep      "), std::string::npos);
  r.machine.tlb.clear();
  r.machine.tlb_source = "not reported on this CPU: CPUID leaves 0x18 and 2 describe no data TLB";
  r.machine.base_page_bytes = 65536;
  r.machine.thp_page_bytes = 512.0 * 1024 * 1024;
  r.extra["latency_sweep"] = {{"up_to_bytes", 64 << 20}, {"end_reason", "the 4k curve showed DRAM"}};
  r.extra["tlb_sweep"] = {{"up_to_pages", 32768}, {"end_reason", "went 4x past its L2 DTLB knee"}};
  const std::string header = render_machine_header(r);
  EXPECT_NE(header.find("TLB        not reported on this CPU: CPUID leaves 0x18 and 2 describe no data TLB\n"),
            std::string::npos)
      << header;
  EXPECT_NE(header.find("pages      base 64 KiB, THP 512 MiB\n"), std::string::npos) << header;
  EXPECT_NE(header.find("sweep      latency to 64 MiB: the 4k curve showed DRAM\n"), std::string::npos) << header;
  EXPECT_NE(header.find("sweep      tlb base pages to 32768: went 4x past its L2 DTLB knee\n"), std::string::npos)
      << header;
  r.extra["tlb_sweep"] = {{"up_to_pages", "many"}};  // malformed: no line, no throw
  EXPECT_EQ(render_machine_header(r).find("tlb base pages"), std::string::npos);
}

// The cap a run used; a file from before --max-working-set has no line.
TEST(TablesTest, MachineHeaderShowsTheMaxWorkingSetWhenTheFileHasIt) {
  Results r = machine_only();
  EXPECT_EQ(render_machine_header(r).find("memory"), std::string::npos);
  r.extra["max_working_set_bytes"] = std::uint64_t{8} << 20;
  r.extra["max_working_set_source"] = "--max-working-set";
  EXPECT_NE(render_machine_header(r).find("memory     working sets at most 8 MiB (--max-working-set)\n"),
            std::string::npos)
      << render_machine_header(r);
  r.extra["max_working_set_bytes"] = std::uint64_t{256} << 20;
  r.extra["max_working_set_source"] = "default";
  EXPECT_NE(render_machine_header(r).find("memory     working sets: the latency sweep grows until its curve shows "
                                          "DRAM, at most 256 MiB (8x the reported LLC"),
            std::string::npos)
      << render_machine_header(r);
  // Where the sweep ended and why, once it has.
  r.extra["latency_sweep"] = {{"up_to_bytes", std::uint64_t{64} << 20}, {"end_reason", "the 4k curve showed DRAM"}};
  EXPECT_NE(render_machine_header(r).find("sweep      latency to 64 MiB: the 4k curve showed DRAM\n"), std::string::npos)
      << render_machine_header(r);
}

TEST(TablesTest, LatencyCurveHasOneRowPerWorkingSetAndMarksUnverifiedBacking) {
  Results r = machine_only();
  r.cases.push_back(latency_case("4k", 4 * kKiB, 1.2, "4k"));
  r.cases.push_back(latency_case("4k", 1.5 * kMiB, 11.0, "4k"));
  r.cases.push_back(latency_case("thp", 1.5 * kMiB, 10.5, "mixed"));
  r.cases.push_back(latency_case("thp", 64 * kMiB, 88.0, "4k"));
  const std::string expected =
      "working set  4k ns  4k cycles              thp ns  thp cycles\n"
      "-----------  -----  ---------  ------------------  ----------\n"
      "      4 KiB   1.20        3.9                   —           —\n"
      "    1.5 MiB   11.0       35.6  10.5 (partly huge)        34.0\n"
      "     64 MiB      —          —     88.0 (not huge)       285.1\n";
  EXPECT_EQ(render_latency_curve(r), expected);
  EXPECT_EQ(render_latency_curve(machine_only()), "");
}

TEST(TablesTest, CacheTableShowsTheRowsDeriveAllStored) {
  Results r = machine_only();
  for (double bytes : {16 * kKiB, 256 * kKiB, 8 * kMiB, 256 * kMiB})
    r.cases.push_back(latency_case("4k", bytes, bytes < 64 * kMiB ? 2.0 : 100.0, "4k"));
  derive_all(r);
  const std::string table = render_cache_table(r);
  EXPECT_NE(table.find("level  reported"), std::string::npos) << table;
  EXPECT_NE(table.find("L3       32 MiB"), std::string::npos) << table;
  EXPECT_NE(table.find("DRAM"), std::string::npos) << table;
  // Without a latency curve every row would be dashes: the table is left
  // out, as a table of a family that was not run (issue 13, row 20).
  EXPECT_EQ(render_cache_table(machine_only()), "");
}

// The table renders what was derived and never derives again: latency cases
// without derived cache levels print no table, and the note names the curve
// the stored rows came from, not the one the cases would choose today.
TEST(TablesTest, CacheTableNeverDerivesFromTheCases) {
  Results r = machine_only();
  for (double bytes : {16 * kKiB, 256 * kKiB, 8 * kMiB, 256 * kMiB})
    r.cases.push_back(latency_case("4k", bytes, bytes < 64 * kMiB ? 2.0 : 100.0, "4k"));
  EXPECT_EQ(render_cache_table(r), "");
  derive_all(r);
  r.derived.extra["latency_curve_page"] = "hugetlb-2m";
  const std::string table = render_cache_table(r);
  EXPECT_NE(table.find("latency from the hugetlb-2m curve"), std::string::npos) << table;
  EXPECT_EQ(table.find("latency from the 4k curve"), std::string::npos) << table;
}

// render_unavailable of machine_only() with `unavailable` added.
std::string unavailable_lines(const std::vector<UnavailableFigure>& unavailable) {
  Results r = machine_only();
  r.unavailable = unavailable;
  return render_unavailable(r);
}

TEST(TablesTest, UnavailableFiguresAreListedWithTheirReasons) {
  EXPECT_EQ(unavailable_lines({}), "");
  EXPECT_EQ(unavailable_lines({{"latency/hugetlb-2m", "no 2 MiB hugetlb pages reserved"},
                               {"hardware counters", "no PMU"}}),
            "unavailable: latency/hugetlb-2m: no 2 MiB hugetlb pages reserved\n"
            "unavailable: hardware counters: no PMU\n");
}

TEST(TablesTest, UnavailableFiguresWithOneReasonAreOneLine) {
  std::vector<UnavailableFigure> unavailable;
  for (const char* k : {"mlp/k:1", "mlp/k:2", "mlp/k:4", "mlp/k:8", "mlp/k:16", "loaded/intensity:0"})
    unavailable.push_back({k, "needs 64 MiB"});
  unavailable.push_back({"tlb/thp", "sweep cut"});
  EXPECT_EQ(unavailable_lines(unavailable),
            "unavailable: mlp/k:1, mlp/k:2, mlp/k:4, ... (6 in all): needs 64 MiB\n"
            "unavailable: tlb/thp: sweep cut\n");
}

TEST(TablesTest, CounterTableShowsSoftwareCountsAndNoPmuForHardware) {
  Results r = machine_only();
  r.extra["counters"] = nlohmann::json::array(
      {{{"event", "minor-faults"}, {"column", "minor_faults"}, {"available", true}, {"software", true}},
       {{"event", "cycles"}, {"column", "cycles"}, {"available", false}, {"software", false},
        {"reason", "no hardware PMU exposed (ENOENT)"}}});
  for (double bytes : {16 * kKiB, 256 * kKiB, 8 * kMiB, 256 * kMiB}) {
    Case c = latency_case("4k", bytes, bytes < 64 * kMiB ? 2.0 : 100.0, "4k");
    c.counters["minor_faults_per_access"] = bytes == 16 * kKiB ? 0.5 : 0.0;
    r.cases.push_back(c);
  }
  r.derived.cache_levels = derive_cache_levels(r);
  expect_contains_each(render_counter_table(r), {"performance counters per load (4k curve)", "L1 (16 KiB)",
                                                         "DRAM (256 MiB)", "minor_faults  ", "0.5", "n/a (no PMU)"});
  EXPECT_EQ(counters_summary(r), "software: minor-faults; hardware: n/a (no PMU)");
  EXPECT_NE(render_machine_header(r).find("counters   software: minor-faults"), std::string::npos);
}

TEST(TablesTest, NoCountersRecordedMeansNoCounterTable) {
  Results r = machine_only();
  r.cases.push_back(latency_case("4k", 16 * kKiB, 2.0, "4k"));
  EXPECT_EQ(render_counter_table(r), "");
  EXPECT_EQ(counters_summary(r), "");
}

TEST(TablesTest, ReportHasEverySectionInReadingOrder) {
  Results r = fixed_results();
  r.cases.push_back(latency_case("4k", 4 * kKiB, 1.2, "4k"));
  r.unavailable.push_back({"hardware counters", "no PMU"});
  const std::string report = render_report(r);
  const auto cpu = report.find("CPU        ");
  const auto table = report.find("level  reported");
  const auto curve = report.find("working set");
  const auto unavailable = report.find("unavailable: hardware counters: no PMU");
  ASSERT_NE(cpu, std::string::npos);
  ASSERT_NE(table, std::string::npos);
  ASSERT_NE(curve, std::string::npos);
  ASSERT_NE(unavailable, std::string::npos);
  EXPECT_LT(cpu, table);
  EXPECT_LT(table, curve);
  EXPECT_LT(curve, unavailable);
}

}  // namespace
}  // namespace memprobe::analysis

namespace memprobe::analysis {
namespace {

TEST(TablesSummaryTest, SummaryNamesEachLevelAndTheFaultCost) {
  Results r;
  r.derived.cache_levels = {{"L1", 32768.0, 32768.0, 1.1, 4.1, 1.0, ""}, {"DRAM", std::nullopt, std::nullopt, 100.0, 370.0, 2.0, ""}};
  r.derived.extra["tlb"] = nlohmann::json::array({{{"level", "L1 DTLB"}, {"page", "4k"}, {"detected_entries", 72.0}},
                                                  {{"level", "L2 DTLB"}, {"page", "4k"}, {"detected_entries", nullptr}}});
  r.derived.extra["pagefault"] = nlohmann::json::array(
      {{{"kind", "anon-4k"}, {"phase", "warm"}, {"us_per_fault", 2.07}},
       {{"kind", "hugetlb-1g"}, {"phase", "warm"}, {"us_per_fault", 40037.2}},
       {{"kind", "anon-4k"}, {"phase", "cold"}, {"us_per_fault", 9.0}}});
  const std::string summary = render_summary(r);
  EXPECT_NE(summary.find("L1 32 KiB 4.1 cycles (1.10 ns) | DRAM 370.0 cycles (100.0 ns)"), std::string::npos) << summary;
  EXPECT_NE(summary.find("4k pages: L1 DTLB 72, L2 DTLB no clear knee"), std::string::npos) << summary;
  EXPECT_NE(summary.find("anon-4k 2.07 us, hugetlb-1g 40037 us per fault (warm)"), std::string::npos) << summary;
  EXPECT_EQ(render_summary(Results{}), "");
}

}  // namespace
}  // namespace memprobe::analysis

namespace memprobe::analysis {
namespace {

// ---- issue 13: rows 12, 17 and 20 -------------------------------------------

// Strings a hostile results file carries: an escape sequence that clears the
// screen, a newline followed by a forged header line, a bell.
constexpr const char* kForged = "X\x1b[2J\nCPU        forged line\x07";

TEST(TablesTest, StringsFromTheFileAreEscapedInEveryFormat) {
  Results r = fixed_results();
  r.command = std::string("memprobe run ") + kForged;
  r.machine.cpu_model = kForged;
  r.machine.kernel = kForged;
  r.machine.pmu_reason = kForged;
  r.derived.cache_levels[2].note = kForged;
  Case c = latency_case("4k", 4 * kKiB, 1.2, "4k");
  c.name = kForged;
  r.cases.push_back(c);
  r.unavailable.push_back({kForged, kForged});
  for (TableFormat format : {TableFormat::kText, TableFormat::kMarkdown, TableFormat::kCsv}) {
    const std::string report = render_report(r, format);
    for (char ch : report) ASSERT_TRUE(ch == '\n' || static_cast<unsigned char>(ch) >= 0x20) << report;
    // One CPU line: the forged one stays inside the value it came in.
    std::size_t cpu_lines = 0;
    for (std::size_t at = report.find("CPU        "); at != std::string::npos; at = report.find("CPU        ", at + 1))
      cpu_lines += at == 0 || report[at - 1] == '\n' || report.compare(at - 2, 2, "# ") == 0;
    EXPECT_EQ(cpu_lines, 1u) << report;
    EXPECT_NE(report.find("X\\x1b[2J\\x0aCPU        forged line\\x07"), std::string::npos) << report;
  }
}

// `word` standing alone (fmt prints NaN as "nan", infinity as "inf").
bool has_word(const std::string& text, const std::string& word) {
  const auto letter = [](char c) { return std::isalpha(static_cast<unsigned char>(c)) != 0; };
  for (std::size_t at = text.find(word); at != std::string::npos; at = text.find(word, at + 1))
    if ((at == 0 || !letter(text[at - 1])) && (at + word.size() == text.size() || !letter(text[at + word.size()])))
      return true;
  return false;
}

TEST(TablesTest, AMissingOrNonFiniteMetricPrintsAsMissingNeverNan) {
  Results r = machine_only();
  for (double bytes : {16 * kKiB, 256 * kKiB, 8 * kMiB, 256 * kMiB})
    r.cases.push_back(latency_case("4k", bytes, 2.0, "4k"));
  r.cases[1].metrics["ns_per_load"] = std::nan("");
  r.cases[2].metrics.erase("ns_per_load");
  r.cases[3].metrics["cycles_per_load"] = INFINITY;
  derive_all(r);
  for (TableFormat format : {TableFormat::kText, TableFormat::kMarkdown, TableFormat::kCsv}) {
    const std::string report = render_report(r, format);
    EXPECT_FALSE(has_word(report, "nan")) << report;
    EXPECT_FALSE(has_word(report, "inf")) << report;
  }
}

Case hugepage_chase(const std::string& page, double bytes, const std::string& region) {
  Case c;
  c.family = "hugepage";
  c.name = "hugepage/" + page;
  c.params = {{"page", page}, {"working_set_bytes", bytes}, {"region", region}};
  c.metrics = {{"ns_per_load", 3.0}};
  c.backing = {page, page, page == "4k" ? 0.0 : 1.0};
  return c;
}

// `--only hugepage --max-working-set 16MiB`: no latency family, no
// DRAM-sized point.
TEST(TablesTest, OnlyHugepageLeavesTheCacheTableOutAndTheSummarySaysNoDramPointRan) {
  Results r = machine_only();
  for (const char* page : {"4k", "thp"})
    for (double bytes : {1 * kMiB, 16 * kMiB})
      r.cases.push_back(hugepage_chase(page, bytes, bytes > 8 * kMiB ? "tlb" : "cache"));
  derive_all(r);
  const std::string sections = render_sections(r);
  EXPECT_EQ(render_cache_table(r), "") << render_cache_table(r);
  EXPECT_EQ(sections.find("level  reported"), std::string::npos) << sections;
  EXPECT_NE(sections.find("huge pages  no DRAM-sized point measured (largest working set 16 MiB; a larger "
                          "--max-working-set reaches DRAM)"),
            std::string::npos)
      << sections;
  // Without the family the row is left out.
  EXPECT_EQ(render_summary(machine_only()), "");
}

TEST(TablesTest, HeaderSaysNoPmuWhenNoHardwareEventCouldBeTried) {
  Results r = machine_only();
  r.extra["counters"] = nlohmann::json::array(
      {{{"event", "minor-faults"}, {"column", "minor_faults"}, {"available", true}, {"software", true}}});
  EXPECT_EQ(counters_summary(r), "software: minor-faults; hardware: n/a (no PMU)");
  r.machine.pmu_available = true;
  EXPECT_EQ(counters_summary(r), "software: minor-faults; hardware: none requested");
}

}  // namespace
}  // namespace memprobe::analysis
