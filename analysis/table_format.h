// The one plain-text table layout and the number formats every table uses.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace memprobe::analysis {

// Printed where a figure is missing.
inline constexpr const char* kMissing = "—";

// How tables are written: aligned text (terminal), GitHub Markdown, CSV, or
// HTML fragments (<table>, <p>, <pre>) that analysis/html_report.h wraps
// into a document.
enum class TableFormat { kText, kMarkdown, kCsv, kHtml };

// "text", "markdown", "csv", "html" -> format; nullopt otherwise.
std::optional<TableFormat> parse_table_format(const std::string& name);

struct Column {
  std::string title;
  bool right_aligned = true;  // numbers right, text left
  // HTML only: a CSS class for a cell from its text (compare's verdicts:
  // "slower ..." -> "verdict worse"); nullptr or "" for none. The text
  // stays in the cell: a class adds colour, never replaces the words.
  const char* (*html_class)(const std::string& cell) = nullptr;
};

// Text from a results file made safe to print: C0 and C1 control characters,
// DEL and bytes that are not UTF-8 become "\x1b"-style escapes, so a file
// cannot move the cursor, recolour the terminal or forge a line of output.
// render_table, note_line and the machine header apply it to every cell.
std::string escape_control(std::string_view text);

// Text made safe inside HTML elements and attribute values: &, <, >, " and '
// become character references. Applied after escape_control.
std::string html_escape(std::string_view text);

// Display width of UTF-8 text ("—" and "±" count as one column).
std::size_t display_width(const std::string& text);

// Text: header, dashes, rows; columns two spaces apart, no trailing blanks.
// Markdown: a pipe table (numbers right-aligned). CSV: RFC 4180 quoting.
// HTML: <table> with a <thead> of <th> and a <tbody> of <td>, numbers in
// cells of class "num" (right-aligned by the document's style), every cell
// and title escaped (escape_control, then html_escape).
std::string render_table(const std::vector<Column>& columns, const std::vector<std::vector<std::string>>& rows,
                         TableFormat format = TableFormat::kText);

// One CSV field, RFC 4180: quoted (inner quotes doubled) where it holds a
// comma, a quote or a newline, else as is.
std::string csv_cell(const std::string& cell);

// A line of prose under or above a table: as is in text and Markdown, as a
// "# " comment in CSV, a <p class="note"> in HTML. Ends with a newline.
std::string note_line(const std::string& text, TableFormat format = TableFormat::kText);

// "32 KiB", "1.5 MiB", "64 B": binary units, at most two decimals.
std::string format_bytes(double bytes);

// Page size as a TLB label: 4096 -> "4K", 2 MiB -> "2M", 1 GiB -> "1G".
std::string page_label(double bytes);

// Nanoseconds with 2 decimals below 10 ns, 1 above. format_bytes and
// format_ns print kMissing for a non-finite value: a figure that was not
// measured never reads "nan".
std::string format_ns(double ns);

// format(*value), or kMissing.
std::string or_missing(const std::optional<double>& value, std::string (*format)(double));

}  // namespace memprobe::analysis
