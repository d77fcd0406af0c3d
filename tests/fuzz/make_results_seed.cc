// Writes a tiny, valid results document (clearly synthetic values, current
// schema) for the results-loader fuzzer's seed corpus: built from the writer,
// so the seed follows the schema whatever it becomes.
#include <fstream>
#include <iostream>

#include "analysis/results_json.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: make_results_seed OUT.json\n";
    return 2;
  }
  memprobe::analysis::Results r;
  r.command = "memprobe run (synthetic fuzz seed)";
  r.started_at = "2000-01-01T00:00:00Z";
  r.git = "synthetic";
  r.machine.cpu_model = "synthetic";
  r.machine.vendor = "synthetic";
  r.machine.logical_cpus = 1;
  r.machine.caches.push_back({1, "data", 1024, 64, 2});
  r.machine.tlb.push_back({1, 4096, 4.0});
  memprobe::analysis::Case c;
  c.family = "latency";
  c.name = "latency/4k/1KiB";
  c.params["working_set_bytes"] = 1024;
  c.metrics["ns_per_load"] = 1.0;
  c.spread.repetitions = 1;
  c.spread.min = c.spread.median = c.spread.max = 1.0;
  c.backing.requested = c.backing.verified = "4k";
  r.cases.push_back(c);
  r.unavailable.push_back({"synthetic figure", "synthetic reason"});
  std::ofstream(argv[1]) << memprobe::analysis::to_json(r).dump(1) << '\n';
  return 0;
}
