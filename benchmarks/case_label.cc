#include "benchmarks/case_label.h"

#include <fmt/format.h>

namespace memprobe::bench {

std::string format_case_label(const std::map<std::string, std::string>& fields) {
  std::string label;
  for (const auto& [key, value] : fields) {
    if (!label.empty()) label += ' ';
    label += key;
    label += '=';
    label += value;
  }
  return label;
}

std::map<std::string, std::string> with_backing(std::map<std::string, std::string> fields,
                                                const core::Backing& backing) {
  fields["backing"] = backing.verified;
  fields["huge_fraction"] = fmt::format("{:.3f}", backing.huge_fraction);
  return fields;
}

std::map<std::string, std::string> parse_case_label(std::string_view label) {
  std::map<std::string, std::string> fields;
  while (!label.empty()) {
    const std::size_t end = std::min(label.find(' '), label.size());
    const std::string_view token = label.substr(0, end);
    const std::size_t eq = token.find('=');
    if (eq != std::string_view::npos && eq > 0)
      fields.emplace(std::string(token.substr(0, eq)), std::string(token.substr(eq + 1)));
    label.remove_prefix(std::min(end + 1, label.size()));
  }
  return fields;
}

}  // namespace memprobe::bench
