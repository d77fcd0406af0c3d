#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <limits>

#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <system_error>

#include "analysis/results_json.h"
#include "tests/command_runner.h"
#include "tests/kvm_machine.h"

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
  m = testing::kvm_amd_machine("AMD EPYC 7B13", "6.1.0-18-cloud-amd64", 2.445e9, 3.2412e9);
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
  c.spread = {10, 3.65, 3.7, 3.8};  // the spread is of the same repetitions as the metric
  r.cases.push_back(c);

  r.unavailable.push_back({"latency/hugetlb-1g", "no 1 GiB hugetlb pages reserved"});

  CacheLevelRow row;
  row.level = "L1";
  row.reported_bytes = 32768;
  row.detected_bytes = 32768;
  row.latency_ns = 1.23;
  row.latency_cycles = 3.99;
  row.spread_pct = 1.5;
  row.figure_bytes = 16384;
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
  EXPECT_EQ(back.derived.cache_levels[0].figure_bytes, 16384.0);
  EXPECT_FALSE(back.derived.cache_levels[1].figure_bytes.has_value());
  EXPECT_FALSE(back.derived.cache_levels[1].latency_ns.has_value());
  EXPECT_EQ(back.derived.cache_levels[1].note, "sweep did not reach DRAM");
}

TEST(ResultsJsonTest, TlbSourceCpuFamilyAndPageSizesRoundTripAndOlderFilesLoadWithout) {
  Results r = sample_results();
  r.machine.tlb_source = "CPUID leaf 0x80000006";
  r.machine.cpu_family = 26;
  r.machine.base_page_bytes = 4096;
  r.machine.thp_page_bytes = 2 << 20;
  const Results back = results_from_json(to_json(r));
  EXPECT_EQ(back.machine.tlb_source, "CPUID leaf 0x80000006");
  EXPECT_EQ(back.machine.cpu_family, std::optional<double>(26));
  EXPECT_EQ(back.machine.base_page_bytes, std::optional<double>(4096));
  EXPECT_EQ(back.machine.thp_page_bytes, std::optional<double>(2 << 20));
  json older = to_json(r);
  for (const char* key : {"tlb_source", "cpu_family", "base_page_bytes", "thp_page_bytes"}) older["machine"].erase(key);
  const Results old = results_from_json(older);
  EXPECT_EQ(old.machine.tlb_source, "");
  EXPECT_FALSE(old.machine.cpu_family.has_value());
  EXPECT_FALSE(old.machine.base_page_bytes.has_value());
  EXPECT_FALSE(old.machine.thp_page_bytes.has_value());
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
  EXPECT_EQ(doc["derived"]["cache_levels"][0]["figure_working_set_bytes"], 16384);
  EXPECT_FALSE(doc["derived"]["cache_levels"][1].contains("figure_working_set_bytes"));
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
  EXPECT_EQ(message_of([&] { results_from_json(doc); }), "/cases: missing");

  doc = good;
  doc.erase("machine");
  EXPECT_EQ(message_of([&] { results_from_json(doc); }), "/machine: missing");

  doc = good;
  doc["cases"][1]["metrics"] = "fast";
  EXPECT_EQ(message_of([&] { results_from_json(doc); }), "/cases/1/metrics: expected an object");

  doc = good;
  doc["cases"][0].erase("family");
  EXPECT_EQ(message_of([&] { results_from_json(doc); }), "/cases/0/family: missing");

  doc = good;
  doc["cases"][0]["metrics"]["ns_per_load"] = "4.1";
  EXPECT_EQ(message_of([&] { results_from_json(doc); }), "/cases/0/metrics/ns_per_load: expected a number or null");

  doc = good;
  doc["machine"]["caches"][2]["size_bytes"] = "32M";
  EXPECT_EQ(message_of([&] { results_from_json(doc); }), "/machine/caches/2/size_bytes: expected a number");

  doc = good;
  doc["cases"] = json::object();
  EXPECT_EQ(message_of([&] { results_from_json(doc); }), "/cases: expected an array");

  doc = good;
  doc["unavailable"][0].erase("reason");
  EXPECT_EQ(message_of([&] { results_from_json(doc); }), "/unavailable/0/reason: missing");
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
  EXPECT_EQ(message_of([&] { load_results(mistyped); }), mistyped + ": /cases/1/metrics: expected an object");
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

namespace memprobe::analysis {
namespace {

// ---- hostile files (issue 13, rows 4, 5, 7, 12, 14, 17) ----------------------

namespace hostile {

// The one-line message load_results gives for `text` written to a file.
std::string load_message(const TempDir& dir, const std::string& name, const std::string& text) {
  const std::string path = dir.file(name);
  write_text(path, text);
  return message_of([&] { load_results(path); });
}

void expect_one_line_naming(const std::string& message, const std::string& path, const std::string& what) {
  EXPECT_NE(message.find(path + ": "), std::string::npos) << message;
  EXPECT_NE(message.find(what), std::string::npos) << message;
  EXPECT_EQ(message.find('\n'), std::string::npos) << message;
  EXPECT_EQ(message.find("json.exception"), std::string::npos) << message;
}

// `document` with `nested` (e.g. 100,000 '[') spliced in as the value of
// `key` inside the object at `pointer`.
std::string with_nested(const json& document, const std::string& pointer, const std::string& key, std::size_t depth) {
  json marked = document;
  marked[json::json_pointer(pointer)][key] = "@NESTED@";
  std::string text = marked.dump();
  text.replace(text.find("\"@NESTED@\""), 10, std::string(depth, '[') + std::string(depth, ']'));
  return text;
}

}  // namespace hostile

TEST(ResultsLoaderTest, DeepNestingIsRefusedWithOneLineNamingTheFile) {
  TempDir dir;
  const json good = to_json(sample_results());
  // 100,000 levels once overflowed the stack in the copy after parsing.
  for (const auto& [pointer, key] : std::vector<std::pair<std::string, std::string>>{
           {"", "unknown_member"}, {"/cases/0/params", "extra"}, {"/derived", "tlb_rows"}}) {
    const std::string path = dir.file("deep.json");
    write_text(path, hostile::with_nested(good, pointer, key, 100000));
    const std::string message = message_of([&] { load_results(path); });
    hostile::expect_one_line_naming(message, path, "nested deeper than 64 levels");
  }
  // Brackets inside strings are text, not nesting.
  json in_string = good;
  in_string["note"] = std::string(100000, '[');
  const std::string path = dir.file("brackets_in_a_string.json");
  write_text(path, in_string.dump());
  EXPECT_EQ(load_results(path).extra["note"], std::string(100000, '['));
  // The schema's own depth and a little more are fine.
  write_text(path, hostile::with_nested(good, "", "shallow", kMaxResultsNesting - 2));
  EXPECT_NO_THROW(load_results(path));
}

TEST(ResultsLoaderTest, OnlyRegularFilesAreReadAndAFifoDoesNotBlock) {
  TempDir dir;
  const std::string fifo = dir.file("results.fifo");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0) << std::strerror(errno);
  // No writer ever opens it: a blocking open or read would hang here.
  hostile::expect_one_line_naming(message_of([&] { load_results(fifo); }), fifo, "a FIFO, not a regular file");
  hostile::expect_one_line_naming(message_of([&] { load_results("/dev/zero"); }), "/dev/zero",
                                  "a character device, not a regular file");
  const std::string directory = dir.file("a_directory");
  fs::create_directories(directory);
  EXPECT_EQ(message_of([&] { load_results(directory); }), "cannot read " + directory + ": Is a directory");
}

TEST(ResultsLoaderTest, AFileAboveTheSizeLimitIsRefusedWithoutReadingIt) {
  TempDir dir;
  const std::string path = dir.file("huge.json");
  write_text(path, "{");
  // Sparse: no disk space, and the loader must not read it anyway.
  fs::resize_file(path, kMaxResultsFileBytes + 1);
  hostile::expect_one_line_naming(message_of([&] { load_results(path); }), path,
                                  "larger than 256 MiB, the most a results file may be");
}

TEST(ResultsLoaderTest, EveryMistypedMemberIsNamedByItsJsonPointer) {
  TempDir dir;
  const json good = to_json(sample_results());
  struct Mistake {
    std::string pointer;
    json value;
    std::string problem;
  };
  const std::vector<Mistake> mistakes = {
      {"/cases/1/params/page", 4, "expected a string"},
      {"/cases/0/params/working_set_bytes", "1MiB", "expected a number"},
      {"/interrupted", "yes", "expected true or false"},
      {"/cases/0/counters", json::array({1, 2}), "expected an object"},
      {"/cases/0/counters/page-faults", "many", "expected a number or null"},
      {"/derived/tlb/0", json::array({1}), "expected an object"},
      {"/derived/tlb/0/page", 4096, "expected a string"},
      {"/derived/tlb/0/detected_entries", "64", "expected a number or null"},
      {"/derived/latency_curve_page", 4, "expected a string"},
      {"/machine/logical_cpus", 1000000000000LL, "expected an integer from 1 to 65536 (got 1000000000000)"},
      {"/machine/logical_cpus", 0, "expected an integer from 1 to 65536"},
      {"/machine/logical_cpus", 2.5, "expected an integer from 1 to 65536"},
      {"/machine/caches/0/ways", 4294967297LL, "expected an integer from -1"},
      {"/machine/caches/0/level", -3, "expected an integer from 0 to 16"},
      {"/machine/tsc_hz", -1, "expected a number from 0"},
      {"/machine/pmu/available", "no", "expected true or false"},
      {"/cases/0/spread/repetitions", 1e10, "expected an integer"},
      {"/cases/0/spread/noisy", 1, "expected true or false"},
      {"/cases/0/backing/huge_fraction", 7, "expected a number from 0 to 1"},
      {"/cases/0/name", json::object(), "expected a string"},
      {"/seed", -1, "expected an integer from 0 to 18446744073709551615"},
      {"/seed", 1.5, "expected an integer from 0 to 18446744073709551615"},
      {"/counters", json::object(), "expected an array"},
      {"/counters/0", "cycles", "expected an object"},
  };
  for (const Mistake& m : mistakes) {
    SCOPED_TRACE(m.pointer + " = " + m.value.dump());
    json doc = good;
    if (m.pointer == "/counters/0") doc["counters"] = json::array();
    doc[json::json_pointer(m.pointer)] = m.value;
    const std::string path = dir.file("mistyped.json");
    write_text(path, doc.dump());
    const std::string message = message_of([&] { load_results(path); });
    hostile::expect_one_line_naming(message, path, m.pointer + ": " + m.problem);
  }
}

TEST(ResultsLoaderTest, ANumberBeyondADoubleIsAnErrorNamingTheFile) {
  TempDir dir;
  std::string text = to_json(sample_results()).dump();
  text.replace(text.find("2445000000"), 10, "1e999");
  const std::string message = hostile::load_message(dir, "overflow.json", text);
  hostile::expect_one_line_naming(message, dir.file("overflow.json"), "1e999");
}

TEST(ResultsLoaderTest, ANullMetricReadsAsMissingNotNan) {
  json doc = to_json(sample_results());
  doc["cases"][0]["metrics"]["ns_per_load"] = nullptr;
  doc["cases"][0]["counters"]["page-faults"] = nullptr;
  const Results r = results_from_json(doc);
  EXPECT_EQ(r.cases[0].metrics.count("ns_per_load"), 0u);
  EXPECT_EQ(r.cases[0].metrics.at("cycles_per_load"), 13.28);
  EXPECT_EQ(r.cases[0].counters.count("page-faults"), 0u);
}

TEST(ResultsLoaderTest, ALargestSeedRoundTripsExactly) {
  TempDir dir;
  Results r = sample_results();
  constexpr std::uint64_t kSeed = std::numeric_limits<std::uint64_t>::max();
  r.extra["seed"] = kSeed;
  r.cases[0].params["seed"] = kSeed;
  const std::string path = dir.file("seed.json");
  write_results_atomic(path, r);
  EXPECT_NE(read_text(path).find("\"seed\": 18446744073709551615"), std::string::npos);
  const Results back = load_results(path);
  ASSERT_TRUE(back.extra["seed"].is_number_unsigned());
  EXPECT_EQ(back.extra["seed"].get<std::uint64_t>(), kSeed);
  ASSERT_TRUE(back.cases[0].params["seed"].is_number_unsigned());
  EXPECT_EQ(back.cases[0].params["seed"].get<std::uint64_t>(), kSeed);
}

TEST(ResultsLoaderTest, ControlCharactersInAnErrorAreEscaped) {
  TempDir dir;
  json doc = to_json(sample_results());
  // A key is part of the pointer named: "..._bytes" must be a number.
  doc["cases"][0]["params"]["\x1b[2J_bytes"] = "x";
  const std::string message = hostile::load_message(dir, "escape.json", doc.dump());
  EXPECT_NE(message.find("/cases/0/params/\\x1b[2J_bytes: expected a number"), std::string::npos) << message;
  EXPECT_EQ(message.find('\x1b'), std::string::npos) << message;
  // A parse error quotes the file's bytes: escaped as well.
  const std::string broken = hostile::load_message(dir, "broken.json", "{\"schema\": \x1b[31m}");
  EXPECT_EQ(broken.find('\x1b'), std::string::npos) << broken;
  EXPECT_EQ(broken.find('\n'), std::string::npos) << broken;
}

}  // namespace
}  // namespace memprobe::analysis
