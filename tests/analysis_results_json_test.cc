#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <system_error>

#include "analysis/results_json.h"
#include "tests/command_runner.h"

namespace memprobe::analysis {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

Results sample_results() {
  Results r;
  r.command = "memprobe run --only latency --out r.json";
  r.started_at = "2024-05-01T12:00:00Z";
  r.git = "v0.1-3-gabcdef";
  MachineInfo& m = r.machine;
  m.cpu_model = "AMD EPYC 7B13";
  m.vendor = "AMD";
  m.logical_cpus = 2;
  m.kernel = "6.1.0-18-cloud-amd64";
  m.hypervisor = "KVM";
  m.tsc_hz = 2.445e9;
  m.core_hz = 3.2412e9;
  m.core_hz_source = "calibrated";
  m.caches = {{1, "data", 32768, 64, 8}, {2, "unified", 524288, 64, 8}, {3, "unified", 33554432, 64, 16}};
  TlbInfo l1;
  l1.level = 1;
  l1.page_bytes = 4096;
  l1.entries = 64;
  TlbInfo unknown;
  unknown.level = 1;
  unknown.page_bytes = 1073741824;
  m.tlb = {l1, unknown};
  m.thp_enabled = "madvise";
  m.thp_defrag = "madvise";
  m.hugepages_2m_reserved = 16;
  m.hugepages_1g_reserved = 0;
  m.pmu_available = false;
  m.pmu_reason = "perf_event_open(cycles): No such file or directory (no hardware PMU exposed)";

  Case c;
  c.family = "latency";
  c.name = "latency/4k/bytes:1048576";
  c.params = {{"working_set_bytes", 1048576}, {"page", "4k"}, {"stride_bytes", 64}};
  c.metrics = {{"ns_per_load", 4.1}, {"cycles_per_load", 13.28}};
  c.spread = {10, 4.05, 4.1, 4.2};
  c.backing = {"4k", "4k", 0.0};
  c.counters = {{"page-faults", 0}};
  r.cases.push_back(c);
  c.name = "latency/thp/bytes:1048576";
  c.params["page"] = "thp";
  c.backing = {"thp", "mixed", 0.5};
  c.metrics["ns_per_load"] = 3.7;
  r.cases.push_back(c);

  r.unavailable.push_back({"latency/hugetlb-1g", "no 1 GiB hugetlb pages reserved"});

  CacheLevelRow row;
  row.level = "L1";
  row.reported_bytes = 32768;
  row.detected_bytes = 32768;
  row.latency_ns = 1.23;
  row.latency_cycles = 3.99;
  row.spread_pct = 1.5;
  r.derived.cache_levels.push_back(row);
  CacheLevelRow dram;
  dram.level = "DRAM";
  dram.note = "sweep did not reach DRAM";
  r.derived.cache_levels.push_back(dram);
  r.derived.extra["latency_curve_page"] = "4k";
  r.derived.extra["tlb"] = json::array({{{"level", "L1 DTLB"}, {"page", "4k"}}});

  r.extra["memprobe_version"] = "0.1.0";
  r.extra["seed"] = 42;
  return r;
}

std::string message_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const ResultsError& e) {
    return e.what();
  }
  return "(no ResultsError)";
}

// A fresh directory under the system temp directory, removed afterwards.
class TempDir {
 public:
  TempDir() {
    path_ = fs::temp_directory_path() /
            ("memprobe_results_json_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter_++));
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  static inline int counter_ = 0;
  fs::path path_;
};

void write_text(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(ResultsJsonTest, RoundTripIsLossless) {
  const json first = to_json(sample_results());
  const Results back = results_from_json(first);
  EXPECT_EQ(to_json(back), first);
  EXPECT_EQ(to_json(back).dump(2), first.dump(2));

  EXPECT_EQ(back.machine.hypervisor, std::optional<std::string>("KVM"));
  ASSERT_EQ(back.machine.tlb.size(), 2u);
  EXPECT_FALSE(back.machine.tlb[1].entries.has_value());
  ASSERT_EQ(back.cases.size(), 2u);
  EXPECT_EQ(back.cases[1].backing.verified, "mixed");
  EXPECT_DOUBLE_EQ(back.cases[0].metrics.at("cycles_per_load"), 13.28);
  EXPECT_EQ(back.cases[0].params["page"], "4k");
  EXPECT_EQ(back.extra["seed"], 42);
  EXPECT_EQ(back.derived.extra["latency_curve_page"], "4k");
  ASSERT_EQ(back.derived.cache_levels.size(), 2u);
  EXPECT_FALSE(back.derived.cache_levels[1].latency_ns.has_value());
  EXPECT_EQ(back.derived.cache_levels[1].note, "sweep did not reach DRAM");
}

TEST(ResultsJsonTest, DocumentFollowsTheSchema) {
  const json doc = to_json(sample_results());
  EXPECT_EQ(doc["schema"], "memprobe/1");
  EXPECT_EQ(doc["machine"]["hypervisor"], "KVM");
  EXPECT_EQ(doc["machine"]["caches"][0]["size_bytes"], 32768);
  EXPECT_TRUE(doc["machine"]["caches"][0]["size_bytes"].is_number_integer());
  EXPECT_TRUE(doc["machine"]["tlb"][1]["entries"].is_null());
  EXPECT_EQ(doc["machine"]["thp"]["enabled"], "madvise");
  EXPECT_EQ(doc["machine"]["hugepages"]["2m_reserved"], 16);
  EXPECT_EQ(doc["machine"]["pmu"]["available"], false);
  EXPECT_EQ(doc["machine"]["core_hz_source"], "calibrated");
  EXPECT_EQ(doc["cases"][0]["spread"]["repetitions"], 10);
  EXPECT_EQ(doc["cases"][0]["backing"]["requested"], "4k");
  EXPECT_EQ(doc["cases"][0]["counters"]["page-faults"], 0);
  EXPECT_EQ(doc["unavailable"][0]["what"], "latency/hugetlb-1g");
  EXPECT_EQ(doc["derived"]["cache_levels"][0]["latency_cycles"], 3.99);
  EXPECT_FALSE(doc["derived"]["cache_levels"][1].contains("reported_bytes"));
  EXPECT_TRUE(doc["derived"]["cache_levels"][1]["latency_ns"].is_null());
  EXPECT_EQ(doc["derived"]["latency_curve_page"], "4k");
  EXPECT_TRUE(doc["derived"]["tlb"].is_array());
  EXPECT_EQ(doc["memprobe_version"], "0.1.0");

  Results bare = sample_results();
  bare.machine.hypervisor.reset();
  EXPECT_TRUE(to_json(bare)["machine"]["hypervisor"].is_null());
  EXPECT_FALSE(results_from_json(to_json(bare)).machine.hypervisor.has_value());
}

TEST(ResultsJsonTest, WrongOrMissingSchemaIsNamed) {
  json doc = to_json(sample_results());
  doc["schema"] = "foo/2";
  EXPECT_EQ(message_of([&] { results_from_json(doc); }), "not a memprobe/1 results file (schema 'foo/2')");
  doc.erase("schema");
  EXPECT_EQ(message_of([&] { results_from_json(doc); }), "not a memprobe results file (no 'schema')");
  EXPECT_EQ(message_of([&] { results_from_json(json::array()); }),
            "not a memprobe results file (expected a JSON object)");
}

TEST(ResultsJsonTest, MissingOrMistypedMembersAreNamed) {
  const json good = to_json(sample_results());
  json doc = good;
  doc.erase("cases");
  EXPECT_EQ(message_of([&] { results_from_json(doc); }), "cases: missing");

  doc = good;
  doc.erase("machine");
  EXPECT_EQ(message_of([&] { results_from_json(doc); }), "machine: missing");

  doc = good;
  doc["cases"][1]["metrics"] = "fast";
  EXPECT_EQ(message_of([&] { results_from_json(doc); }), "cases[1].metrics: expected an object");

  doc = good;
  doc["cases"][0].erase("family");
  EXPECT_EQ(message_of([&] { results_from_json(doc); }), "cases[0].family: missing");

  doc = good;
  doc["cases"][0]["metrics"]["ns_per_load"] = "4.1";
  EXPECT_EQ(message_of([&] { results_from_json(doc); }), "cases[0].metrics.ns_per_load: expected a number");

  doc = good;
  doc["machine"]["caches"][2]["size_bytes"] = "32M";
  EXPECT_EQ(message_of([&] { results_from_json(doc); }), "machine.caches[2].size_bytes: expected a number");

  doc = good;
  doc["cases"] = json::object();
  EXPECT_EQ(message_of([&] { results_from_json(doc); }), "cases: expected an array");

  doc = good;
  doc["unavailable"][0].erase("reason");
  EXPECT_EQ(message_of([&] { results_from_json(doc); }), "unavailable[0].reason: missing");
}

TEST(ResultsJsonTest, LoadReadsWhatWriteWrote) {
  TempDir dir;
  const std::string path = dir.file("r.json");
  write_results_atomic(path, sample_results());
  EXPECT_FALSE(memprobe::testing::temp_file_left(path));
  EXPECT_EQ(to_json(load_results(path)), to_json(sample_results()));
  // Pretty-printed, two-space indent.
  EXPECT_EQ(read_text(path), to_json(sample_results()).dump(2) + "\n");

  Results changed = sample_results();
  changed.command = "memprobe run --quick";
  write_results_atomic(path, changed);
  EXPECT_EQ(load_results(path).command, "memprobe run --quick");
  EXPECT_FALSE(memprobe::testing::temp_file_left(path));
}

TEST(ResultsJsonTest, LoadErrorsNameTheFileAndTheProblem) {
  TempDir dir;
  const std::string missing = dir.file("missing.json");
  EXPECT_EQ(message_of([&] { load_results(missing); }), "cannot read " + missing + ": No such file or directory");

  const std::string empty = dir.file("empty.json");
  write_text(empty, "");
  EXPECT_EQ(message_of([&] { load_results(empty); }), empty + ": empty file");

  const std::string text = to_json(sample_results()).dump(2);
  const std::string truncated = dir.file("truncated.json");
  write_text(truncated, text.substr(0, text.size() / 2));
  const std::string truncated_message = message_of([&] { load_results(truncated); });
  EXPECT_EQ(truncated_message.rfind(truncated + ": not valid JSON (truncated?): ", 0), 0u) << truncated_message;
  EXPECT_NE(truncated_message.find("parse error at line"), std::string::npos) << truncated_message;
  EXPECT_EQ(truncated_message.find("json.exception"), std::string::npos) << truncated_message;

  const std::string garbage = dir.file("garbage.json");
  write_text(garbage, "level  reported  detected\nL1  32 KiB\n");
  EXPECT_EQ(message_of([&] { load_results(garbage); }).rfind(garbage + ": not valid JSON", 0), 0u);

  const std::string other = dir.file("other.json");
  write_text(other, R"({"schema": "memprobe/2", "cases": []})");
  EXPECT_EQ(message_of([&] { load_results(other); }), other + ": not a memprobe/1 results file (schema 'memprobe/2')");

  const std::string benchmark_json = dir.file("gb.json");
  write_text(benchmark_json, R"({"context": {}, "benchmarks": []})");
  EXPECT_EQ(message_of([&] { load_results(benchmark_json); }),
            benchmark_json + ": not a memprobe results file (no 'schema')");

  json bad = to_json(sample_results());
  bad["cases"][1]["metrics"] = json::array();
  const std::string mistyped = dir.file("mistyped.json");
  write_text(mistyped, bad.dump());
  EXPECT_EQ(message_of([&] { load_results(mistyped); }), mistyped + ": cases[1].metrics: expected an object");
}

TEST(ResultsJsonTest, FailedWriteThrowsAndLeavesNothingBehind) {
  TempDir dir;
  const std::string path = dir.file("no-such-dir/r.json");
  try {
    write_results_atomic(path, sample_results());
    FAIL() << "expected std::system_error";
  } catch (const std::system_error& e) {
    EXPECT_EQ(std::string(e.what()).rfind("cannot write " + path + ".tmp", 0), 0u) << e.what();
    EXPECT_EQ(e.code().value(), ENOENT);
  }
  EXPECT_FALSE(fs::exists(dir.file("no-such-dir")));
}

TEST(ResultsJsonTest, FailedWriteLeavesTheOldFileIntact) {
  TempDir dir;
  const std::string path = dir.file("r.json");
  write_results_atomic(path, sample_results());
  const std::string before = read_text(path);
  // The temp name is taken by a directory, so the write fails even as root.
  fs::create_directory(path + ".tmp." + std::to_string(::getpid()));
  Results changed = sample_results();
  changed.command = "memprobe run --quick";
  EXPECT_THROW(write_results_atomic(path, changed), std::system_error);
  EXPECT_EQ(read_text(path), before);
  EXPECT_EQ(load_results(path).command, sample_results().command);
}

}  // namespace
}  // namespace memprobe::analysis
