#include "analysis/table_format.h"

#include <gtest/gtest.h>

#include <cmath>

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

TEST(TableFormatTest, CsvCellQuotesOnlyWhereNeeded) {
  EXPECT_EQ(csv_cell("plain"), "plain");
  EXPECT_EQ(csv_cell("a,b"), "\"a,b\"");
  EXPECT_EQ(csv_cell("say \"hi\""), "\"say \"\"hi\"\"\"");
  EXPECT_EQ(csv_cell("two\nlines"), "\"two\nlines\"");
  EXPECT_EQ(csv_cell(""), "");
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
  EXPECT_EQ(parse_table_format("html"), TableFormat::kHtml);
  EXPECT_FALSE(parse_table_format("xml").has_value());
}

// Issue 13, row 17: text from a results file cannot steer the terminal.
TEST(TableFormatTest, ControlCharactersAndEscapeSequencesAreEscaped) {
  EXPECT_EQ(escape_control("a\x1b[31mb"), "a\\x1b[31mb");
  EXPECT_EQ(escape_control("line\nforged\r\t\x07\x7f"), "line\\x0aforged\\x0d\\x09\\x07\\x7f");
  EXPECT_EQ(escape_control("\xc2\x9b" "2J"), "\\xc2\\x9b2J");              // C1 CSI
  EXPECT_EQ(escape_control("\xe2\x80\xae" "txt"), "\\xe2\\x80\\xaetxt");  // right-to-left override
  EXPECT_EQ(escape_control("\xff\xc3"), "\\xff\\xc3");                      // not UTF-8
  // Printable UTF-8 is left alone: the tables' own marks and names.
  EXPECT_EQ(escape_control("— ± é 1 GiB 東"), "— ± é 1 GiB 東");
}

TEST(TableFormatTest, EveryFormatEscapesCellsTitlesAndNotes) {
  const std::vector<Column> columns = {{"name\x1b]0;x\x07", false}, {"value", true}};
  const std::vector<std::vector<std::string>> rows = {{"cpu\x1b[2J", "1\n2"}};
  for (TableFormat format : {TableFormat::kText, TableFormat::kMarkdown, TableFormat::kCsv, TableFormat::kHtml}) {
    const std::string out = render_table(columns, rows, format) + note_line("reason\x1b[1A", format);
    for (char c : out) EXPECT_TRUE(c == '\n' || static_cast<unsigned char>(c) >= 0x20) << out;
    EXPECT_NE(out.find("cpu\\x1b[2J"), std::string::npos) << out;
    EXPECT_NE(out.find("1\\x0a2"), std::string::npos) << out;
    EXPECT_NE(out.find("reason\\x1b[1A"), std::string::npos) << out;
  }
}

// Issue 27: the HTML table holds the same cells, each one text: markup in a
// cell (a CPU model, a reason from a results file) is escaped, never parsed.
TEST(TableFormatTest, HtmlTableEscapesEveryCellAndAlignsNumbersByClass) {
  const std::vector<Column> columns = {{"name <i>", false}, {"ns", true}};
  const std::string table = render_table(columns, {{"<b>&\"", "1.25"}, {"it's", "—"}}, TableFormat::kHtml);
  EXPECT_EQ(table,
            "<table>\n<thead><tr><th>name &lt;i&gt;</th><th class=\"num\">ns</th></tr></thead>\n<tbody>\n"
            "<tr><td>&lt;b&gt;&amp;&quot;</td><td class=\"num\">1.25</td></tr>\n"
            "<tr><td>it&#39;s</td><td class=\"num\">—</td></tr>\n</tbody>\n</table>\n");
  EXPECT_EQ(note_line("a < b & \"c\"\x1b", TableFormat::kHtml), "<p class=\"note\">a &lt; b &amp; &quot;c&quot;\\x1b</p>\n");
  // A class from the cell's text adds colour beside its words, never instead.
  const auto verdict = [](const std::string& cell) { return cell.starts_with("slower") ? "verdict worse" : ""; };
  const std::string verdicts =
      render_table({{"verdict", false, verdict}}, {{"slower"}, {"faster"}}, TableFormat::kHtml);
  EXPECT_NE(verdicts.find("<td class=\"verdict worse\">slower</td>"), std::string::npos) << verdicts;
  EXPECT_NE(verdicts.find("<td>faster</td>"), std::string::npos) << verdicts;
}

// Issue 13, row 12: a figure that is not a number prints as missing.
TEST(TableFormatTest, NonFiniteFiguresPrintTheMissingMark) {
  const double nan = std::nan("");
  EXPECT_EQ(format_ns(nan), kMissing);
  EXPECT_EQ(format_ns(INFINITY), kMissing);
  EXPECT_EQ(format_bytes(nan), kMissing);
  EXPECT_EQ(or_missing(nan, format_ns), kMissing);
  EXPECT_EQ(format_ns(4.1), "4.10");
}

}  // namespace
}  // namespace memprobe::analysis
