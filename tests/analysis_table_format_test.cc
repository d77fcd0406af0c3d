#include "analysis/table_format.h"

#include <gtest/gtest.h>

namespace memprobe::analysis {
namespace {

TEST(TableFormatTest, BytesInBinaryUnitsWithoutScientificNotation) {
  EXPECT_EQ(format_bytes(64), "64 B");
  EXPECT_EQ(format_bytes(32 * 1024), "32 KiB");
  EXPECT_EQ(format_bytes(1.5 * 1024 * 1024), "1.5 MiB");
  EXPECT_EQ(format_bytes(1'025'000), "1000.98 KiB");
  EXPECT_EQ(page_label(4096), "4K");
  EXPECT_EQ(page_label(2 * 1024 * 1024), "2M");
}

TEST(TableFormatTest, ColumnsAlignAndLinesHaveNoTrailingBlanks) {
  const std::string table = render_table({{"name", false}, {"ns", true}}, {{"a", "1.5"}, {"long—name", "10"}});
  EXPECT_EQ(table,
            "name        ns\n"
            "---------  ---\n"
            "a          1.5\n"
            "long—name   10\n");
}

TEST(TableFormatTest, MissingValuesPrintTheMissingMark) {
  EXPECT_EQ(or_missing(std::nullopt, format_ns), kMissing);
  EXPECT_EQ(or_missing(3.14159, format_ns), "3.14");
  EXPECT_EQ(format_ns(123.456), "123.5");
}

}  // namespace
}  // namespace memprobe::analysis

namespace memprobe::analysis {
namespace {

TEST(TableFormatTest, MarkdownIsAPipeTableWithAlignmentAndABlankLineAfter) {
  const std::string table =
      render_table({{"name", false}, {"ns", true}}, {{"a|b", "1.5"}}, TableFormat::kMarkdown);
  EXPECT_EQ(table,
            "| name | ns |\n"
            "| --- | ---: |\n"
            "| a\\|b | 1.5 |\n"
            "\n");
}

TEST(TableFormatTest, CsvQuotesCommasAndQuotes) {
  const std::string table =
      render_table({{"name", false}, {"note", false}}, {{"a,b", "say \"hi\""}, {"c", ""}}, TableFormat::kCsv);
  EXPECT_EQ(table,
            "name,note\n"
            "\"a,b\",\"say \"\"hi\"\"\"\n"
            "c,\n");
  EXPECT_EQ(note_line("latency from the 4k curve", TableFormat::kCsv), "# latency from the 4k curve\n");
  EXPECT_EQ(note_line("x", TableFormat::kMarkdown), "x\n");
}

TEST(TableFormatTest, ParsesFormatNames) {
  EXPECT_EQ(parse_table_format("text"), TableFormat::kText);
  EXPECT_EQ(parse_table_format("markdown"), TableFormat::kMarkdown);
  EXPECT_EQ(parse_table_format("csv"), TableFormat::kCsv);
  EXPECT_FALSE(parse_table_format("html").has_value());
}

}  // namespace
}  // namespace memprobe::analysis
