// Opt-in changes to system settings, undone on every exit path. memprobe
// changes nothing unless the user asks with an explicit flag
// (--reserve-hugepages N, --reserve-hugepages-1g N); then this guard saves
// the old value, prints what it changed, and restores it in its destructor
// and from a handler of every terminating signal (harness/signals.h;
// nanoBench.sh's save-and-restore, made robust against an interrupted run).
// While a pool is raised, a state file (reservation_state_path) records it,
// so that `memprobe check` can name a pool a SIGKILLed run left raised.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

namespace memprobe::harness {

// What a reservation did to one hugetlb pool.
struct HugepageReservation {
  std::size_t page_bytes = 0;
  std::uint64_t previous_pages = 0;   // nr_hugepages before
  std::uint64_t requested_pages = 0;  // what was asked for
  std::uint64_t granted_pages = 0;    // nr_hugepages read back (may be fewer: fragmentation)
  bool changed = false;               // false when the pool already had enough
};

// One pool a run raised, as its state file records it.
struct ReservedPool {
  std::size_t page_bytes = 0;
  std::string nr_hugepages_path;  // hugetlb_pool_path(page_bytes)
  std::uint64_t previous_pages = 0;
  std::uint64_t requested_pages = 0;
};

// The state file of a run holding a reservation.
struct ReservationState {
  long pid = 0;  // the memprobe run that raised the pools
  std::vector<ReservedPool> pools;
};

// Where state files live: $MEMPROBE_STATE_DIR if set (tests use a private
// one), else /run/memprobe (/var/run/memprobe where there is no /run).
std::string reservation_state_dir();
// Names in that directory start with this: "reservation-<pid>.json".
inline constexpr const char* kReservationStatePrefix = "reservation-";
std::string reservation_state_path(long pid);
std::string reservation_state_json(const ReservationState& state);
// nullopt if `text` is not such a document.
std::optional<ReservationState> parse_reservation_state(const std::string& text);

class SystemGuard {
 public:
  // `log` receives one line per change and per restore ("memprobe: ...").
  explicit SystemGuard(std::ostream& log);
  ~SystemGuard();  // restore()
  SystemGuard(const SystemGuard&) = delete;
  SystemGuard& operator=(const SystemGuard&) = delete;

  // Grows the hugetlb pool of `page_bytes` (2 MiB or 1 GiB) to `pages` pages
  // in total (/sys/kernel/mm/hugepages/hugepages-<kB>kB/nr_hugepages), never
  // shrinking it, and reads back what the kernel actually granted, which may
  // be fewer (1 GiB pages especially: memory is fragmented at run time).
  // Throws UsageError (harness/plan.h) when not root or the kernel has no such
  // pool; std::system_error if the sysfs write fails. The first change
  // installs the signal handlers; every change rewrites the state file
  // before the pool is written (a warning if it cannot be written).
  HugepageReservation reserve_hugepages(std::size_t page_bytes, std::uint64_t pages);

  // Writes every saved value back (idempotent), removes the state file once
  // every value is back, and removes the signal handlers. Pages still mapped when the pool shrinks become surplus pages
  // and return to the system when they are freed.
  void restore();

  const std::vector<HugepageReservation>& reservations() const { return reservations_; }

 private:
  void record_state(const ReservedPool& growing);

  std::ostream& log_;
  std::vector<HugepageReservation> reservations_;
  bool handlers_installed_ = false;
};

// What SystemGuard::reserve_hugepages checks before it writes anything, for
// the plan's validation before the run starts: UsageError naming the flag
// (--reserve-hugepages for 2 MiB, --reserve-hugepages-1g for 1 GiB) when this
// process is not root, the kernel has no such pool, or growing it to `pages`
// would take too much of MemAvailable (check_reservation_fits, plan.h).
void check_hugepage_reservation(std::size_t page_bytes, std::uint64_t pages);

// The sysfs file of a pool: "/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages".
std::string hugetlb_pool_path(std::size_t page_bytes);

// Async-signal-safe: writes every value the live guard has saved back to its
// file, then removes the state file if all were written (open/write/close/
// unlink only). For a harness signal handler installed after
// the guard's, which would otherwise replace it.
void restore_system_settings_from_signal() noexcept;

}  // namespace memprobe::harness
