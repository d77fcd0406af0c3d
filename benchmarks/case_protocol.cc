#include "benchmarks/case_protocol.h"

namespace memprobe::bench {

CaseProtocol::Entry CaseProtocol::enter(benchmark::IterationCount max_iterations, bool interrupted) {
  // Skipped before the loop like the first repetition, so the counts agree.
  if (!first_failure_.empty()) return {false, first_failure_};
  if (interrupted && !in_progress_) return {false, kInterruptedMessage};
  if (in_progress_ && max_iterations <= previous_call_iterations_) later_repetition_ = true;
  previous_call_iterations_ = max_iterations;
  in_progress_ = true;
  return {};
}

CaseProtocol::Failure CaseProtocol::fail(const std::string& reason) {
  if (later_repetition_) return Failure::kRunEmpty;
  first_failure_ = reason.empty() ? std::string("failed") : reason;
  return Failure::kSkip;
}

void CaseProtocol::finish() { *this = CaseProtocol(); }

}  // namespace memprobe::bench
