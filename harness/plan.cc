#include "harness/plan.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <linux/fs.h>
#include <linux/magic.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <climits>
#include <cstring>
#include <limits>
#include <regex>
#include <filesystem>
#include <sstream>

#include "analysis/family.h"
#include "analysis/results_json.h"
#include "harness/numeric_flags.h"
#include "core/buffer.h"
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

std::vector<std::string> parse_family_list(const std::string& text) {
  std::vector<std::string> names;
  if (text.empty()) {
    // Default order: the analysis families' run_rank (analysis/family.h).
    for (const analysis::FamilyDescriptor* family : analysis::families_in_run_order())
      if (bench::find_family(family->name)) names.push_back(family->name);
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

namespace {

// What a path is, for "is a character device, not a regular file".
std::string file_type_name(mode_t mode) {
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISSOCK(mode)) return "a socket";
  if (S_ISLNK(mode)) return "a symbolic link (the rename would replace the link, not its target)";
  if (S_ISDIR(mode)) return "a directory";
  return "not a regular file";
}

// Kernel interfaces, where a file is a setting or a view, never a place for
// results: /proc, /sys and their kin.
std::optional<std::string> kernel_filesystem_name(const std::string& dir) {
  struct statfs fs {};
  if (::statfs(dir.c_str(), &fs) != 0) return std::nullopt;
  switch (static_cast<unsigned long>(fs.f_type)) {
    case PROC_SUPER_MAGIC: return "proc";
    case SYSFS_MAGIC: return "sysfs";
    case CGROUP_SUPER_MAGIC: return "cgroup";
    case CGROUP2_SUPER_MAGIC: return "cgroup2";
    case DEBUGFS_MAGIC: return "debugfs";
    case TRACEFS_MAGIC: return "tracefs";
    case SECURITYFS_MAGIC: return "securityfs";
    case BPF_FS_MAGIC: return "bpf";
    default: return std::nullopt;
  }
}

// Why this process cannot rename a file over the existing regular file
// `path` in `dir`, or nullopt: an immutable or append-only file (chattr +i,
// +a), or a sticky directory (/tmp) where only the file's or the directory's
// owner (or root) may replace it.
std::optional<std::string> replace_problem(const std::string& path, const struct stat& target, const std::string& dir) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW);
  if (fd >= 0) {
    int flags = 0;
    const bool known = ::ioctl(fd, FS_IOC_GETFLAGS, &flags) == 0;
    ::close(fd);
    if (known && (flags & FS_IMMUTABLE_FL) != 0) return "it is immutable (chattr +i): it cannot be replaced";
    if (known && (flags & FS_APPEND_FL) != 0) return "it is append-only (chattr +a): it cannot be replaced";
  }
  struct stat directory {};
  const uid_t uid = ::geteuid();
  if (::stat(dir.c_str(), &directory) == 0 && (directory.st_mode & S_ISVTX) != 0 && uid != 0 &&
      uid != target.st_uid && uid != directory.st_uid)
    return fmt::format("it belongs to uid {} in the sticky directory '{}', where only its owner may replace it",
                       target.st_uid, dir);
  return std::nullopt;
}

// Free space the file needs, from what this process may use.
std::optional<std::string> space_problem(const std::string& dir) {
  struct statvfs fs {};
  if (::statvfs(dir.c_str(), &fs) == 0) {
    const std::uint64_t blocks = ::geteuid() == 0 ? fs.f_bfree : fs.f_bavail;
    const std::uint64_t free_bytes = blocks * fs.f_frsize;
    if (free_bytes < kResultsFileReserveBytes)
      return fmt::format("only {} free on its filesystem; a results file needs up to {}", core::format_bytes(free_bytes),
                         core::format_bytes(kResultsFileReserveBytes));
  }
  struct rlimit limit {};
  if (::getrlimit(RLIMIT_FSIZE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY &&
      limit.rlim_cur < kResultsFileReserveBytes)
    return fmt::format("the file size limit (ulimit -f, RLIMIT_FSIZE) is {}; a results file needs up to {}",
                       core::format_bytes(limit.rlim_cur), core::format_bytes(kResultsFileReserveBytes));
  return std::nullopt;
}

}  // namespace

void check_output_path(const std::string& path) {
  namespace fs = std::filesystem;
  if (path.empty()) throw UsageError("--out: empty path");
  const fs::path target(path);
  struct stat existing {};
  const bool exists = ::lstat(path.c_str(), &existing) == 0;
  if (exists && S_ISDIR(existing.st_mode)) throw UsageError(fmt::format("--out: '{}' is a directory", path));
  if (exists && !S_ISREG(existing.st_mode))
    throw UsageError(fmt::format("--out: '{}' is {}: memprobe replaces only regular files", path,
                                 file_type_name(existing.st_mode)));
  const fs::path dir_path = target.has_parent_path() ? target.parent_path() : fs::path(".");
  const std::string dir = dir_path.string();
  std::error_code ec;
  if (!fs::is_directory(dir_path, ec)) throw UsageError(fmt::format("--out: directory '{}' does not exist", dir));
  if (const auto kernel_fs = kernel_filesystem_name(dir))
    throw UsageError(fmt::format("--out: '{}' is on {}, a kernel interface, not a place for files", dir, *kernel_fs));
  // The temporary file's name is the longest name the write uses.
  const std::string tmp_path = analysis::atomic_write_temp_path(path);
  const std::string tmp_name = fs::path(tmp_path).filename().string();
  const long name_max = ::pathconf(dir.c_str(), _PC_NAME_MAX);
  if (name_max > 0 && tmp_name.size() > static_cast<std::size_t>(name_max))
    throw UsageError(fmt::format("--out: the file name is too long: its temporary file's name '{}' is {} bytes, "
                                 "this filesystem allows {}",
                                 tmp_name, tmp_name.size(), name_max));
  if (tmp_path.size() >= PATH_MAX)
    throw UsageError(fmt::format("--out: the path is too long: its temporary file's path is {} bytes, at most {}",
                                 tmp_path.size(), PATH_MAX - 1));
  if (const auto problem = directory_write_problem(dir))
    throw UsageError(fmt::format("--out: directory '{}' is not writable ({})", dir, *problem));
  if (exists)
    if (const auto problem = replace_problem(path, existing, dir))
      throw UsageError(fmt::format("--out: cannot replace '{}': {}", path, *problem));
  if (const auto problem = space_problem(dir)) throw UsageError(fmt::format("--out: '{}': {}", path, *problem));
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
  const std::uint64_t granule = limit >= 2 * core::kMiB ? 2 * core::kMiB : core::base_page_bytes();
  return std::max<std::uint64_t>(limit / granule * granule, kMinMaxWorkingSetBytes);
}

std::uint64_t parse_max_working_set(const std::string& text, std::optional<std::uint64_t> mem_available_bytes) {
  require_bare_number_text("--max-working-set", text, "a size (examples: 512MiB, 64M, 1.5GiB)");
  const auto bytes = core::parse_bytes(text);
  if (!bytes)
    throw UsageError(fmt::format("--max-working-set: '{}' is not a size (examples: 512MiB, 64M, 1.5GiB)", text));
  if (*bytes < kMinMaxWorkingSetBytes)
    throw UsageError(fmt::format("--max-working-set: '{}' is below the minimum of {}", text,
                                 core::format_bytes(kMinMaxWorkingSetBytes)));
  // Whole base pages: 4 KiB on x86-64, 4, 16 or 64 KiB on arm64.
  const std::uint64_t page_bytes = core::base_page_bytes();
  if (*bytes % page_bytes != 0)
    throw UsageError(fmt::format("--max-working-set: '{}' ({} bytes) is not a whole number of {} pages "
                                 "(nearest: {} or {})",
                                 text, *bytes, core::format_bytes(page_bytes),
                                 core::format_bytes(*bytes / page_bytes * page_bytes),
                                 core::format_bytes((*bytes / page_bytes + 1) * page_bytes)));
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

BenchPlan parse_bench_arguments(const std::vector<std::string>& args,
                                std::optional<std::uint64_t> mem_available_bytes) {
  BenchPlan plan;
  const auto value_of = [](const std::string& arg, std::string_view flag) -> std::optional<std::string> {
    if (arg.size() > flag.size() && arg.compare(0, flag.size(), flag) == 0 && arg[flag.size()] == '=')
      return arg.substr(flag.size() + 1);
    return std::nullopt;
  };
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--max-working-set") {
      if (i + 1 == args.size()) throw UsageError("--max-working-set: needs a size (e.g. 512MiB)");
      plan.max_working_set_bytes = parse_max_working_set(args[++i], mem_available_bytes);
      continue;
    }
    if (const auto size = value_of(arg, "--max-working-set")) {
      plan.max_working_set_bytes = parse_max_working_set(*size, mem_available_bytes);
      continue;
    }
    if (const auto filter = value_of(arg, "--benchmark_filter")) {
      // Google Benchmark 1.7.1: a leading '-' negates; "" and "all" match everything.
      const std::string pattern = !filter->empty() && filter->front() == '-' ? filter->substr(1) : *filter;
      if (!pattern.empty() && pattern != "all") {
        try {
          std::regex(pattern, std::regex_constants::extended);
        } catch (const std::regex_error& e) {
          throw UsageError(
              fmt::format("--benchmark_filter: '{}' is not a POSIX extended regular expression ({})", *filter, e.what()));
        }
      }
    }
    for (const std::string_view flag : {"--benchmark_format", "--benchmark_out_format"}) {
      const auto format = value_of(arg, flag);
      if (!format) continue;
      if (*format != "console" && *format != "json" && *format != "csv")
        throw UsageError(fmt::format("{}: '{}' is not one of console, json, csv", flag, *format));
      if (flag == "--benchmark_format") plan.format = *format;
    }
    plan.benchmark_args.push_back(arg);
  }
  return plan;
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

void check_reservation_used(const RunPlan& plan, core::PagePolicy policy) {
  const bool is_1g = policy == core::PagePolicy::kHugetlb1G;
  const char* flag = is_1g ? "--reserve-hugepages-1g" : "--reserve-hugepages";
  const char* page = is_1g ? "1g" : "2m";
  const auto& policies = plan.case_options.policies;
  if (std::find(policies.begin(), policies.end(), policy) == policies.end()) {
    std::string pages;
    for (const core::PagePolicy p : policies) pages += fmt::format("{}{}", pages.empty() ? "" : ",", core::cli_name(p));
    throw UsageError(fmt::format("{}: no case of this run would use the {} pool: --pages is {}; add {} to --pages "
                                 "(e.g. --pages {},{}) or drop {}",
                                 flag, core::cli_name(policy), pages, page, pages, page, flag));
  }
  std::string users;
  for (const bench::Family& f : bench::families()) {
    if (!f.follows_page_list) continue;
    if (std::find(plan.families.begin(), plan.families.end(), f.name) != plan.families.end()) return;
    users += (users.empty() ? "" : ", ") + std::string(f.name);
  }
  std::string run;
  for (const std::string& name : plan.families) run += (run.empty() ? "" : ",") + name;
  throw UsageError(fmt::format("{}: no family of this run uses hugetlb pages (--only {} choose their own pages); "
                               "add one that follows --pages ({}) or drop {}",
                               flag, run, users, flag));
}

void validate_plan(const RunPlan& plan) {
  if (plan.out_path) check_output_path(*plan.out_path);
  if (plan.reserve_hugepages_2m > 0) {
    check_hugepage_reservation(2 * core::kMiB, plan.reserve_hugepages_2m);
    check_reservation_used(plan, core::PagePolicy::kHugetlb2M);
  }
  if (plan.reserve_hugepages_1g > 0) {
    check_hugepage_reservation(core::kGiB, plan.reserve_hugepages_1g);
    check_reservation_used(plan, core::PagePolicy::kHugetlb1G);
  }
}

}  // namespace memprobe::harness
