#include "analysis/families/bandwidth.h"
#include "analysis/families/loaded.h"
#include "analysis/families/mlp.h"
#include "analysis/family_support.h"

#include <gtest/gtest.h>

#include "tests/derived_checks.h"


namespace memprobe::analysis {
namespace {

// analysis_tests links no core/ (analysis never includes it): the
// bytes-per-pass arithmetic is tested in tests/core_bandwidth_kernels_test.cc.
constexpr double kKiB = 1024;
constexpr double kMiB = 1024 * kKiB;

// The three families these tests feed: each derives its own member(s).
void derive_bandwidth_mlp_loaded(Results& r) {
  derive_bandwidth(r);
  derive_mlp(r);
  derive_loaded(r);
}

TEST(MlpSaturationTest, SmallestKWithinNinetyPercentOfBest) {
  // Throughput 1/ns: k=8 reaches 1/11 >= 0.9 * 1/10.
  const std::vector<MlpPoint> points = {{1, 100}, {2, 50}, {4, 25}, {8, 11}, {16, 10}, {32, 10.5}};
  EXPECT_EQ(mlp_saturation_k(points), 8.0);
  // Order does not matter.
  const std::vector<MlpPoint> shuffled = {{16, 10}, {1, 100}, {8, 11}, {32, 10.5}, {4, 25}, {2, 50}};
  EXPECT_EQ(mlp_saturation_k(shuffled), 8.0);
  // Still rising: the largest k.
  EXPECT_EQ(mlp_saturation_k({{1, 100}, {2, 50}, {4, 25}}), 4.0);
  // Flat: k = 1 already saturates.
  EXPECT_EQ(mlp_saturation_k({{1, 80}, {2, 80}, {4, 79}}), 1.0);
  EXPECT_FALSE(mlp_saturation_k({}));
  EXPECT_FALSE(mlp_saturation_k({{1, 0}}));
}

TEST(MemoryLevelTest, InnermostCacheHoldingTheSet) {
  const std::vector<CacheInfo> caches = {{1, "data", 32.0 * kKiB, 64, 8},
                                         {2, "unified", 1.0 * kMiB, 64, 8},
                                         {3, "unified", 32.0 * kMiB, 64, 16}};
  EXPECT_EQ(memory_level(16.0 * kKiB, caches), "L1");
  EXPECT_EQ(memory_level(32.0 * kKiB, caches), "L1");
  EXPECT_EQ(memory_level(512.0 * kKiB, caches), "L2");
  EXPECT_EQ(memory_level(16.0 * kMiB, caches), "L3");
  EXPECT_EQ(memory_level(128.0 * kMiB, caches), "DRAM");
  EXPECT_EQ(memory_level(1.0, {}), "");
}

TEST(MemoryLevelTest, LevelsAreTheOnesTheLatencyCurveFound) {
  Results r;
  r.machine.caches = {{1, "data", 48.0 * kKiB, 64, 12}, {2, "unified", 2.0 * kMiB, 64, 16},
                      {3, "unified", 480.0 * kMiB, 64, 16}};
  EXPECT_EQ(memory_level(64.0 * kMiB, labelling_caches(r)), "L3") << "no curve: the reported sizes";
  r.derived.cache_levels = {{"L1", 48.0 * kKiB, 45.25 * kKiB, 1.4, {}, {}, ""},
                            {"L2", 2.0 * kMiB, std::nullopt, 4.6, {}, {}, "no clear knee"},
                            {"L3", 480.0 * kMiB, 9.51 * kMiB, 23.0, {}, {}, ""},
                            {"DRAM", std::nullopt, std::nullopt, 123.0, {}, {}, ""}};
  const std::vector<CacheInfo> caches = labelling_caches(r);
  EXPECT_EQ(memory_level(40.0 * kKiB, caches), "L1");
  EXPECT_EQ(memory_level(1.0 * kMiB, caches), "L2") << "no knee: the reported 2 MiB";
  EXPECT_EQ(memory_level(4.76 * kMiB, caches), "L3");
  EXPECT_EQ(memory_level(64.0 * kMiB, caches), "DRAM") << "4x the measured L3, not CPUID's 480 MiB";
}

Case make_case(const std::string& family, const std::string& name, nlohmann::json params,
               std::map<std::string, double> metrics) {
  Case c;
  c.family = family;
  c.name = name;
  c.params = std::move(params);
  c.metrics = std::move(metrics);
  return c;
}

Results synthetic() {
  Results r;
  r.machine.caches = {{1, "data", 32.0 * kKiB, 64, 8}, {2, "unified", 1.0 * kMiB, 64, 8}};
  for (const int threads : {2, 1}) {
    for (const char* kernel : {"copy", "read"}) {
      for (const double ws : {16.0 * kKiB, 512.0 * kKiB, 64.0 * kMiB}) {
        r.cases.push_back(make_case("bandwidth", "bandwidth/x",
                                    {{"kernel", kernel}, {"threads", threads}, {"working_set_bytes", ws},
                                     {"vector", "avx512"}, {"page", "thp"}},
                                    {{"gb_per_s", 100.0 * threads * 1e6 / ws}}));
      }
    }
  }
  for (const auto& [k, ns] : std::vector<std::pair<int, double>>{{4, 25}, {1, 100}, {2, 50}, {8, 12}, {16, 11}})
    r.cases.push_back(make_case("mlp", "mlp/k", {{"k", k}, {"working_set_bytes", 256.0 * kMiB}}, {{"ns_per_load", ns}}));
  for (const auto& [pct, ns, gb] : std::vector<std::tuple<int, double, double>>{{100, 150, 20}, {0, 100, 0}, {50, 120, 10}})
    r.cases.push_back(make_case("loaded", "loaded/i", {{"intensity_pct", pct}},
                                {{"ns_per_load", ns}, {"background_gb_per_s", gb}}));
  return r;
}

// The mixes as the bandwidth family reports them: read and copy carry mix
// 1:0 and 1:1, the three mix kernels only their mix.
Results synthetic_mixes() {
  Results r;
  r.machine.caches = {{1, "data", 32.0 * kKiB, 64, 8}, {2, "unified", 1.0 * kMiB, 64, 8}};
  const std::vector<std::pair<const char*, const char*>> kernels = {
      {"triad", "triad"}, {"copy", "1:1"}, {"mix_2_1", "2:1"}, {"read", "1:0"}, {"mix_3_1", "3:1"}, {"write", ""}};
  for (const int threads : {2, 1})
    for (const auto& [kernel, mix] : kernels)
      for (const double ws : {512.0 * kKiB, 64.0 * kMiB}) {
        nlohmann::json params = {{"kernel", kernel}, {"threads", threads}, {"working_set_bytes", ws},
                                 {"vector", "avx2"},  {"page", "thp"}};
        if (*mix) params["mix"] = mix;
        r.cases.push_back(make_case("bandwidth", "bandwidth/x", params,
                                    {{"gb_per_s", threads * (ws > kMiB ? 10.0 : 100.0) + std::string(kernel).size()}}));
      }
  return r;
}

// synthetic(), derived by the three families.
class DeriveBandwidthTest : public ::testing::Test {
 protected:
  void SetUp() override { derive_bandwidth_mlp_loaded(r_); }
  const nlohmann::json& section(const char* member) const { return r_.derived.extra.at(member); }
  Results r_ = synthetic();
};

TEST_F(DeriveBandwidthTest, RowsInThreadKernelWorkingSetOrder) {
  const auto& rows = section("bandwidth");
  ASSERT_EQ(rows.size(), 12U);
  EXPECT_EQ(rows[0]["threads"], 1);
  EXPECT_EQ(rows[0]["kernel"], "read");
  EXPECT_EQ(rows[0]["working_set_bytes"], 16.0 * kKiB);
  EXPECT_EQ(rows[0]["level"], "L1");
  EXPECT_EQ(rows[1]["level"], "L2");
  EXPECT_EQ(rows[2]["level"], "DRAM");
  EXPECT_EQ(rows[3]["kernel"], "copy");
  EXPECT_EQ(rows[6]["threads"], 2);
  EXPECT_EQ(rows[0]["vector"], "avx512");
  EXPECT_DOUBLE_EQ(rows[0]["gb_per_s"].get<double>(), 100.0 * 1e6 / (16.0 * kKiB));
}

TEST_F(DeriveBandwidthTest, MlpSpeedupsAndParallelism) {
  const auto& mlp = section("mlp");
  ASSERT_EQ(mlp.size(), 5U);
  EXPECT_EQ(mlp[0]["k"], 1);
  EXPECT_DOUBLE_EQ(mlp[0]["speedup_vs_k1"].get<double>(), 1.0);
  EXPECT_DOUBLE_EQ(mlp[3]["speedup_vs_k1"].get<double>(), 100.0 / 12);
  const auto& p = section("mlp_parallelism");
  EXPECT_EQ(p["k"], 8);  // 1/12 >= 0.9 * 1/11
  EXPECT_EQ(p["saturated"], true);
  EXPECT_DOUBLE_EQ(p["saturation"].get<double>(), kMlpSaturation);
}

TEST_F(DeriveBandwidthTest, LoadedLatencyByIntensity) {
  const auto& rows = section("loaded");
  ASSERT_EQ(rows.size(), 3U);
  EXPECT_EQ(rows[0]["intensity_pct"], 0);
  EXPECT_EQ(rows[2]["intensity_pct"], 100);
  EXPECT_DOUBLE_EQ(rows[2]["background_gb_per_s"].get<double>(), 20);
  EXPECT_DOUBLE_EQ(rows[2]["latency_vs_idle"].get<double>(), 1.5);
}

TEST_F(DeriveBandwidthTest, IdempotentAndRemovesWhatIsGone) {
  testing::expect_rederive_idempotent_and_gone(r_, derive_bandwidth_mlp_loaded,
                                               {"bandwidth", "mlp", "mlp_parallelism", "loaded"});
  Results mixes = synthetic_mixes();
  derive_bandwidth_mlp_loaded(mixes);
  testing::expect_rederive_idempotent_and_gone(mixes, derive_bandwidth_mlp_loaded,
                                               {"bandwidth", "bandwidth_mix", "mlp", "mlp_parallelism", "loaded"});
}

TEST(RenderBandwidthTest, TablesCarryTheFigures) {
  Results r = synthetic();
  derive_bandwidth_mlp_loaded(r);
  const std::string bw = render_bandwidth_table(r);
  EXPECT_NE(bw.find("read GB/s"), std::string::npos) << bw;
  EXPECT_NE(bw.find("copy GB/s"), std::string::npos) << bw;
  EXPECT_LT(bw.find("read GB/s"), bw.find("copy GB/s")) << bw;
  EXPECT_NE(bw.find("DRAM"), std::string::npos) << bw;
  EXPECT_NE(bw.find("avx512"), std::string::npos) << bw;
  const std::string mlp = render_mlp_table(r);
  EXPECT_NE(mlp.find("8.33x"), std::string::npos) << mlp;
  EXPECT_NE(mlp.find("Effective parallelism: k = 8"), std::string::npos) << mlp;
  const std::string loaded = render_loaded_table(r);
  EXPECT_NE(loaded.find("100 %"), std::string::npos) << loaded;
  EXPECT_NE(loaded.find("1.50x"), std::string::npos) << loaded;
  const std::string csv = render_mlp_table(r, TableFormat::kCsv);
  EXPECT_EQ(csv.rfind("# ", 0), 0U) << csv;
  EXPECT_EQ(render_bandwidth_table(Results{}), "");
  EXPECT_EQ(render_mlp_table(Results{}), "");
  EXPECT_EQ(render_loaded_table(Results{}), "");
}

TEST(DeriveBandwidthMixTest, MixRowsByMixThreadsWorkingSet) {
  Results r = synthetic_mixes();
  derive_bandwidth(r);
  // The four kernels' table keeps read, write and copy, not the mix kernels.
  const auto& base = r.derived.extra.at("bandwidth");
  ASSERT_EQ(base.size(), 3U * 2 * 2);
  for (const auto& row : base) EXPECT_LT(std::string("read write copy").find(row["kernel"].get<std::string>()), 20U);
  const std::vector<BandwidthMixRow> mixes = bandwidth_mix_rows(r);
  ASSERT_EQ(mixes.size(), 5U * 2 * 2);
  const std::vector<std::string> order = {"1:0", "3:1", "2:1", "1:1", "triad"};
  for (std::size_t m = 0; m < order.size(); ++m) {
    EXPECT_EQ(mixes[4 * m].mix, order[m]);
    EXPECT_EQ(mixes[4 * m].threads, 1);
    EXPECT_EQ(mixes[4 * m].working_set_bytes, 512.0 * kKiB);
    EXPECT_EQ(mixes[4 * m].level, "L2");
    EXPECT_EQ(mixes[4 * m + 1].level, "DRAM");
    EXPECT_EQ(mixes[4 * m + 3].threads, 2);
  }
  EXPECT_DOUBLE_EQ(mixes[4].gb_per_s, 100.0 + 7);  // 3:1, 1 thread, L2: "mix_3_1"
  EXPECT_EQ(mixes[0].vector, "avx2");
}

TEST(RenderBandwidthTest, MixTableHasAMixPerRowAndAPointPerColumn) {
  Results r = synthetic_mixes();
  derive_bandwidth(r);
  const std::string text = render_bandwidth_table(r);
  // The title says what is counted; a column per (working set, threads).
  for (const char* part : {"Read:write mixes", "bytes read + bytes written", "L2 512 KiB x1 GB/s",
                           "DRAM 64 MiB x1 GB/s", "L2 512 KiB x2 GB/s", "DRAM 64 MiB x2 GB/s"})
    EXPECT_NE(text.find(part), std::string::npos) << part << "\n" << text;
  // Rows in MLC's order; 3:1 at DRAM on 2 threads = 2 * 10 + 7.
  std::size_t at = text.find("Read:write mixes");
  for (const char* mix : {"1:0", "3:1", "2:1", "1:1", "triad"}) {
    const std::size_t next = text.find(std::string("\n") + mix, at);
    ASSERT_NE(next, std::string::npos) << mix << "\n" << text;
    at = next;
  }
  EXPECT_NE(text.find("27.0"), std::string::npos) << text;
  // The mix kernels are not columns of the four kernels' table.
  EXPECT_EQ(text.find("mix_3_1 GB/s"), std::string::npos) << text;
  EXPECT_EQ(text.find("triad GB/s"), std::string::npos) << text;
  const std::string csv = render_bandwidth_table(r, TableFormat::kCsv);
  EXPECT_NE(csv.find("triad,"), std::string::npos) << csv;
  // The default run: 3:1, 2:1 and triad only at DRAM on 2 threads; the mix
  // table has that column alone (read and copy elsewhere are in the table above).
  std::erase_if(r.cases, [](const Case& c) {
    return c.params.at("kernel") != "read" && c.params.at("kernel") != "copy" &&
           (c.params.at("threads") != 2 || c.params.at("working_set_bytes") != 64.0 * kMiB);
  });
  derive_bandwidth(r);
  const std::string reduced = render_bandwidth_table(r);
  EXPECT_NE(reduced.find("DRAM 64 MiB x2 GB/s"), std::string::npos) << reduced;
  EXPECT_EQ(reduced.find("L2 512 KiB x2 GB/s"), std::string::npos) << reduced;
  EXPECT_EQ(reduced.find("DRAM 64 MiB x1 GB/s"), std::string::npos) << reduced;
  EXPECT_EQ(reduced.find("—", reduced.find("Read:write")), std::string::npos) << "no empty cells\n" << reduced;
}

TEST(RenderBandwidthTest, SummaryGivesTheMixesAtDramOnAllThreads) {
  Results r = synthetic_mixes();
  derive_bandwidth(r);
  const std::vector<SummaryLine> lines = bandwidth_summary(r);
  ASSERT_EQ(lines.size(), 1U);
  EXPECT_EQ(lines[0].what, "bandwidth mixes");
  EXPECT_EQ(lines[0].measured.rfind("DRAM 64 MiB, 2 threads: 1:0 24.0, 3:1 27.0, 2:1 27.0, 1:1 24.0, triad 25.0 GB/s", 0),
            0U)
      << lines[0].measured;
  EXPECT_TRUE(bandwidth_summary(Results{}).empty());
  // Without mix cases: no summary line, no mix table.
  Results plain = synthetic();
  derive_bandwidth(plain);
  EXPECT_TRUE(bandwidth_summary(plain).empty());
  EXPECT_EQ(render_bandwidth_table(plain).find("Read:write"), std::string::npos);
}

TEST(RenderBandwidthTest, UnavailableReasonsAreShown) {
  Results r;
  r.unavailable.push_back({"loaded/intensity:50", "needs at least 2 CPUs"});
  derive_bandwidth_mlp_loaded(r);
  const std::string loaded = render_loaded_table(r);
  EXPECT_NE(loaded.find("needs at least 2 CPUs"), std::string::npos) << loaded;
}

}  // namespace
}  // namespace memprobe::analysis
