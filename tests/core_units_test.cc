#include "core/units.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <limits>
#include <string>

namespace memprobe::core {
namespace {

TEST(UnitsTest, ConstantsAreBinary) {
  EXPECT_EQ(kKiB, 1024U);
  EXPECT_EQ(kMiB, 1024U * 1024U);
  EXPECT_EQ(kGiB, 1024U * 1024U * 1024U);
}

TEST(ParseBytesTest, AcceptsPlainNumbersAndBinarySuffixes) {
  EXPECT_EQ(parse_bytes("0"), 0U);
  EXPECT_EQ(parse_bytes("4096"), 4096U);
  EXPECT_EQ(parse_bytes("4096B"), 4096U);
  EXPECT_EQ(parse_bytes("64KiB"), 64 * kKiB);
  EXPECT_EQ(parse_bytes("64K"), 64 * kKiB);
  EXPECT_EQ(parse_bytes("64k"), 64 * kKiB);
  EXPECT_EQ(parse_bytes("64kB"), 64 * kKiB);  // lscpu's spelling, read as binary
  EXPECT_EQ(parse_bytes("2MiB"), 2 * kMiB);
  EXPECT_EQ(parse_bytes("2m"), 2 * kMiB);
  EXPECT_EQ(parse_bytes("32MB"), 32 * kMiB);
  EXPECT_EQ(parse_bytes("1GiB"), kGiB);
  EXPECT_EQ(parse_bytes("1g"), kGiB);
  EXPECT_EQ(parse_bytes("2TiB"), std::uint64_t{2} * kGiB * kKiB);
  EXPECT_EQ(parse_bytes(" 64KiB "), 64 * kKiB);  // surrounding blanks are trimmed
}

TEST(ParseBytesTest, AcceptsFractionsThatAreWholeBytes) {
  EXPECT_EQ(parse_bytes("1.5MiB"), 3 * kMiB / 2);
  EXPECT_EQ(parse_bytes("0.5KiB"), 512U);
  EXPECT_EQ(parse_bytes("1.5"), std::nullopt);     // 1.5 bytes
  EXPECT_EQ(parse_bytes("1.2KiB"), std::nullopt);  // 1228.8 bytes
}

// Row 14 of issue 13: a fraction is computed exactly (decimal digits, not a
// double), so one that misses a whole byte by 10^-19 GiB is refused.
TEST(ParseBytesTest, FractionsAreExactNotRounded) {
  EXPECT_EQ(parse_bytes("1.0000000000000000001GiB"), std::nullopt);
  EXPECT_EQ(parse_bytes("1.00000000000000000000GiB"), kGiB);  // trailing zeros are still whole
  EXPECT_EQ(parse_bytes("0.000000000931322574615478515625GiB"), 1U);  // 2^-30 GiB is one byte
  EXPECT_EQ(parse_bytes("0.0000000009313225746154785156251GiB"), std::nullopt);
  EXPECT_EQ(parse_bytes("1.00048828125KiB"), std::nullopt);  // 1024.5 bytes
  EXPECT_EQ(parse_bytes("1.0009765625KiB"), 1025U);
  EXPECT_EQ(parse_bytes("15.999999999999999999999999MiB"), std::nullopt);
  EXPECT_EQ(parse_bytes("16777215.999999999999TiB"), std::nullopt);
  EXPECT_EQ(parse_bytes("16777215.5TiB"), std::uint64_t{33554431} << 39);
  EXPECT_EQ(parse_bytes("1."), std::nullopt);
  EXPECT_EQ(parse_bytes("1.5.5KiB"), std::nullopt);
  // Every k/1024 KiB is a whole byte (k * 5^10 / 10^10), every (2k+1)/2048 KiB
  // is not ((2k+1) * 5^11 / 10^11).
  char text[64];
  for (std::uint64_t k = 0; k < 1024; ++k) {
    std::snprintf(text, sizeof text, "0.%010lluKiB", static_cast<unsigned long long>(k * 9765625));
    EXPECT_EQ(parse_bytes(text), k) << text;
    std::snprintf(text, sizeof text, "0.%011lluKiB", static_cast<unsigned long long>((2 * k + 1) * 48828125));
    EXPECT_EQ(parse_bytes(text), std::nullopt) << text;
  }
}

TEST(ParseBytesTest, RejectsJunk) {
  EXPECT_EQ(parse_bytes(""), std::nullopt);
  EXPECT_EQ(parse_bytes("   "), std::nullopt);
  EXPECT_EQ(parse_bytes("-1"), std::nullopt);
  EXPECT_EQ(parse_bytes("-1KiB"), std::nullopt);
  EXPECT_EQ(parse_bytes("12XB"), std::nullopt);
  EXPECT_EQ(parse_bytes("4q"), std::nullopt);
  EXPECT_EQ(parse_bytes("KiB"), std::nullopt);
  EXPECT_EQ(parse_bytes("64KiBx"), std::nullopt);
  EXPECT_EQ(parse_bytes("1e3"), std::nullopt);
  EXPECT_EQ(parse_bytes(".5MiB"), std::nullopt);
  EXPECT_EQ(parse_bytes("1..5MiB"), std::nullopt);
  EXPECT_EQ(parse_bytes("0x10"), std::nullopt);
}

TEST(ParseBytesTest, RejectsOverflow) {
  EXPECT_EQ(parse_bytes("18446744073709551615"), std::numeric_limits<std::uint64_t>::max());
  EXPECT_EQ(parse_bytes("18446744073709551616"), std::nullopt);
  EXPECT_EQ(parse_bytes("99999999999999999999999"), std::nullopt);
  EXPECT_EQ(parse_bytes("16777216TiB"), std::nullopt);  // exactly 2^64
  EXPECT_EQ(parse_bytes("17179869184GiB"), std::nullopt);
  EXPECT_EQ(parse_bytes("20000000000.5GiB"), std::nullopt);
}

TEST(FormatBytesTest, PrintsBinaryUnits) {
  EXPECT_EQ(format_bytes(0), "0 B");
  EXPECT_EQ(format_bytes(512), "512 B");
  EXPECT_EQ(format_bytes(1023), "1023 B");
  EXPECT_EQ(format_bytes(kKiB), "1 KiB");
  EXPECT_EQ(format_bytes(32 * kKiB), "32 KiB");
  EXPECT_EQ(format_bytes(3 * kKiB / 2), "1.5 KiB");
  EXPECT_EQ(format_bytes(256 * kMiB), "256 MiB");
  EXPECT_EQ(format_bytes(3 * kMiB / 2), "1.5 MiB");
  EXPECT_EQ(format_bytes(4 * kGiB), "4 GiB");
  EXPECT_EQ(format_bytes(1024 * kGiB), "1024 GiB");  // GiB is the largest unit printed
}

TEST(FormatBytesTest, RoundTripsThroughParseWithoutTheSpace) {
  for (std::uint64_t bytes : {std::uint64_t{0}, std::uint64_t{4096}, std::uint64_t{32 * kKiB},
                              std::uint64_t{3 * kMiB / 2}, std::uint64_t{2 * kGiB}}) {
    std::string text = format_bytes(bytes);
    text.erase(text.find(' '), 1);
    EXPECT_EQ(parse_bytes(text), bytes) << text;
  }
}

// Regressions: "{:.3g}" once switched to scientific notation between 1000
// and 1024 of a unit, and parse_bytes once rejected format_bytes' own "32 KiB".
TEST(FormatBytesTest, NoScientificNotationJustBelowTheNextUnit) {
  EXPECT_EQ(format_bytes(1'025'000).find('e'), std::string::npos) << format_bytes(1'025'000);
  EXPECT_EQ(format_bytes(kMiB - 1).find('e'), std::string::npos) << format_bytes(kMiB - 1);
}

TEST(ParseBytesTest, AcceptsFormatBytesOutput) {
  EXPECT_EQ(parse_bytes("32 KiB"), 32 * kKiB);
  EXPECT_EQ(parse_bytes("1.5 MiB"), 3 * kMiB / 2);
}

}  // namespace
}  // namespace memprobe::core
