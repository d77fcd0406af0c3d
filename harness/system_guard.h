// Opt-in changes to system settings, undone on every exit path. memprobe
// changes nothing unless the user asks with an explicit flag
// (--reserve-hugepages N, --reserve-hugepages-1g N); then this guard saves
// the old value, prints what it changed, and restores it in its destructor
// and from a SIGINT/SIGTERM handler (nanoBench.sh's save-and-restore, made
// robust against an interrupted run).
#pragma once

#include <cstddef>
#include <cstdint>
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
  // installs the SIGINT/SIGTERM handler.
  HugepageReservation reserve_hugepages(std::size_t page_bytes, std::uint64_t pages);

  // Writes every saved value back (idempotent) and removes the signal
  // handler. Pages still mapped when the pool shrinks become surplus pages
  // and return to the system when they are freed.
  void restore();

  const std::vector<HugepageReservation>& reservations() const { return reservations_; }

 private:
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
// file (open/write/close only). For a harness signal handler installed after
// the guard's, which would otherwise replace it.
void restore_system_settings_from_signal() noexcept;

}  // namespace memprobe::harness
