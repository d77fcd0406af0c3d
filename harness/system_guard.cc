#include "harness/system_guard.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <system_error>

#include "analysis/results_json.h"
#include "core/machine.h"
#include "core/units.h"
#include "harness/plan.h"
#include "harness/signals.h"

namespace memprobe::harness {
namespace {

// Everything the signal handler needs, prepared in advance as plain C
// strings: the handler may only use async-signal-safe calls (open, write,
// close, sigaction, raise), so no allocation and no formatting there.
struct SavedSetting {
  char path[128];
  char value[32];
  std::size_t value_len;
};
constexpr int kMaxSaved = 8;
SavedSetting g_saved[kMaxSaved];
volatile sig_atomic_t g_saved_count = 0;
struct sigaction g_previous[NSIG];
bool g_installed[NSIG];
// The reservation state file (reservation_state_path) while it exists, for
// the signal handler to remove. g_state_path_set is cleared before the path
// changes and set after, so the handler never reads a half-copied path.
char g_state_path[4096];
volatile sig_atomic_t g_state_path_set = 0;

bool write_file_raw(const char* path, const char* text, std::size_t length) noexcept {
  const int fd = ::open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  const ssize_t written = ::write(fd, text, length);
  ::close(fd);
  return written == static_cast<ssize_t>(length);
}

extern "C" void restore_on_signal(int signo, siginfo_t* info, void* context) {
  const int saved_errno = errno;
  restore_system_settings_from_signal();
  const struct sigaction& previous = g_previous[signo];
  errno = saved_errno;
  // Chain to the handler that was there before (e.g. the harness's graceful
  // interrupt), else die of the signal with its default action.
  if ((previous.sa_flags & SA_SIGINFO) != 0 && previous.sa_sigaction != nullptr) {
    previous.sa_sigaction(signo, info, context);
    return;
  }
  if ((previous.sa_flags & SA_SIGINFO) == 0 && previous.sa_handler == SIG_IGN) return;
  if ((previous.sa_flags & SA_SIGINFO) == 0 && previous.sa_handler != SIG_DFL && previous.sa_handler != nullptr) {
    previous.sa_handler(signo);
    return;
  }
  struct sigaction fallback {};
  fallback.sa_handler = SIG_DFL;
  sigemptyset(&fallback.sa_mask);
  ::sigaction(signo, &fallback, nullptr);
  // Blocked while this handler runs; delivered (and fatal) as it returns.
  ::raise(signo);
}

bool handler_is_ours(int signo) {
  struct sigaction current {};
  if (::sigaction(signo, nullptr, &current) != 0) return false;
  return (current.sa_flags & SA_SIGINFO) != 0 && current.sa_sigaction == &restore_on_signal;
}

// A signal the process was started with ignored (nohup, a background job of
// a non-interactive shell) stays ignored: it cannot end the run, so there is
// nothing to restore for it.
void install_handler(int signo) {
  struct sigaction& previous = g_previous[signo];
  if (::sigaction(signo, nullptr, &previous) != 0)
    throw std::system_error(errno, std::generic_category(),
                            fmt::format("cannot read the SIG{} disposition", signal_name(signo)));
  if ((previous.sa_flags & SA_SIGINFO) == 0 && previous.sa_handler == SIG_IGN) return;
  struct sigaction action {};
  action.sa_sigaction = &restore_on_signal;
  action.sa_flags = SA_SIGINFO | SA_RESTART;
  sigemptyset(&action.sa_mask);
  for (const int other : terminating_signals()) sigaddset(&action.sa_mask, other);
  if (::sigaction(signo, &action, nullptr) != 0)
    throw std::system_error(errno, std::generic_category(),
                            fmt::format("cannot install the SIG{} restore handler", signal_name(signo)));
  g_installed[signo] = true;
}

void install_handlers() {
  for (const int signo : terminating_signals()) install_handler(signo);
}

void uninstall_handlers() {
  // Only if nobody replaced ours since: theirs must stay.
  for (const int signo : terminating_signals()) {
    if (g_installed[signo] && handler_is_ours(signo)) ::sigaction(signo, &g_previous[signo], nullptr);
    g_installed[signo] = false;
  }
}

std::optional<std::uint64_t> read_u64(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  char text[64];
  const ssize_t n = ::read(fd, text, sizeof text - 1);
  ::close(fd);
  if (n <= 0) return std::nullopt;
  std::uint64_t value = 0;
  const auto [end, ec] = std::from_chars(text, text + n, value);
  if (ec != std::errc{} || end == text) return std::nullopt;
  return value;
}

std::string pool_label(std::size_t page_bytes) { return core::format_bytes(page_bytes); }

}  // namespace

std::string hugetlb_pool_path(std::size_t page_bytes) {
  return core::hugetlb_sysfs_path(page_bytes, "nr_hugepages");
}

void restore_system_settings_from_signal() noexcept {
  const int count = g_saved_count;
  std::atomic_signal_fence(std::memory_order_acquire);
  // Latest change first, so a setting changed twice ends at its first value.
  bool all_restored = true;
  for (int i = count - 1; i >= 0; --i)
    all_restored &= write_file_raw(g_saved[i].path, g_saved[i].value, g_saved[i].value_len);
  // Restored: the state file would only mislead `memprobe check` now.
  if (all_restored && g_state_path_set != 0) {
    std::atomic_signal_fence(std::memory_order_acquire);
    ::unlink(g_state_path);
  }
}

std::string reservation_state_dir() {
  if (const char* dir = std::getenv("MEMPROBE_STATE_DIR"); dir != nullptr && *dir != '\0') return dir;
  std::error_code ec;
  return std::filesystem::is_directory("/run", ec) ? "/run/memprobe" : "/var/run/memprobe";
}

std::string reservation_state_path(long pid) {
  return fmt::format("{}/{}{}.json", reservation_state_dir(), kReservationStatePrefix, pid);
}

std::string reservation_state_json(const ReservationState& state) {
  nlohmann::json pools = nlohmann::json::array();
  for (const ReservedPool& pool : state.pools)
    pools.push_back({{"page_bytes", pool.page_bytes}, {"nr_hugepages_path", pool.nr_hugepages_path},
                     {"previous_pages", pool.previous_pages}, {"requested_pages", pool.requested_pages}});
  return nlohmann::json{{"pid", state.pid}, {"pools", pools}}.dump(2) + "\n";
}

std::optional<ReservationState> parse_reservation_state(const std::string& text) {
  const nlohmann::json document = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  try {
    ReservationState state;
    state.pid = document.at("pid").get<long>();
    for (const nlohmann::json& pool : document.at("pools"))
      state.pools.push_back({pool.at("page_bytes").get<std::size_t>(), pool.at("nr_hugepages_path").get<std::string>(),
                             pool.at("previous_pages").get<std::uint64_t>(),
                             pool.at("requested_pages").get<std::uint64_t>()});
    if (state.pid <= 0 || state.pools.empty()) return std::nullopt;
    return state;
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;  // also a discarded (unparsable) document
  }
}

SystemGuard::SystemGuard(std::ostream& log) : log_(log) {}

SystemGuard::~SystemGuard() {
  try {
    restore();
  } catch (...) {
    // A destructor must not throw; restore() already wrote what it could.
  }
}

void check_hugepage_reservation(std::size_t page_bytes, std::uint64_t pages) {
  const char* flag = page_bytes == core::kGiB ? "--reserve-hugepages-1g" : "--reserve-hugepages";
  const std::string path = hugetlb_pool_path(page_bytes);
  if (::geteuid() != 0)
    throw UsageError(fmt::format("{} needs root (it writes {}); run as root or reserve the pool yourself", flag, path));
  const auto pool_pages = read_u64(path);
  if (!pool_pages)
    throw UsageError(fmt::format("{}: this kernel has no {} hugetlb pool ({} cannot be read)", flag,
                                 pool_label(page_bytes), path));
  if (const auto available = core::mem_available_bytes())
    check_reservation_fits(flag, page_bytes, pages, *pool_pages, *available);
}

HugepageReservation SystemGuard::reserve_hugepages(std::size_t page_bytes, std::uint64_t pages) {
  check_hugepage_reservation(page_bytes, pages);
  const std::string path = hugetlb_pool_path(page_bytes);
  const auto previous = read_u64(path);
  // It could be read a moment ago (check_hugepage_reservation): a system failure.
  if (!previous) throw std::runtime_error(fmt::format("cannot read {}", path));

  HugepageReservation r;
  r.page_bytes = page_bytes;
  r.previous_pages = *previous;
  r.requested_pages = pages;
  r.granted_pages = *previous;
  if (pages <= *previous) {
    log_ << fmt::format("memprobe: {} hugetlb pool already has {} pages (asked {}): not changed\n",
                        pool_label(page_bytes), *previous, pages);
    reservations_.push_back(r);
    return r;
  }

  // Saved before the write: a signal arriving in between still restores.
  if (g_saved_count >= kMaxSaved) throw std::logic_error("SystemGuard: too many saved settings");
  SavedSetting& slot = g_saved[g_saved_count];
  const std::string old_text = std::to_string(*previous) + "\n";
  if (path.size() >= sizeof slot.path || old_text.size() >= sizeof slot.value)
    throw std::logic_error("SystemGuard: setting path or value too long");
  std::memcpy(slot.path, path.c_str(), path.size() + 1);
  std::memcpy(slot.value, old_text.c_str(), old_text.size() + 1);
  slot.value_len = old_text.size();
  std::atomic_signal_fence(std::memory_order_release);
  g_saved_count = g_saved_count + 1;
  if (!handlers_installed_) {
    install_handlers();
    handlers_installed_ = true;
  }
  record_state({page_bytes, path, *previous, pages});

  const std::string new_text = std::to_string(pages) + "\n";
  if (!write_file_raw(path.c_str(), new_text.c_str(), new_text.size())) {
    const int error = errno;
    throw std::system_error(error, std::generic_category(), fmt::format("cannot write {} to {}", pages, path));
  }
  r.changed = true;
  r.granted_pages = read_u64(path).value_or(0);
  reservations_.push_back(r);
  log_ << fmt::format("memprobe: {} hugetlb pool: nr_hugepages {} -> {} (asked {}{}); restored on exit\n",
                      pool_label(page_bytes), r.previous_pages, r.granted_pages, pages,
                      r.granted_pages < pages
                          ? fmt::format(", got only {}: not enough contiguous free memory", r.granted_pages)
                          : "");
  return r;
}

void SystemGuard::record_state(const ReservedPool& growing) {
  ReservationState state;
  state.pid = ::getpid();
  for (const HugepageReservation& r : reservations_)
    if (r.changed) state.pools.push_back({r.page_bytes, hugetlb_pool_path(r.page_bytes), r.previous_pages, r.requested_pages});
  state.pools.push_back(growing);
  const std::string path = reservation_state_path(state.pid);
  try {
    std::error_code ec;
    std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
    if (ec) throw std::system_error(ec, fmt::format("cannot create {}", std::filesystem::path(path).parent_path().string()));
    if (path.size() >= sizeof g_state_path) throw std::system_error(ENAMETOOLONG, std::generic_category(), path);
    analysis::write_text_atomic(path, reservation_state_json(state));
    g_state_path_set = 0;
    std::atomic_signal_fence(std::memory_order_release);
    std::memcpy(g_state_path, path.c_str(), path.size() + 1);
    std::atomic_signal_fence(std::memory_order_release);
    g_state_path_set = 1;
  } catch (const std::system_error& e) {
    log_ << fmt::format("memprobe: warning: cannot record the reservation ({}): if this run is killed, "
                        "memprobe check cannot say which pool it left raised\n",
                        e.what());
  }
}

void SystemGuard::restore() {
  bool any = false;
  bool all_restored = true;
  for (auto it = reservations_.rbegin(); it != reservations_.rend(); ++it) {
    if (!it->changed) continue;
    any = true;
    const std::string path = hugetlb_pool_path(it->page_bytes);
    const std::string text = std::to_string(it->previous_pages) + "\n";
    if (!write_file_raw(path.c_str(), text.c_str(), text.size())) {
      log_ << fmt::format("memprobe: warning: cannot restore {} to {}: {}\n", path, it->previous_pages,
                          std::strerror(errno));
      all_restored = false;
      continue;
    }
    const std::uint64_t now = read_u64(path).value_or(0);
    log_ << fmt::format("memprobe: {} hugetlb pool restored: nr_hugepages {}", pool_label(it->page_bytes), now);
    if (now != it->previous_pages)
      log_ << fmt::format(" (asked {}; {} pages still mapped are surplus and return to the system when freed)",
                          it->previous_pages, now - std::min(now, it->previous_pages));
    log_ << "\n";
    it->changed = false;
  }
  // Kept when a pool could not be restored: `memprobe check` then names it.
  if (all_restored && g_state_path_set != 0) {
    g_state_path_set = 0;
    std::atomic_signal_fence(std::memory_order_release);
    ::unlink(g_state_path);
  }
  if (any || handlers_installed_) {
    g_saved_count = 0;
    std::atomic_signal_fence(std::memory_order_release);
  }
  if (handlers_installed_) {
    uninstall_handlers();
    handlers_installed_ = false;
  }
  log_ << std::flush;
}

}  // namespace memprobe::harness
