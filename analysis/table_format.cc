#include "analysis/table_format.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace memprobe::analysis {

namespace {

// Length of the well-formed UTF-8 sequence at text[i], 0 if malformed.
std::size_t utf8_sequence_length(std::string_view text, std::size_t i) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char lead = byte(i);
  std::size_t length = 0;
  unsigned char low = 0x80, high = 0xBF;  // range of the second byte
  if (lead < 0x80) return 1;
  if (lead >= 0xC2 && lead <= 0xDF) length = 2;
  else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    if (lead == 0xE0) low = 0xA0;   // overlong
    if (lead == 0xED) high = 0x9F;  // surrogates
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    if (lead == 0xF0) low = 0x90;
    if (lead == 0xF4) high = 0x8F;
  } else {
    return 0;
  }
  if (i + length > text.size()) return 0;
  if (byte(i + 1) < low || byte(i + 1) > high) return 0;
  for (std::size_t k = 2; k < length; ++k)
    if ((byte(i + k) & 0xC0) != 0x80) return 0;
  return length;
}

// Code points that steer a terminal or the reading order although printable:
// C1 controls (U+0080-U+009F, CSI among them), line/paragraph separators,
// bidirectional overrides and isolates.
bool is_steering(std::string_view sequence) {
  const auto b = [&](std::size_t k) { return static_cast<unsigned char>(sequence[k]); };
  if (sequence.size() == 2) return b(0) == 0xC2 && b(1) <= 0x9F;
  if (sequence.size() == 3 && b(0) == 0xE2 && b(1) == 0x80) return b(2) >= 0xA8 && b(2) <= 0xAE;  // U+2028-202E
  if (sequence.size() == 3 && b(0) == 0xE2 && b(1) == 0x81) return b(2) >= 0xA6 && b(2) <= 0xA9;  // U+2066-2069
  return false;
}

}  // namespace

std::string escape_control(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  const auto escape = [&](std::string_view bytes) {
    for (unsigned char c : bytes) out += fmt::format("\\x{:02x}", c);
  };
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t length = utf8_sequence_length(text, i);
    if (length == 0) {
      escape(text.substr(i, 1));
      ++i;
      continue;
    }
    const std::string_view sequence = text.substr(i, length);
    const unsigned char c = static_cast<unsigned char>(sequence[0]);
    if ((length == 1 && (c < 0x20 || c == 0x7F)) || is_steering(sequence)) escape(sequence);
    else out += sequence;
    i += length;
  }
  return out;
}

std::string html_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

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
  if (name == "html") return TableFormat::kHtml;
  return std::nullopt;
}

std::string note_line(const std::string& text, TableFormat format) {
  if (format == TableFormat::kHtml) return "<p class=\"note\">" + html_escape(escape_control(text)) + "</p>\n";
  return (format == TableFormat::kCsv ? "# " : "") + escape_control(text) + "\n";
}

std::string csv_cell(const std::string& cell) {
  if (cell.find_first_of(",\"\n") == std::string::npos) return cell;
  std::string quoted = "\"";
  for (char c : cell) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
  return quoted + "\"";
}

namespace {

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

// Cells arrive escaped by escape_control; HTML-escaped here.
std::string render_html(const std::vector<Column>& columns, const std::vector<std::vector<std::string>>& rows) {
  const auto attributes = [](const Column& column, const std::string& cell) {
    std::string classes = column.right_aligned ? "num" : "";
    if (column.html_class) {
      const char* extra = column.html_class(cell);
      if (extra && *extra) classes += (classes.empty() ? "" : " ") + std::string(extra);
    }
    return classes.empty() ? std::string() : " class=\"" + classes + "\"";
  };
  std::string out = "<table>\n<thead><tr>";
  for (const Column& c : columns) out += "<th" + attributes(c, std::string()) + ">" + html_escape(c.title) + "</th>";
  out += "</tr></thead>\n<tbody>\n";
  for (const auto& row : rows) {
    out += "<tr>";
    for (std::size_t i = 0; i < columns.size(); ++i) {
      const std::string cell = i < row.size() ? row[i] : std::string();
      out += "<td" + attributes(columns[i], cell) + ">" + html_escape(cell) + "</td>";
    }
    out += "</tr>\n";
  }
  return out + "</tbody>\n</table>\n";
}

}  // namespace

std::string render_table(const std::vector<Column>& columns_in, const std::vector<std::vector<std::string>>& rows_in,
                         TableFormat format) {
  // Cells carry text from results files (names, reasons): escaped here, once
  // for every renderer and format.
  std::vector<Column> columns = columns_in;
  for (Column& c : columns) c.title = escape_control(c.title);
  std::vector<std::vector<std::string>> rows = rows_in;
  for (auto& row : rows)
    for (std::string& cell : row) cell = escape_control(cell);
  if (format == TableFormat::kCsv) return render_csv(columns, rows);
  if (format == TableFormat::kMarkdown) return render_markdown(columns, rows);
  if (format == TableFormat::kHtml) return render_html(columns, rows);
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
  if (!std::isfinite(bytes)) return kMissing;
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

std::string format_ns(double ns) {
  if (!std::isfinite(ns)) return kMissing;
  return ns < 10 ? fmt::format("{:.2f}", ns) : fmt::format("{:.1f}", ns);
}

std::string or_missing(const std::optional<double>& value, std::string (*format)(double)) {
  return value && std::isfinite(*value) ? format(*value) : std::string(kMissing);
}

}  // namespace memprobe::analysis
