// The case-run protocol's decisions (benchmarks/case_protocol.h), call by
// call, with Google Benchmark's calling pattern written out: growing
// iteration counts while the first repetition is sized, then the settled count
// once per later repetition. tests/benchmarks_fail_case_test.cc runs the same
// protocol under Google Benchmark itself.
#include <gtest/gtest.h>

#include "benchmarks/case_protocol.h"

namespace memprobe::bench {
namespace {

constexpr bool kRunning = false;
constexpr bool kInterrupted = true;

TEST(CaseProtocolTest, ACaseNotStartedSkipsOnceTheRunIsInterrupted) {
  CaseProtocol protocol;
  const CaseProtocol::Entry entry = protocol.enter(1, kInterrupted);
  EXPECT_FALSE(entry.run);
  EXPECT_EQ(entry.skip_reason, kInterruptedMessage);
}

TEST(CaseProtocolTest, ACaseUnderWayRunsAllItsRepetitionsAfterAnInterruption) {
  CaseProtocol protocol;
  EXPECT_TRUE(protocol.enter(1, kRunning).run);
  EXPECT_TRUE(protocol.enter(100, kInterrupted).run) << "the first repetition is still being sized";
  EXPECT_TRUE(protocol.enter(100, kInterrupted).run) << "a later repetition: partly skipped ones abort";
  protocol.finish();
  EXPECT_FALSE(protocol.enter(1, kInterrupted).run) << "the next case has not started";
}

TEST(CaseProtocolTest, AFailureWhileTheFirstRepetitionIsSizedSkipsIt) {
  CaseProtocol protocol;
  ASSERT_TRUE(protocol.enter(1, kRunning).run);
  ASSERT_TRUE(protocol.enter(10, kRunning).run);  // a longer try of the same repetition
  EXPECT_EQ(protocol.fail("pool empty"), CaseProtocol::Failure::kSkip);
  EXPECT_EQ(protocol.first_failure(), "pool empty");
}

TEST(CaseProtocolTest, LaterRepetitionsOfAFailedFirstOneSkipWithItsReason) {
  CaseProtocol protocol;
  ASSERT_TRUE(protocol.enter(1, kRunning).run);
  ASSERT_EQ(protocol.fail("pool empty"), CaseProtocol::Failure::kSkip);
  for (int repetition = 1; repetition < 4; ++repetition) {
    const CaseProtocol::Entry entry = protocol.enter(1, kRunning);
    EXPECT_FALSE(entry.run) << "their iteration counts must agree with the skipped first one";
    EXPECT_EQ(entry.skip_reason, "pool empty");
  }
}

TEST(CaseProtocolTest, AFailureInALaterRepetitionRunsItEmpty) {
  CaseProtocol protocol;
  ASSERT_TRUE(protocol.enter(1, kRunning).run);
  ASSERT_TRUE(protocol.enter(1000, kRunning).run);
  ASSERT_TRUE(protocol.enter(1000, kRunning).run);  // the count does not grow: repetition 2
  EXPECT_EQ(protocol.fail("mmap refused"), CaseProtocol::Failure::kRunEmpty);
  EXPECT_TRUE(protocol.first_failure().empty()) << "the first repetition did not fail";
  EXPECT_TRUE(protocol.enter(1000, kRunning).run) << "the repetition after it runs as usual";
}

TEST(CaseProtocolTest, OneIterationCasesAreInALaterRepetitionFromTheirSecondCall) {
  // Iterations(1) (pagefault): every call is a repetition of its own.
  CaseProtocol protocol;
  ASSERT_TRUE(protocol.enter(1, kRunning).run);
  EXPECT_EQ(CaseProtocol(protocol).fail("x"), CaseProtocol::Failure::kSkip);
  ASSERT_TRUE(protocol.enter(1, kRunning).run);
  EXPECT_EQ(protocol.fail("x"), CaseProtocol::Failure::kRunEmpty);
}

TEST(CaseProtocolTest, AnEmptyReasonStillNamesAFailure) {
  CaseProtocol protocol;
  ASSERT_TRUE(protocol.enter(1, kRunning).run);
  ASSERT_EQ(protocol.fail(""), CaseProtocol::Failure::kSkip);
  EXPECT_EQ(protocol.first_failure(), "failed");
  EXPECT_EQ(protocol.enter(1, kRunning).skip_reason, "failed");
}

TEST(CaseProtocolTest, FinishStartsTheNextCaseAfresh) {
  CaseProtocol protocol;
  ASSERT_TRUE(protocol.enter(1, kRunning).run);
  ASSERT_EQ(protocol.fail("pool empty"), CaseProtocol::Failure::kSkip);
  protocol.finish();
  EXPECT_TRUE(protocol.first_failure().empty());
  ASSERT_TRUE(protocol.enter(1, kRunning).run) << "the next case's first call is its first repetition";
  EXPECT_EQ(protocol.fail("other"), CaseProtocol::Failure::kSkip);
}

}  // namespace
}  // namespace memprobe::bench
