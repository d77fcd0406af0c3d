// The family registry (analysis/family.h): the built-in families are all
// there (one per analysis/families/<name>.cc, none dropped by the linker),
// a toy family registered here is derived, rendered, summarised, plotted,
// judged and compared with no other edit, and files written before the
// derived tables took their family's name load under the new one.
#include "analysis/family.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "analysis/compare.h"
#include "analysis/derived.h"
#include "analysis/family_support.h"
#include "analysis/results_json.h"
#include "analysis/tables.h"

namespace memprobe::analysis {
namespace {

std::vector<std::string> names_of(const std::vector<const FamilyDescriptor*>& families) {
  std::vector<std::string> names;
  for (const FamilyDescriptor* f : families) names.push_back(f->name);
  return names;
}

TEST(FamilyRegistryTest, EveryFamilyFileIsRegistered) {
  // The benchmark families (benchmarks/*.cc MEMPROBE_FAMILY), in the order
  // `memprobe run` measures them: latency first, then pagefault, and drift
  // at the very end (it re-measures latency's levels after everything else).
  EXPECT_EQ(names_of(families_in_run_order()),
            (std::vector<std::string>{"latency", "stride", "tlb", "pagewalk", "hugepage", "bandwidth", "mlp", "loaded",
                                      "assoc", "c2c", "numa", "pagefault", "drift"}));
  // The report reads the cache levels first (and how far they drifted), then
  // the page-size effects.
  EXPECT_EQ(names_of(families_in_report_order()),
            (std::vector<std::string>{"latency", "drift", "hugepage", "pagefault", "tlb", "assoc", "pagewalk", "stride",
                                      "bandwidth", "mlp", "loaded", "c2c", "numa"}));
  for (const FamilyDescriptor* f : families_in_run_order()) {
    EXPECT_TRUE(f->derive) << f->name;
    EXPECT_TRUE(f->render) << f->name;
    EXPECT_FALSE(f->headline_metrics.empty()) << f->name;
  }
}

TEST(FamilyRegistryTest, TablesAreNamedLikeTheirFamily) {
  for (const FamilyDescriptor* f : families_in_run_order()) {
    if (f->name == "latency") continue;  // typed: derived.cache_levels, compared as "cache"
    ASSERT_FALSE(f->tables.empty()) << f->name;
    EXPECT_EQ(f->tables.front().key, f->name);
  }
  const DerivedTable* table = nullptr;
  ASSERT_EQ(family_of_table("page_walk", &table, true), find_family("pagewalk"));
  EXPECT_EQ(table->key, "pagewalk");
  EXPECT_EQ(family_of_table("page_walk"), nullptr) << "a legacy key only matches when asked for";
  EXPECT_EQ(derived_table_of_family("pagefault"), "pagefault");
  EXPECT_EQ(derived_table_of_family("latency"), "cache");
}

TEST(FamilyRegistryTest, HeadlineMetricComesFromTheFamily) {
  Case fault;
  fault.family = "pagefault";
  fault.metrics = {{"gb_per_s", 1}, {"us_per_page", 2}, {"us_per_fault", 3}};
  EXPECT_EQ(headline_metric(fault), "us_per_fault");
  Case bandwidth;
  bandwidth.family = "bandwidth";
  bandwidth.metrics = {{"gb_per_s", 10}};
  EXPECT_EQ(headline_metric(bandwidth), "gb_per_s");
  Case unknown;
  unknown.family = "not-a-family";
  unknown.metrics = {{"b_per_x", 1}, {"a_per_x", 2}};
  EXPECT_EQ(headline_metric(unknown), "a_per_x") << "no family: the first metric by name";
}

// ---- a toy family, registered here only ------------------------------------

constexpr const char* kToy = "toy";

Case toy_case(double size_bytes, double widgets_per_s) {
  Case c;
  c.family = kToy;
  c.name = fmt::format("toy/{}", size_bytes);
  c.params = {{"size_bytes", size_bytes}};
  // ns_per_load is listed first by the generic rule: the toy's own headline wins.
  c.metrics = {{"widgets_per_s", widgets_per_s}, {"ns_per_load", 1}};
  return c;
}

void derive_toy(Results& results) {
  nlohmann::json rows = nlohmann::json::array();
  for (const Case& c : results.cases)
    if (c.family == kToy)
      rows.push_back({{"size_bytes", param_number(c, "size_bytes").value_or(0)},
                      {"widgets_per_s", metric(c, "widgets_per_s").value_or(0)}});
  if (rows.empty())
    results.derived.extra.erase(kToy);
  else
    results.derived.extra[kToy] = rows;
}

std::string render_toy(const Results& results, TableFormat format) {
  const nlohmann::json* rows = derived_rows(results, kToy);
  if (!rows) return "";
  std::vector<std::vector<std::string>> cells;
  for (const nlohmann::json& row : *rows)
    cells.push_back({format_bytes(json_number(row, "size_bytes").value_or(0)),
                     fmt::format("{:.0f}", json_number(row, "widgets_per_s").value_or(0))});
  return note_line("Toy widgets", format) + render_table({{"size", true}, {"widgets/s", true}}, cells, format);
}

FamilyDescriptor toy_family() {
  FamilyDescriptor f;
  f.name = kToy;
  f.run_rank = 100;
  f.report_rank = 100;
  f.tables = {{kToy}};
  f.headline_metrics = {"widgets_per_s"};
  f.derive = derive_toy;
  f.render = render_toy;
  f.summary = [](const Results& results) -> std::vector<SummaryLine> {
    if (!derived_rows(results, kToy)) return {};
    return {{100, "toy", "widgets measured"}};
  };
  f.plots = [](const Results& results) -> std::vector<Plot> {
    if (!derived_rows(results, kToy)) return {};
    return {{"toy", with_outputs("toy", "plot x\n"), "a toy plot"}};
  };
  return f;
}

// Registers the toy family for one test and removes it after.
class ToyFamilyTest : public ::testing::Test {
 protected:
  void SetUp() override { register_family(toy_family()); }
  void TearDown() override { EXPECT_TRUE(unregister_family(kToy)); }
};

Results toy_results(double widgets_per_s) {
  Results r;
  r.machine.logical_cpus = 2;  // a file needs a plausible machine
  r.cases = {toy_case(4096, widgets_per_s), toy_case(8192, widgets_per_s * 2)};
  r.cases[0].spread = {3, widgets_per_s, widgets_per_s, widgets_per_s, false};
  derive_all(r);
  return r;
}

TEST_F(ToyFamilyTest, IsDerivedRenderedSummarisedAndPlotted) {
  const Results r = toy_results(100);
  ASSERT_TRUE(r.derived.extra.contains(kToy));
  EXPECT_EQ(r.derived.extra[kToy].size(), 2u);
  const std::string sections = render_sections(r);
  EXPECT_NE(sections.find("Toy widgets"), std::string::npos) << sections;
  EXPECT_NE(sections.find("8 KiB"), std::string::npos) << sections;
  EXPECT_NE(render_summary(r).find("widgets measured"), std::string::npos) << render_summary(r);
  const std::vector<Plot> plots = build_plots(r);
  ASSERT_EQ(plots.size(), 1u);
  EXPECT_EQ(plots[0].name, "toy");
  EXPECT_EQ(headline_metric(r.cases[0]), "widgets_per_s");
  EXPECT_EQ(names_of(families_in_run_order()).back(), kToy);
}

TEST_F(ToyFamilyTest, IsCompared) {
  const Comparison c = compare_results(toy_results(100), toy_results(200));
  std::vector<std::string> figures;
  for (const FigureComparison& f : c.figures)
    if (f.table == kToy) figures.push_back(f.figure);
  ASSERT_EQ(figures.size(), 2u) << "one widgets_per_s per row; size_bytes identifies the row";
  for (const FigureComparison& f : c.figures)
    if (f.table == kToy) {
      ASSERT_TRUE(f.ratio.has_value()) << f.figure;
      EXPECT_DOUBLE_EQ(*f.ratio, 2.0) << f.figure;
    }
  // The toy's cases are judged by its headline metric.
  ASSERT_FALSE(c.cases.empty());
  EXPECT_EQ(c.cases[0].metric, "widgets_per_s");
  EXPECT_EQ(derived_table_of_family(kToy), kToy);
}

TEST_F(ToyFamilyTest, AFileOfTheToyRoundTrips) {
  const Results r = toy_results(100);
  const Results back = results_from_json(to_json(r));
  EXPECT_EQ(back.derived.extra[kToy], r.derived.extra[kToy]);
}

// ---- files written before the renames --------------------------------------

TEST(FamilyRegistryTest, OldDerivedKeysLoadUnderTheFamilyName) {
  Results r;
  r.machine.logical_cpus = 2;
  nlohmann::json doc = to_json(r);
  doc["derived"]["page_walk"] = nlohmann::json::array({{{"page", "4k"}, {"pte", "warm"}, {"cycles", 30.0}}});
  doc["derived"]["page_fault"] = nlohmann::json::array({{{"kind", "anon-4k"}, {"phase", "warm"}}});
  doc["derived"]["loaded_latency"] = nlohmann::json::array({{{"intensity_pct", 0}, {"ns_per_load", 90.0}}});
  const Results back = results_from_json(doc);
  for (const char* old_key : {"page_walk", "page_fault", "loaded_latency"})
    EXPECT_FALSE(back.derived.extra.contains(old_key)) << old_key;
  ASSERT_TRUE(back.derived.extra.contains("pagewalk"));
  EXPECT_EQ(back.derived.extra["pagewalk"][0]["cycles"], 30.0);
  EXPECT_TRUE(back.derived.extra.contains("pagefault"));
  EXPECT_TRUE(back.derived.extra.contains("loaded"));
  // Written back, only the new names.
  const nlohmann::json again = to_json(back);
  EXPECT_TRUE(again["derived"].contains("pagewalk"));
  EXPECT_FALSE(again["derived"].contains("page_walk"));
}

TEST(FamilyRegistryTest, KeptResultsFilesLoadWithTheNewNames) {
  namespace fs = std::filesystem;
  std::size_t files = 0;
  for (const auto& entry : fs::recursive_directory_iterator(fs::path(MEMPROBE_SOURCE_DIR) / "results")) {
    if (entry.path().extension() != ".json") continue;
    ++files;
    const Results r = load_results(entry.path().string());
    EXPECT_EQ(r.schema, kSchema);
    EXPECT_TRUE(r.derived.extra.contains("pagewalk")) << entry.path();
    EXPECT_TRUE(r.derived.extra.contains("pagefault")) << entry.path();
    EXPECT_TRUE(r.derived.extra.contains("loaded")) << entry.path();
    EXPECT_FALSE(r.derived.extra.contains("page_walk")) << entry.path();
  }
  EXPECT_GT(files, 0u);
}

}  // namespace
}  // namespace memprobe::analysis
