// Checks on a family's derived section (analysis/family_support.h) shared by
// the analysis tests.
#pragma once

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <functional>
#include <initializer_list>

#include "analysis/results.h"

namespace memprobe::analysis::testing {

// `r` already derived by `derive`: deriving again changes nothing, and once
// the cases are gone deriving removes each of `members` from the section.
inline void expect_rederive_idempotent_and_gone(Results& r,
                                                const std::function<void(Results&)>& derive,
                                                std::initializer_list<const char*> members) {
  const nlohmann::json once = r.derived.extra;
  derive(r);
  EXPECT_EQ(r.derived.extra, once);
  r.cases.clear();
  derive(r);
  for (const char* member : members) EXPECT_FALSE(r.derived.extra.contains(member)) << member;
}

}  // namespace memprobe::analysis::testing
