// Results files built from a kept real run (results/), for tests that need
// real measurements rather than hand-written conclusions.
#pragma once

#include <nlohmann/json.hpp>

#include <fstream>
#include <string>

namespace memprobe::testing {

// A kept real run's latency cases, as `memprobe run --only latency` would
// have written them, with the stored derived section as the run wrote it.
inline nlohmann::json kept_latency_run() {
  std::ifstream in(std::string(MEMPROBE_SOURCE_DIR) + "/results/intel-fam6-model167-kvm-2cpu/2026-12-02-765c029.json");
  nlohmann::json doc = nlohmann::json::parse(in);
  nlohmann::json latency = nlohmann::json::array();
  for (const nlohmann::json& c : doc["cases"])
    if (c["family"] == "latency") latency.push_back(c);
  doc["cases"] = latency;
  return doc;
}

// Every case's metrics and spread min/median/max times `factor`; the stored
// derived section left as it was.
inline nlohmann::json scaled(nlohmann::json doc, double factor) {
  for (nlohmann::json& c : doc["cases"]) {
    for (auto& [name, value] : c["metrics"].items())
      if (value.is_number()) value = value.get<double>() * factor;
    for (const char* member : {"min", "median", "max"})
      c["spread"][member] = c["spread"][member].get<double>() * factor;
  }
  return doc;
}

}  // namespace memprobe::testing
