// Checks on rendered text (tables, reports, command output) shared by the
// tests: one assertion a needle, the whole text shown when one is missing.
#pragma once

#include <gtest/gtest.h>

#include <initializer_list>
#include <string>

namespace memprobe::testing {

// Each of `needles` occurs in `text`: one EXPECT a needle.
inline void expect_contains_each(const std::string& text, std::initializer_list<std::string> needles) {
  for (const std::string& needle : needles)
    EXPECT_NE(text.find(needle), std::string::npos) << "missing \"" << needle << "\" in:\n" << text;
}

}  // namespace memprobe::testing
