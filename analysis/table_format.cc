#include "analysis/table_format.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace memprobe::analysis {

// Display width of UTF-8 text ("—" and "±" are one column, three/two bytes).
std::size_t display_width(const std::string& text) {
  std::size_t width = 0;
  for (unsigned char c : text)
    if ((c & 0xC0) != 0x80) ++width;
  return width;
}

// The one table layout: header, dashes, rows; columns two spaces apart, text
// left-aligned, numbers right-aligned, no trailing blanks.
std::optional<TableFormat> parse_table_format(const std::string& name) {
  if (name == "text") return TableFormat::kText;
  if (name == "markdown" || name == "md") return TableFormat::kMarkdown;
  if (name == "csv") return TableFormat::kCsv;
  return std::nullopt;
}

std::string note_line(const std::string& text, TableFormat format) {
  return (format == TableFormat::kCsv ? "# " : "") + text + "\n";
}

namespace {

std::string csv_cell(const std::string& cell) {
  if (cell.find_first_of(",\"\n") == std::string::npos) return cell;
  std::string quoted = "\"";
  for (char c : cell) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
  return quoted + "\"";
}

std::string render_csv(const std::vector<Column>& columns, const std::vector<std::vector<std::string>>& rows) {
  const auto line = [&](const std::vector<std::string>& cells) {
    std::string out;
    for (std::size_t i = 0; i < columns.size(); ++i)
      out += (i ? "," : "") + csv_cell(i < cells.size() ? cells[i] : std::string());
    return out + "\n";
  };
  std::vector<std::string> titles;
  for (const Column& c : columns) titles.push_back(c.title);
  std::string out = line(titles);
  for (const auto& row : rows) out += line(row);
  return out;
}

std::string render_markdown(const std::vector<Column>& columns, const std::vector<std::vector<std::string>>& rows) {
  const auto line = [&](const std::vector<std::string>& cells) {
    std::string out = "|";
    for (std::size_t i = 0; i < columns.size(); ++i) {
      std::string cell = i < cells.size() ? cells[i] : std::string();
      for (std::size_t pos = cell.find('|'); pos != std::string::npos; pos = cell.find('|', pos + 2))
        cell.replace(pos, 1, "\\|");
      out += " " + cell + " |";
    }
    return out + "\n";
  };
  std::vector<std::string> titles, rule;
  for (const Column& c : columns) {
    titles.push_back(c.title);
    rule.push_back(c.right_aligned ? "---:" : "---");
  }
  std::string out = line(titles) + line(rule);
  for (const auto& row : rows) out += line(row);
  return out + "\n";  // a line right after a pipe table would become a row
}

}  // namespace

std::string render_table(const std::vector<Column>& columns, const std::vector<std::vector<std::string>>& rows,
                         TableFormat format) {
  if (format == TableFormat::kCsv) return render_csv(columns, rows);
  if (format == TableFormat::kMarkdown) return render_markdown(columns, rows);
  std::vector<std::size_t> widths;
  for (const Column& c : columns) widths.push_back(display_width(c.title));
  for (const auto& row : rows)
    for (std::size_t i = 0; i < row.size() && i < widths.size(); ++i)
      widths[i] = std::max(widths[i], display_width(row[i]));

  const auto line = [&](const std::vector<std::string>& cells) {
    std::string out;
    for (std::size_t i = 0; i < columns.size(); ++i) {
      const std::string cell = i < cells.size() ? cells[i] : std::string();
      const std::string pad(widths[i] - display_width(cell), ' ');
      if (i > 0) out += "  ";
      out += columns[i].right_aligned ? pad + cell : cell + pad;
    }
    while (!out.empty() && out.back() == ' ') out.pop_back();
    return out + "\n";
  };

  std::vector<std::string> titles, dashes;
  for (std::size_t i = 0; i < columns.size(); ++i) {
    titles.push_back(columns[i].title);
    dashes.push_back(std::string(widths[i], '-'));
  }
  std::string out = line(titles) + line(dashes);
  for (const auto& row : rows) out += line(row);
  return out;
}

std::string format_bytes(double bytes) {
  struct Unit {
    double bytes;
    const char* name;
  };
  static constexpr Unit kUnits[] = {
      {1024.0 * 1024 * 1024 * 1024, "TiB"}, {1024.0 * 1024 * 1024, "GiB"}, {1024.0 * 1024, "MiB"}, {1024.0, "KiB"}};
  for (const Unit& u : kUnits) {
    if (bytes >= u.bytes) {
      // Two decimals at most, trailing zeros dropped ("1.5 MiB", "1000.98 KiB"):
      // "{:.3g}" would print 1000-1023 KiB in scientific notation.
      std::string number = fmt::format("{:.2f}", bytes / u.bytes);
      number.erase(number.find_last_not_of('0') + 1);
      if (number.back() == '.') number.pop_back();
      return fmt::format("{} {}", number, u.name);
    }
  }
  return fmt::format("{:.0f} B", bytes);
}

// Page size as a TLB label: 4096 -> "4K", 2 MiB -> "2M", 1 GiB -> "1G".
std::string page_label(double bytes) {
  std::string text = format_bytes(bytes);
  const auto space = text.find(' ');
  if (space == std::string::npos) return text;
  const std::string unit = text.substr(space + 1);
  return text.substr(0, space) + (unit == "B" ? "B" : unit.substr(0, 1));
}

std::string format_ns(double ns) { return ns < 10 ? fmt::format("{:.2f}", ns) : fmt::format("{:.1f}", ns); }

std::string or_missing(const std::optional<double>& value, std::string (*format)(double)) {
  return value ? format(*value) : std::string(kMissing);
}

}  // namespace memprobe::analysis
