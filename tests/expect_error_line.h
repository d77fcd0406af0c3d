// The one-line refusal every bad input gets: exit status 2, a single
// `memprobe: error: ...` line naming what was wrong, nothing on stdout
// (nothing was measured).
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/command_runner.h"

namespace memprobe::testing {

inline void expect_one_error_line(const CommandResult& r, const std::string& what, const std::vector<std::string>& names) {
  EXPECT_EQ(r.exit_status, 2) << what << "\n" << r.err;
  const auto lines = r.err_lines();
  ASSERT_EQ(lines.size(), 1u) << what << ": one line, nothing measured\n" << r.err;
  EXPECT_EQ(lines[0].rfind("memprobe: error: ", 0), 0u) << lines[0];
  for (const std::string& name : names)
    EXPECT_NE(lines[0].find(name), std::string::npos) << what << ": should name '" << name << "': " << lines[0];
  EXPECT_EQ(r.out, "") << what;
}

}  // namespace memprobe::testing
