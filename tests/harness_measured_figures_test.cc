// Every reader judges what was measured (issue 26): report, compare, the
// regression gate and fleet derive their figures from a file's cases
// (analysis::load_run), never from the conclusions the file stores; and each
// class of hostile results file is refused, or said, at its root. Run through
// the memprobe binary on files built from a kept real run.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <string>

#include "analysis/loaded_run.h"
#include "analysis/results_json.h"
#include "tests/command_runner.h"
#include "tests/expect_error_line.h"
#include "tests/kept_results.h"
#include "tests/temp_dir_test.h"

namespace memprobe {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

using testing::kept_latency_run;
using testing::scaled;

class MeasuredFiguresTest : public testing::TempDirTest {
 protected:
  MeasuredFiguresTest() : TempDirTest("memprobe-measured") {}
  std::string write(const std::string& name, const std::string& text) {
    const fs::path path = dir_ / name;
    fs::create_directories(path.parent_path());
    std::ofstream(path) << text;
    return path.string();
  }
  std::string write(const std::string& name, const json& doc) { return write(name, doc.dump(1)); }
};

// The cache levels with a latency that the current analysis derives from A.
std::vector<std::string> measured_levels(const std::string& path) {
  std::vector<std::string> levels;
  for (const auto& row : analysis::load_run(path).results.derived.cache_levels)
    if (row.latency_ns) levels.push_back(row.level);
  return levels;
}

TEST_F(MeasuredFiguresTest, SlowerMeasurementsUnderUnchangedStoredConclusionsFailTheGate) {
  const json a_doc = kept_latency_run();
  const std::string a = write("a.json", a_doc);
  const std::string b = write("b.json", scaled(a_doc, 1.25));
  const auto levels = measured_levels(a);
  ASSERT_GE(levels.size(), 2u) << "the kept run yields cache levels";

  auto r = memprobe("compare --fail-on-regression 5 " + a + " " + b);
  EXPECT_EQ(r.exit_status, 3) << r.out << r.err;
  EXPECT_NE(r.out.find("regression gate: FAIL"), std::string::npos) << r.out;
  for (const std::string& level : levels) {
    const auto row = r.out.find("cache " + level + " latency_ns");
    ASSERT_NE(row, std::string::npos) << level << "\n" << r.out;
    const std::string line = r.out.substr(row, r.out.find('\n', row) - row);
    EXPECT_NE(line.find("1.25"), std::string::npos) << line;
    EXPECT_NE(line.find("slower"), std::string::npos) << line;
  }
  // B's stored conclusions are A's: said, once per file.
  EXPECT_NE(r.err.find("memprobe: note: " + b + ": its stored derived figures"), std::string::npos) << r.err;

  r = memprobe("compare --fail-on-regression 5 --format junit " + a + " " + b);
  EXPECT_EQ(r.exit_status, 3) << r.err;
  EXPECT_NE(r.out.find("<failure type=\"regression\""), std::string::npos) << r.out;

  // Without the stored section at all, B still compares by its cases.
  json bare = scaled(a_doc, 1.25);
  bare.erase("derived");
  const std::string b_bare = write("b-bare.json", bare);
  r = memprobe("compare --fail-on-regression 5 " + a + " " + b_bare);
  EXPECT_EQ(r.exit_status, 3) << r.out << r.err;
  EXPECT_EQ(r.out.find("only in A"), std::string::npos) << r.out;

  // report shows B's own measurements, and says the stored section disagrees.
  r = memprobe("report " + b);
  EXPECT_EQ(r.exit_status, 0) << r.err;
  EXPECT_NE(r.err.find("its stored derived figures"), std::string::npos) << r.err;
}

// A file whose stored section is what this version derives (what `memprobe
// run` writes) gets no note: the note is about a real disagreement.
TEST_F(MeasuredFiguresTest, AFileWithThisVersionsConclusionsGetsNoNote) {
  const std::string kept = write("kept.json", kept_latency_run());
  const std::string rewritten = (dir_ / "rewritten.json").string();
  analysis::write_results_atomic(rewritten, analysis::load_run(kept).results);
  EXPECT_EQ(analysis::load_run(rewritten).stored_derived_note, "");
  const auto r = memprobe("report " + rewritten);
  EXPECT_EQ(r.exit_status, 0) << r.err;
  EXPECT_EQ(r.err, "");
}

TEST_F(MeasuredFiguresTest, FleetFlagsTheSlowerNodeAmongCopies) {
  const json a_doc = kept_latency_run();
  for (int i = 0; i < 6; ++i) write("fleet/a" + std::to_string(i) + ".json", a_doc);
  const std::string b = write("fleet/b.json", scaled(a_doc, 1.25));
  const auto r = memprobe("fleet --fail-on-outlier " + (dir_ / "fleet").string());
  EXPECT_EQ(r.exit_status, 3) << r.out << r.err;
  EXPECT_NE(r.out.find(b + ": L1 ns"), std::string::npos) << r.out;
  for (int i = 0; i < 6; ++i)
    EXPECT_EQ(r.out.find("a" + std::to_string(i) + ".json: "), std::string::npos) << r.out;
}

// Class: an ambiguous file. A key given twice means two things to two
// readers, at any depth and in any section.
TEST_F(MeasuredFiguresTest, ADuplicateKeyAnywhereIsRefusedWithItsPointer) {
  const std::string text = kept_latency_run().dump(1);
  struct Place {
    std::string anchor;   // text the duplicate is put after
    std::string pointer;  // where it is named
  };
  const Place places[] = {
      {"\"ns_per_load\": ", "/cases/0/metrics/ns_per_load"},
      {"\"cpu_model\": ", "/machine/cpu_model"},
      {"\"working_set_bytes\": ", "/cases/0/params/working_set_bytes"},
      {"\"cache_levels\": ", "/derived/cache_levels"},
  };
  for (const Place& place : places) {
    std::string doubled = text;
    const auto at = doubled.find(place.anchor);
    ASSERT_NE(at, std::string::npos) << place.anchor;
    const std::string key = place.anchor.substr(0, place.anchor.find(':'));
    doubled.insert(at, key + ": 999.0, ");
    const std::string path = write("duplicate.json", doubled);
    for (const std::string& command : {"report " + path, "compare " + path + " " + path, "fleet " + path})
      testing::expect_one_error_line(memprobe(command), command, {path, place.pointer, "twice"});
  }
}

// Class: an inconsistent file. A case's metric is the median its spread
// describes: a file where they disagree contradicts itself.
TEST_F(MeasuredFiguresTest, MetricsThatDisagreeWithTheirSpreadAreRefused) {
  json doc = kept_latency_run();
  for (json& c : doc["cases"]) c["metrics"]["ns_per_load"] = c["metrics"]["ns_per_load"].get<double>() * 10;
  const std::string path = write("inconsistent.json", doc);
  testing::expect_one_error_line(memprobe("report " + path), "report", {path, "/cases/0/metrics/ns_per_load"});
}

// Class: impossible values. Every time (a name with a time unit) is above 0,
// a rate is never negative, the measured (headline) figure of a case is
// above 0, and its spread is ordered and positive.
TEST_F(MeasuredFiguresTest, ImpossibleTimesRatesAndSpreadsAreRefused) {
  const json good = kept_latency_run();
  struct Mistake {
    std::string pointer;
    json value;
  };
  const Mistake mistakes[] = {
      {"/cases/3/metrics/ns_per_load", -1.0},        {"/cases/3/metrics/ns_per_load", 0},
      {"/cases/3/metrics/cycles_per_load", 0},       {"/cases/3/metrics/us_per_fault", -2.5},
      {"/cases/3/metrics/us_per_page", 0},           {"/cases/3/metrics/gb_per_s", -3.0},
      {"/cases/3/metrics/background_gb_per_s", -1},  {"/cases/3/spread/max", 0.5},
  };
  for (const Mistake& m : mistakes) {
    json doc = good;
    doc[json::json_pointer(m.pointer)] = m.value;
    const std::string path = write("impossible.json", doc);
    testing::expect_one_error_line(memprobe("report " + path), m.pointer + " = " + m.value.dump(), {path, m.pointer});
  }
  // The spread of a latency is above 0 at its low end too.
  json doc = good;
  const double median = doc["cases"][3]["metrics"]["ns_per_load"].get<double>();
  doc["cases"][3]["spread"] = {{"repetitions", 3}, {"min", -1.0}, {"median", median}, {"max", median * 1.1}};
  std::string path = write("negative-spread.json", doc);
  testing::expect_one_error_line(memprobe("report " + path), "negative spread", {path, "/cases/3/spread/min"});
  // A bandwidth case measured 0 GB/s: its measured figure, so impossible.
  doc = good;
  doc["cases"] = json::array({{{"family", "bandwidth"},
                               {"name", "bandwidth/read/1t/64MiB"},
                               {"params", {{"kernel", "read"}, {"threads", 1}, {"working_set_bytes", 67108864}}},
                               {"metrics", {{"gb_per_s", 0}}},
                               {"spread", {{"repetitions", 3}, {"min", 0}, {"median", 0}, {"max", 0}}}}});
  path = write("zero-bandwidth.json", doc);
  testing::expect_one_error_line(memprobe("report " + path), "zero bandwidth", {path, "/cases/0/metrics/gb_per_s"});
}

// Class: an empty measurement. No cases: nothing derived, whatever the file
// stores, and said.
TEST_F(MeasuredFiguresTest, NoCasesDerivesNothingAndSaysSo) {
  json doc = kept_latency_run();
  doc["cases"] = json::array();
  const std::string path = write("fleet/empty.json", doc);
  auto r = memprobe("report " + path);
  EXPECT_EQ(r.exit_status, 0) << r.err;
  EXPECT_NE(r.out.find("no cases"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("latency ns"), std::string::npos) << "no cache table from no cases:\n" << r.out;
  write("fleet/copy.json", doc);
  r = memprobe("fleet --format json " + (dir_ / "fleet").string());
  ASSERT_EQ(r.exit_status, 0) << r.err;
  const json fleet = json::parse(r.out);  // a named value: the loop must not outlive a temporary's member
  for (const json& group : fleet["groups"])
    for (const json& run : group["runs"])
      for (const json& value : run["values"]) EXPECT_TRUE(value.is_null()) << run["file"] << ": " << value;
}

// Class: a gate that compared nothing. With every case renamed (another
// family, 2x slower) A and B share no figure: the gate fails and says why.
TEST_F(MeasuredFiguresTest, AGateThatComparedNothingFails) {
  const json a_doc = kept_latency_run();
  json b_doc = scaled(a_doc, 2.0);
  for (json& c : b_doc["cases"]) {
    c["family"] = "renamed";
    c["name"] = "renamed/" + c["name"].get<std::string>();
  }
  const std::string a = write("a.json", a_doc);
  const std::string b = write("b.json", b_doc);
  auto r = memprobe("compare --fail-on-regression 5 " + a + " " + b);
  EXPECT_EQ(r.exit_status, 3) << r.out << r.err;
  EXPECT_NE(r.out.find("regression gate: FAIL: A and B share no figure"), std::string::npos) << r.out;
  r = memprobe("compare --fail-on-regression 5 --format junit " + a + " " + b);
  EXPECT_EQ(r.exit_status, 3) << r.err;
  EXPECT_NE(r.out.find("<failure type=\"nothing compared\""), std::string::npos) << r.out;
}

// Class: a silent skip. A *.json entry fleet cannot read as a file is named
// on stderr with the reason.
TEST_F(MeasuredFiguresTest, FleetNamesTheEntriesItSkips) {
  const json a_doc = kept_latency_run();
  for (int i = 0; i < 3; ++i) write("fleet/a" + std::to_string(i) + ".json", a_doc);
  const fs::path dir = dir_ / "fleet";
  fs::create_symlink(dir / "nowhere", dir / "dangling.json");
  fs::create_symlink(dir / "loop.json", dir / "loop.json");
  fs::create_directory(dir / "directory.json");
  const auto r = memprobe("fleet " + dir.string());
  EXPECT_EQ(r.exit_status, 0) << r.err;
  EXPECT_NE(r.out.find("3 runs"), std::string::npos) << r.out;
  for (const char* name : {"dangling.json", "loop.json", "directory.json"}) {
    const std::string prefix = "memprobe: fleet: skipped " + (dir / name).string() + ": ";
    EXPECT_NE(r.err.find(prefix), std::string::npos) << name << "\n" << r.err;
  }
  EXPECT_NE(r.err.find("No such file or directory"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("Too many levels of symbolic links"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace memprobe
