// Every kept results file (results/<machine>/*.json) replayed through the one
// derive path: each derived member it stores either agrees with this
// version's derivation from its cases, or the analysis change that moved it
// is named below. A member that moves without a named change fails, and so
// does a named change that no longer moves anything (the list stays true).
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <map>
#include <set>
#include <string>

#include "analysis/loaded_run.h"
#include "analysis/results_json.h"

namespace memprobe::analysis {
namespace {

using nlohmann::json;

// Numbers equal to 9 significant digits, everything else exactly.
bool same_value(const json& a, const json& b) {
  if (a.is_number() && b.is_number()) {
    const double x = a.get<double>(), y = b.get<double>();
    return std::fabs(x - y) <= 1e-9 * std::max(std::fabs(x), std::fabs(y));
  }
  if (a.type() != b.type()) return false;
  if (a.is_object()) {
    if (a.size() != b.size()) return false;
    for (auto it = a.begin(); it != a.end(); ++it)
      if (!b.contains(it.key()) || !same_value(it.value(), b.at(it.key()))) return false;
    return true;
  }
  if (a.is_array()) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
      if (!same_value(a[i], b[i])) return false;
    return true;
  }
  return a == b;
}

// The derived members (cache_levels and each family table) whose stored
// value differs from the fresh derivation's.
std::set<std::string> moved_members(const json& stored, const json& derived) {
  std::set<std::string> moved;
  for (const json* side : {&stored, &derived})
    for (auto it = side->begin(); it != side->end(); ++it) {
      const json* s = stored.contains(it.key()) ? &stored.at(it.key()) : nullptr;
      const json* d = derived.contains(it.key()) ? &derived.at(it.key()) : nullptr;
      if (!s || !d || !same_value(*s, *d)) moved.insert(it.key());
    }
  return moved;
}

// Why a member of the files written before an analysis change reads
// otherwise now. A member listed here may move in any file older than the
// change; files written since agree.
const std::map<std::string, std::string>& analysis_changes() {
  static const std::map<std::string, std::string> changes = {
      {"cache_levels", "figure_working_set_bytes, the drift family's re-measurement point (336d14b), added after "
                       "the file was written"},
      {"bandwidth", "a bandwidth set is named by the level its size falls in among the measured sizes: sets past "
                    "the measured L3 knee read DRAM, not L3"},
      {"dram_translation", "DRAM + translation, a table added after the file was written"},
      {"drift", "the drift table's end-of-run spread (61c683b)"},
      {"stride", "the line probe: the stride sets bound the prefetchers, never the line (issue 22)"},
      {"stride_line_estimate_bytes", "the line comes from the line probe only: a file without one has none (issue 22)"},
      {"stride_line_probe", "the line probe's evidence table (issue 22)"},
      {"tlb", "DTLB levels by the first lasting rise (issue 22)"},
      {"tlb_walk_steps", "walk-cost steps kept apart from the DTLB levels (issue 22)"},
  };
  return changes;
}

TEST(KeptDerivationsTest, EveryKeptFileAgreesWithItsFreshDerivationOrTheChangeIsNamed) {
  namespace fs = std::filesystem;
  std::size_t files = 0, agreeing = 0;
  std::set<std::string> moved_anywhere;
  for (const auto& entry : fs::recursive_directory_iterator(fs::path(MEMPROBE_SOURCE_DIR) / "results")) {
    if (entry.path().extension() != ".json") continue;
    ++files;
    const std::string path = entry.path().string();
    const Results stored = load_results(path);
    const LoadedRun fresh = load_run(path);
    const std::set<std::string> moved =
        moved_members(to_json(stored).at("derived"), to_json(fresh.results).at("derived"));
    for (const std::string& member : moved)
      EXPECT_TRUE(analysis_changes().count(member))
          << path << ": derived." << member << " moved, and no analysis change names it";
    // The one derive path says so exactly when something moved.
    EXPECT_EQ(fresh.stored_derived_note.empty(), moved.empty()) << path << ": " << fresh.stored_derived_note;
    agreeing += moved.empty();
    moved_anywhere.insert(moved.begin(), moved.end());
  }
  for (const auto& [member, change] : analysis_changes())
    EXPECT_TRUE(moved_anywhere.count(member)) << "derived." << member << " moves in no kept file: '" << change
                                              << "' is no longer needed here";
  EXPECT_GT(files, 0u);
  // The reference run of the current analysis agrees entirely.
  EXPECT_GT(agreeing, 0u) << "no kept file was written by this analysis";
}

}  // namespace
}  // namespace memprobe::analysis
