// The protocol every case runs under, whatever its family: interruption,
// failures in any repetition, and what Google Benchmark 1.7.1 needs of both.
//
// Google Benchmark calls a case function several times in its first
// repetition (growing iteration counts, until the time is long enough) and
// once per later repetition, with the count the first one settled on: a call
// whose count does not exceed the previous call's starts a later repetition.
// It aborts (ComputeStats check) when a case's repetitions disagree on their
// iteration count, and crashes on a skip inside the loop with an automatic
// iteration count. So:
// - an interruption skips only cases not yet started; a case under way runs
//   all its repetitions (partly skipped repetitions abort);
// - a failure in the first repetition skips it, and every later repetition
//   skips before its loop with the same reason (the counts agree);
// - a failure in a later repetition runs its iterations empty and carries
//   the reason in its label (kFailedLabelPrefix): the harness then reports
//   the whole case as unavailable, never a median over the repetitions that
//   did run.
// The class decides; benchmarks/family.h applies its decisions to a
// benchmark::State (register_case, fail_case). It holds no State, so its
// decisions are tested on their own (tests/benchmarks_case_protocol_test.cc).
#pragma once

#include <benchmark/benchmark.h>

#include <string>
#include <string_view>

namespace memprobe::bench {

// The message interrupted cases skip with; the harness drops them quietly.
inline constexpr const char* kInterruptedMessage = "interrupted";
// A label that starts with this marks a later repetition that failed.
inline constexpr std::string_view kFailedLabelPrefix = "memprobe-failed: ";

class CaseProtocol {
 public:
  // What a call of a case function does before the case body runs.
  struct Entry {
    bool run = true;          // false: skip the call (before its loop) with skip_reason
    std::string skip_reason;
  };
  // A call of the case function starts: Google Benchmark asks for
  // max_iterations; `interrupted`: the run was asked to stop.
  Entry enter(benchmark::IterationCount max_iterations, bool interrupted);

  // What a call that cannot measure does.
  enum class Failure {
    kSkip,      // skip the call (before its loop) with the returned reason
    kRunEmpty,  // a later repetition: run the iterations empty, the reason in the label
  };
  // The current call failed with `reason` ("failed" if empty).
  Failure fail(const std::string& reason);
  // The reason the case's first repetition failed with; empty if it did not.
  const std::string& first_failure() const { return first_failure_; }

  // Every repetition of the case has been reported: the next call starts a
  // new case.
  void finish();

 private:
  bool in_progress_ = false;
  benchmark::IterationCount previous_call_iterations_ = 0;
  bool later_repetition_ = false;
  std::string first_failure_;
};

}  // namespace memprobe::bench
