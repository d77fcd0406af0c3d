#include "harness/plan.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <limits>
#include <filesystem>
#include <sstream>

#include "core/units.h"
#include "harness/system_guard.h"

namespace memprobe::harness {
namespace {

std::vector<std::string> split_commas(const std::string& text) {
  std::vector<std::string> items;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    item.erase(0, item.find_first_not_of(" \t"));
    item.erase(item.find_last_not_of(" \t") + 1);
    if (!item.empty()) items.push_back(item);
  }
  return items;
}

std::string known_family_names() {
  std::string names;
  for (const bench::Family& f : bench::families()) names += (names.empty() ? "" : ", ") + std::string(f.name);
  return names;
}

}  // namespace

// Default run order: the headline latency curve first; pagefault last, as it
// releases the shared chase buffer and maps fresh memory itself.
constexpr const char* kRunOrder[] = {"latency", "stride", "tlb",    "pagewalk",
                                     "hugepage", "bandwidth", "mlp", "loaded", "pagefault"};

std::vector<std::string> parse_family_list(const std::string& text) {
  std::vector<std::string> names;
  if (text.empty()) {
    for (const char* name : kRunOrder)
      if (bench::find_family(name)) names.emplace_back(name);
    for (const bench::Family& f : bench::families())
      if (std::find(names.begin(), names.end(), f.name) == names.end()) names.emplace_back(f.name);
    return names;
  }
  for (const std::string& name : split_commas(text)) {
    if (!bench::find_family(name))
      throw UsageError(fmt::format("--only: unknown family '{}' (known: {})", name, known_family_names()));
    if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
  }
  if (names.empty()) throw UsageError("--only: no family named");
  return names;
}

std::vector<core::PagePolicy> parse_page_list(const std::string& text) {
  std::vector<core::PagePolicy> policies;
  for (const std::string& name : split_commas(text)) {
    const auto policy = core::parse_page_policy(name);
    if (!policy)
      throw UsageError(fmt::format("--pages: unknown page policy '{}' (accepted: 4k, thp, 2m or hugetlb-2m, "
                                   "1g or hugetlb-1g)",
                                   name));
    if (std::find(policies.begin(), policies.end(), *policy) == policies.end()) policies.push_back(*policy);
  }
  if (policies.empty()) throw UsageError("--pages: no page policy named");
  return policies;
}

std::vector<core::EventSpec> parse_counter_list(const std::string& text) {
  std::vector<core::EventSpec> events;
  for (const std::string& name : split_commas(text)) {
    auto encoded = core::encode_event(name);
    if (!encoded) throw UsageError(fmt::format("--counters: {}", encoded.error().reason));
    events.push_back({name, false, "", ""});
  }
  if (events.empty()) throw UsageError("--counters: no event named");
  return events;
}

void check_output_path(const std::string& path) {
  namespace fs = std::filesystem;
  if (path.empty()) throw UsageError("--out: empty path");
  const fs::path target(path);
  std::error_code ec;
  if (fs::is_directory(target, ec)) throw UsageError(fmt::format("--out: '{}' is a directory", path));
  const fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
  if (!fs::is_directory(dir, ec))
    throw UsageError(fmt::format("--out: directory '{}' does not exist", dir.string()));
  if (const auto problem = directory_write_problem(dir.string()))
    throw UsageError(fmt::format("--out: directory '{}' is not writable ({})", dir.string(), *problem));
}

std::optional<std::string> directory_write_problem(const std::string& dir) {
  // Creating a file is the honest test: access(W_OK) answers for the real,
  // not the effective, ids and ignores the search (x) permission a new file
  // also needs. O_TMPFILE needs what the results file's temporary file will:
  // write and search permission, a writable filesystem, a free inode.
  const int fd = ::open(dir.c_str(), O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
  if (fd >= 0) {
    ::close(fd);
    return std::nullopt;
  }
  int error = errno;
  // A filesystem (or kernel) without O_TMPFILE: the permission check with the
  // effective ids, which also reports a read-only mount (EROFS).
  if (error == EOPNOTSUPP || error == EISDIR || error == EINVAL) {
    if (::faccessat(AT_FDCWD, dir.c_str(), W_OK | X_OK, AT_EACCESS) == 0) return std::nullopt;
    error = errno;
  }
  return std::string(std::strerror(error));
}

// Half of MemAvailable, conservatively: the largest working set can be held
// twice at once (the shared arena, benchmarks/arena.cc, frees one page
// policy's buffer before allocating the next, but stride keeps its own buffer
// of up to the cap for the whole run, and the loaded family's background
// readers allocate theirs next to the arena), and the system, the other
// families' smaller buffers and page tables need the rest.
std::uint64_t max_working_set_limit(std::uint64_t mem_available_bytes) { return mem_available_bytes / 2; }

std::optional<std::uint64_t> clamp_default_max_working_set(std::uint64_t default_bytes,
                                                           std::optional<std::uint64_t> mem_available_bytes) {
  if (!mem_available_bytes || default_bytes <= max_working_set_limit(*mem_available_bytes)) return std::nullopt;
  const std::uint64_t limit = max_working_set_limit(*mem_available_bytes);
  const std::uint64_t granule = limit >= 2 * core::kMiB ? 2 * core::kMiB : 4 * core::kKiB;
  return std::max<std::uint64_t>(limit / granule * granule, kMinMaxWorkingSetBytes);
}

std::uint64_t parse_max_working_set(const std::string& text, std::optional<std::uint64_t> mem_available_bytes) {
  const auto bytes = core::parse_bytes(text);
  if (!bytes)
    throw UsageError(fmt::format("--max-working-set: '{}' is not a size (examples: 512MiB, 64M, 1.5GiB)", text));
  if (*bytes < kMinMaxWorkingSetBytes)
    throw UsageError(fmt::format("--max-working-set: '{}' is below the minimum of {}", text,
                                 core::format_bytes(kMinMaxWorkingSetBytes)));
  constexpr std::uint64_t kPage = 4 * core::kKiB;
  if (*bytes % kPage != 0)
    throw UsageError(fmt::format("--max-working-set: '{}' ({} bytes) is not a whole number of 4 KiB pages "
                                 "(nearest: {} or {})",
                                 text, *bytes, core::format_bytes(*bytes / kPage * kPage),
                                 core::format_bytes((*bytes / kPage + 1) * kPage)));
  if (mem_available_bytes && *bytes > max_working_set_limit(*mem_available_bytes)) {
    // "64GiB" needs no "(64 GiB)"; "1000TiB" gets "(1024000 GiB)".
    std::string size = core::format_bytes(*bytes), typed = text;
    std::erase(size, ' ');
    std::erase(typed, ' ');
    const std::string shown =
        size == typed ? fmt::format("'{}'", text) : fmt::format("'{}' ({})", text, core::format_bytes(*bytes));
    throw UsageError(fmt::format(
        "--max-working-set: {} is more than the memory available now allows: at most {}, half of the {} "
        "MemAvailable in /proc/meminfo (a run may hold two buffers that large at once)",
        shown, core::format_bytes(max_working_set_limit(*mem_available_bytes)),
        core::format_bytes(*mem_available_bytes)));
  }
  return *bytes;
}

std::uint64_t parse_count(std::string_view flag, const std::string& text) {
  std::uint64_t value = 0;
  const char* end = text.data() + text.size();
  const auto [stop, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc{} || stop != end)
    throw UsageError(fmt::format("{}: '{}' is not a whole number from 0 to {}", flag, text,
                                 std::numeric_limits<std::uint64_t>::max()));
  return value;
}

void check_reservation_fits(std::string_view flag, std::size_t page_bytes, std::uint64_t pages,
                            std::uint64_t pool_pages, std::uint64_t mem_available_bytes) {
  if (pages <= pool_pages) return;
  const std::uint64_t limit_bytes = mem_available_bytes / 4 * 3;
  const std::uint64_t growth_pages = pages - pool_pages;
  if (growth_pages <= limit_bytes / page_bytes) return;
  // Saturating: a typo like 10^18 pages must still print, not wrap.
  const bool too_many = growth_pages > std::numeric_limits<std::uint64_t>::max() / page_bytes;
  throw UsageError(fmt::format(
      "{}: growing the {} pool from {} to {} pages needs {}, more than 3/4 of the {} MemAvailable in "
      "/proc/meminfo (at most {} pages now)",
      flag, core::format_bytes(page_bytes), pool_pages, pages,
      too_many ? std::string("more than 16 EiB") : core::format_bytes(growth_pages * page_bytes),
      core::format_bytes(mem_available_bytes), pool_pages + limit_bytes / page_bytes));
}

void validate_plan(const RunPlan& plan) {
  if (plan.out_path) check_output_path(*plan.out_path);
  if (plan.reserve_hugepages_2m > 0) check_hugepage_reservation(2 * core::kMiB, plan.reserve_hugepages_2m);
  if (plan.reserve_hugepages_1g > 0) check_hugepage_reservation(core::kGiB, plan.reserve_hugepages_1g);
}

}  // namespace memprobe::harness
