// The `compare` and `fleet` commands: load the files, run the analysis,
// print, and turn the verdict into an exit status (3 when the gate fails or
// a run is flagged; bad input is a UsageError or ResultsError, exit 2).
#pragma once

#include <optional>
#include <ostream>
#include <string>
#include <vector>

namespace memprobe::harness {

// Exit status of a failed regression gate or a flagged fleet run.
inline constexpr int kExitFlagged = 3;

struct CompareCommand {
  std::vector<std::string> a_files, b_files;  // each side one or more runs
  std::string format = "text";                // text, csv, junit
  bool all_cases = false;
  std::optional<double> fail_on_regression_pct;
};

// `memprobe compare A1 A2 -- B1 B2`: takes what follows "--" (the B files,
// verbatim) off the command line, so that the option parser sees only the
// options and the A files; nullopt (argc unchanged) for another command or
// without "--".
std::optional<std::vector<std::string>> take_compare_b_files(int& argc, char** argv);

// The sides: with "--" (b_files set), `files` are the A files; without it,
// exactly two files, A and B.
void split_compare_sides(const std::vector<std::string>& files, const std::optional<std::vector<std::string>>& b_files,
                         CompareCommand& command);

int compare_command(const CompareCommand& command, std::ostream& out);

// FILE|DIR... -> the results files: a directory contributes its *.json
// files (not recursive), sorted by name. UsageError for a directory without
// any, or a path that is neither. A *.json entry that is no regular file (a
// dangling or looping symbolic link, a directory, a FIFO) is skipped and
// named on `skipped`, one line with the reason.
std::vector<std::string> fleet_files(const std::vector<std::string>& paths, std::ostream& skipped);

int fleet_command(const std::vector<std::string>& paths, const std::string& format, bool fail_on_outlier,
                  std::ostream& out);

}  // namespace memprobe::harness
