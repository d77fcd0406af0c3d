// The line size: read off the line probe (random chunks, a second dependent
// load offset_bytes below the first), never off the fixed-stride walks, whose
// jump the prefetchers move. Synthetic curves for the rule, then every kept
// results file replayed: the line where the file probed it, and where it did
// not, no line at all (the stride jump is only a bound on the prefetchers).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "analysis/derived.h"
#include "analysis/families/stride.h"
#include "analysis/results_json.h"
#include "analysis/tables.h"
#include "tests/derived_checks.h"

namespace memprobe::analysis {
namespace {

constexpr double kOffsetsBytes[] = {8, 16, 32, 64, 128, 256, 512};

Case probe_case(double offset_bytes, double ns, double spread_ns) {
  Case c;
  c.family = "stride";
  c.name = "stride/line_probe/offset:" + std::to_string(static_cast<int>(offset_bytes));
  c.params = {{"role", "line_probe"}, {"offset_bytes", offset_bytes}, {"chunk_bytes", 768}, {"chunks", 384},
              {"working_set_bytes", 384 * 768},  {"page", "thp"}};
  c.metrics = {{"ns_per_load", ns}};
  c.spread = {5, ns - spread_ns / 2, ns, ns + spread_ns / 2, false};
  return c;
}

Case stride_case(double ws, double stride, double ns) {
  Case c;
  c.family = "stride";
  c.name = "stride/" + std::to_string(static_cast<int>(ws)) + "/stride:" + std::to_string(static_cast<int>(stride));
  c.params = {{"working_set_bytes", ws},
              {"stride_bytes", stride},
              {"pattern", stride <= 64 ? "sequential" : "strided"},
              {"page", "thp"},
              {"lines_touched", ws / std::max(64.0, stride)}};
  c.metrics = {{"ns_per_load", ns}};
  c.spread = {5, ns * 0.99, ns, ns * 1.01, false};
  return c;
}

// A probe curve: `low` per load while the second load shares the first's
// line (offset < line), `high` from the line on.
std::vector<LineProbePoint> step_at(double line_bytes, double low, double high, double spread_ns) {
  std::vector<LineProbePoint> points;
  for (const double k : kOffsetsBytes) points.push_back({k, k < line_bytes ? low : high, std::nullopt, spread_ns});
  return points;
}

Results machine_with_line(double hwloc_line_bytes) {
  Results r;
  r.machine.core_hz = 3.6e9;
  r.machine.caches = {{1, "data", 49152, hwloc_line_bytes, 12}, {2, "unified", 1048576, hwloc_line_bytes, 16}};
  return r;
}

TEST(LineProbeTest, StepAtTheLineIsReadAsTheLine) {
  for (const double line : {32.0, 64.0, 128.0, 256.0}) {
    const LineProbeReading reading = read_line_probe(step_at(line, 2.5, 3.9, 0.05));
    ASSERT_TRUE(reading.line_bytes.has_value()) << line << ": " << reading.evidence;
    EXPECT_EQ(*reading.line_bytes, line) << reading.evidence;
    EXPECT_NE(reading.evidence.find("line probe: the second load costs a miss from"), std::string::npos)
        << reading.evidence;
  }
}

TEST(LineProbeTest, PartialStepsAndOrderDoNotMoveTheLine) {
  // An adjacent-line prefetcher that hides part of the first miss: the step
  // at the line is partial but past half, the rest comes one doubling later.
  std::vector<LineProbePoint> points = {{512, 4.0, std::nullopt, 0.05}, {8, 2.5, std::nullopt, 0.05},
                                        {16, 2.52, std::nullopt, 0.05}, {32, 2.49, std::nullopt, 0.05},
                                        {64, 3.5, std::nullopt, 0.05},  {128, 3.9, std::nullopt, 0.05},
                                        {256, 3.95, std::nullopt, 0.05}};
  EXPECT_EQ(read_line_probe(points).line_bytes, 64);
  // A rise that stays below half of the step is not the line.
  points[4].ns = 3.0;
  EXPECT_EQ(read_line_probe(points).line_bytes, 128);
}

TEST(LineProbeTest, OutlierBelowTheLineIsNamedNotRead) {
  std::vector<LineProbePoint> points = step_at(64, 2.5, 3.9, 0.05);
  points[1].ns = 3.8;  // 16 B: one disturbed point, followed by a cheap 32 B
  const LineProbeReading reading = read_line_probe(points);
  EXPECT_EQ(reading.line_bytes, 64);
  EXPECT_NE(reading.evidence.find("16 B past half the step too"), std::string::npos) << reading.evidence;
}

TEST(LineProbeTest, FlatCurveGivesNoFigureWithTheReason) {
  const LineProbeReading flat = read_line_probe(step_at(64, 3.0, 3.0, 0.05));
  EXPECT_FALSE(flat.line_bytes.has_value());
  EXPECT_NE(flat.evidence.find("flat line probe"), std::string::npos) << flat.evidence;
  EXPECT_NE(flat.evidence.find("not above 3x the repetition spread"), std::string::npos) << flat.evidence;

  // A step as large as the repetitions' own spread is no step either.
  const LineProbeReading noisy = read_line_probe(step_at(64, 2.5, 3.9, 1.0));
  EXPECT_FALSE(noisy.line_bytes.has_value());
  EXPECT_NE(noisy.evidence.find("flat line probe"), std::string::npos) << noisy.evidence;

  // Repetitions that agree to a hundredth of a ns do not make a 5 % rise a
  // miss: the step must also exceed the noisy-spread fraction of the cost.
  const LineProbeReading slight = read_line_probe(step_at(64, 3.0, 3.15, 0.01));
  EXPECT_FALSE(slight.line_bytes.has_value());
  EXPECT_NE(slight.evidence.find("flat line probe"), std::string::npos) << slight.evidence;
  EXPECT_TRUE(read_line_probe(step_at(64, 3.0, 3.45, 0.01)).line_bytes.has_value());

  // Cheaper at the largest offset than at the smallest: no step.
  EXPECT_FALSE(read_line_probe(step_at(64, 3.9, 2.5, 0.05)).line_bytes.has_value());
}

TEST(LineProbeTest, NoFigureWithoutASpreadTooFewPointsOrOnlyThe512ByteOffset) {
  std::vector<LineProbePoint> no_spread = step_at(64, 2.5, 3.9, 0);
  for (LineProbePoint& p : no_spread) p.spread_ns.reset();
  const LineProbeReading unjudged = read_line_probe(no_spread);
  EXPECT_FALSE(unjudged.line_bytes.has_value());
  EXPECT_NE(unjudged.evidence.find("no repetition spread"), std::string::npos) << unjudged.evidence;

  const LineProbeReading two = read_line_probe({{8, 2.5, std::nullopt, 0.05}, {512, 3.9, std::nullopt, 0.05}});
  EXPECT_FALSE(two.line_bytes.has_value());
  EXPECT_NE(two.evidence.find("too few"), std::string::npos) << two.evidence;

  const LineProbeReading beyond = read_line_probe(step_at(512, 2.5, 3.9, 0.05));
  EXPECT_FALSE(beyond.line_bytes.has_value());
  EXPECT_NE(beyond.evidence.find("reads lines up to 256 B only"), std::string::npos) << beyond.evidence;
}

// The Zen 4 stride shape: in the cache the adjacent-line prefetcher hides a
// 64 B stride, so the cost jumps at 128 B, twice the line.
const std::vector<std::pair<double, double>> kStrideJumpAtTwiceTheLine = {
    {8, 1.10},    {16, 1.10},   {32, 1.11},   {64, 1.15},   {128, 1.67},  {256, 1.62},
    {512, 4.39},  {1024, 4.78}, {2048, 6.13}, {4096, 6.99}, {8192, 6.67}, {16384, 6.74}};

TEST(LineSizeTest, StrideJumpAtTwiceTheLineIsNeverReadAsTheLine) {
  Results r = machine_with_line(64);
  for (const auto& [stride, ns] : kStrideJumpAtTwiceTheLine) r.cases.push_back(stride_case(3 * 1048576.0, stride, ns));
  // Without the probe: no line, and the stride figure is the prefetchers'.
  derive_stride(r);
  EXPECT_TRUE(r.derived.extra.at("stride_line_estimate_bytes").is_null());
  std::string table = render_stride_table(r);
  EXPECT_NE(table.find("the prefetchers hide strides up to 64 B"), std::string::npos) << table;
  EXPECT_NE(table.find("line size: none (the line size was not probed in this file"), std::string::npos) << table;
  EXPECT_EQ(table.find("line size: 128 B"), std::string::npos) << table;

  // With the probe: the line is the probe's, the stride table still shows
  // the prefetchers.
  for (const LineProbePoint& p : step_at(64, 2.5, 3.9, 0.05)) r.cases.push_back(probe_case(p.offset_bytes, p.ns, 0.05));
  derive_stride(r);
  EXPECT_EQ(r.derived.extra.at("stride_line_estimate_bytes"), 64);
  const nlohmann::json& probe = r.derived.extra.at("stride_line_probe");
  EXPECT_EQ(probe.at("agrees_with_hwloc"), true);
  EXPECT_EQ(probe.at("prefetch_hidden_stride_bytes"), 64);
  EXPECT_EQ(probe.at("points").size(), std::size(kOffsetsBytes));
  table = render_stride_table(r);
  EXPECT_NE(table.find("line size: 64 B (line probe"), std::string::npos) << table;
  const std::string summary = render_summary(r);
  EXPECT_NE(summary.find("64 B (line probe; hwloc 64 B) | the prefetchers hide strides up to 64 B"), std::string::npos)
      << summary;
  EXPECT_NE(table.find("hwloc reports 64 B lines too"), std::string::npos) << table;
  EXPECT_NE(table.find("the prefetchers hide strides up to 64 B"), std::string::npos) << table;
  // The probe's cases are no stride set.
  ASSERT_EQ(stride_sets(r).size(), 1u);
  EXPECT_EQ(stride_sets(r)[0].points.size(), kStrideJumpAtTwiceTheLine.size());
}

TEST(LineSizeTest, DisagreementWithHwlocIsSaid) {
  Results r = machine_with_line(128);
  for (const LineProbePoint& p : step_at(64, 2.5, 3.9, 0.05)) r.cases.push_back(probe_case(p.offset_bytes, p.ns, 0.05));
  derive_stride(r);
  EXPECT_EQ(r.derived.extra.at("stride_line_probe").at("agrees_with_hwloc"), false);
  const std::string table = render_stride_table(r);
  EXPECT_NE(table.find("line size: 64 B"), std::string::npos) << table;
  EXPECT_NE(table.find("hwloc reports 128 B lines: the probe and hwloc disagree"), std::string::npos) << table;
  EXPECT_NE(render_summary(r).find("64 B (line probe; hwloc 128 B: they disagree)"), std::string::npos)
      << render_summary(r);

  // Idempotent, and gone with the family's cases.
  testing::expect_rederive_idempotent_and_gone(r, derive_stride,
                                               {"stride_line_probe", "stride_line_estimate_bytes"});
}

TEST(LineSizeTest, ProbeLeftOutOfARunSaysWhy) {
  Results r = machine_with_line(64);
  for (const auto& [stride, ns] : kStrideJumpAtTwiceTheLine) r.cases.push_back(stride_case(3 * 1048576.0, stride, ns));
  r.unavailable.push_back({"stride/line_probe/offset:8", "skipped: the line probe needs a working set of at least "
                                                         "288 KiB; --max-working-set is 128 KiB"});
  derive_stride(r);
  EXPECT_TRUE(r.derived.extra.at("stride_line_estimate_bytes").is_null());
  const std::string table = render_stride_table(r);
  EXPECT_NE(table.find("line size: none (the line size was not probed in this file: its line-probe cases were left "
                       "out (skipped: the line probe needs"),
            std::string::npos)
      << table;
}

TEST(LineSizeTest, FlatProbeInAFileSaysWhy) {
  Results r = machine_with_line(64);
  for (const double k : kOffsetsBytes) r.cases.push_back(probe_case(k, 3.0, 0.05));
  derive_stride(r);
  EXPECT_TRUE(r.derived.extra.at("stride_line_estimate_bytes").is_null());
  const std::string table = render_stride_table(r);
  EXPECT_NE(table.find("line size: none (flat line probe"), std::string::npos) << table;
}

// Every kept results file (results/<machine>/*.json) and, where this
// machine has it, the shared corpus (/work/shared/corpus/<machine>/*.json).
// results/amd-fam25-model17-kvm-2cpu/2026-12-0{6,7}-5076050-default*.json are
// copies of that corpus's Zen 4 files (`memprobe run --out` at 5076050,
// before the probe existed: their stride sets jump at 128 B in one file and
// 64 B in another). results/amd-fam26-model2-bhyve-2cpu/ holds the reference
// run (scripts/reference_run.sh) on the Zen 5 guest (CPU family 26; the tool
// reads its hypervisor as bhyve) at b48da6d, with the probe. All are x86
// machines with 64 B lines (public specs: AMD Zen 3/4/5, Intel Golden Cove). A file with probe cases must read
// the line within one step of the probe's doubling grid; a file without them
// must give no line.
std::vector<std::filesystem::path> kept_results_files() {
  namespace fs = std::filesystem;
  std::vector<fs::path> files;
  for (const fs::path& root : {fs::path(MEMPROBE_SOURCE_DIR) / "results", fs::path("/work/shared/corpus")}) {
    std::error_code ec;
    if (!fs::is_directory(root, ec)) continue;
    for (auto it = fs::recursive_directory_iterator(root, ec); !ec && it != fs::recursive_directory_iterator();
         it.increment(ec))
      if (it->path().extension() == ".json") files.push_back(it->path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

constexpr double kX86LineBytes = 64;  // public spec of every machine kind kept so far
constexpr double kOneProbeStep = 2;   // the probe's offsets double

TEST(LineSizeCorpusTest, EveryKeptFileReadsTheLineOnlyFromTheProbe) {
  const auto files = kept_results_files();
  ASSERT_FALSE(files.empty());
  for (const auto& path : files) {
    Results r = load_results(path.string());
    ASSERT_TRUE(r.machine.vendor == "AMD" || r.machine.vendor == "Intel")
        << path << ": vendor " << r.machine.vendor << " has no line-size expectation here";
    derive_all(r);
    ASSERT_TRUE(r.derived.extra.contains("stride_line_probe")) << path;
    const nlohmann::json& probe = r.derived.extra.at("stride_line_probe");
    const std::string table = render_stride_table(r);
    if (line_probe_points(r).empty()) {
      EXPECT_TRUE(r.derived.extra.at("stride_line_estimate_bytes").is_null()) << path;
      EXPECT_NE(table.find("line size: none (the line size was not probed in this file"), std::string::npos)
          << path << "\n" << table;
      // The stride figure is a bound on the prefetchers, never a line.
      if (!probe.at("prefetch_hidden_stride_bytes").is_null()) {
        EXPECT_NE(table.find("the prefetchers hide strides up to"), std::string::npos) << path << "\n" << table;
      }
      continue;
    }
    ASSERT_TRUE(probe.at("line_bytes").is_number()) << path << ": " << probe.at("evidence");
    const double line = probe.at("line_bytes").get<double>();
    EXPECT_LE(std::max(line / kX86LineBytes, kX86LineBytes / line), kOneProbeStep)
        << path << ": " << probe.at("evidence");
    EXPECT_EQ(r.derived.extra.at("stride_line_estimate_bytes"), line) << path;
  }
}

}  // namespace
}  // namespace memprobe::analysis
