// Hardware and software performance counters: event names encoded with
// libpfm4, opened with perf_event_open as groups, read with multiplex scaling.
// Availability is decided by opening, never by libpfm4: on a VM without a
// virtual PMU libpfm4 still "detects" the core PMU from CPUID and encodes its
// events, and perf_event_open then fails. Each event is either counted or
// unavailable with a reason; nothing is silently dropped (docs/counters.md).
#pragma once

#include <linux/perf_event.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace memprobe::core {

// One requested event.
struct EventSpec {
  // "cycles", "page-faults", "L1_DTLB_MISS:TLB_RELOAD_4K_L2_MISS",
  // "perf_raw::r0346", "skl::MEM_LOAD_RETIRED:L1_MISS", ...
  std::string name{};
  // Count kernel mode too (needs perf_event_paranoid <= 1 or root). User-only
  // otherwise: such a counter misses the kernel's work in a page fault.
  bool kernel = false;
  // Short column name without unit suffix ("l1d_misses"); empty means `name`.
  std::string label{};
  // One line: what one count means, read per access. Empty for user events.
  std::string meaning{};

  const std::string& column() const { return label.empty() ? name : label; }
};

// Whether an event can be counted on this machine, decided by opening it.
struct EventStatus {
  std::string name;
  std::string label;       // EventSpec::column()
  std::string meaning;
  bool kernel = false;     // kernel mode counted too
  bool software = false;   // a PERF_TYPE_SOFTWARE event
  bool available = false;
  std::string reason;      // when !available: "no hardware PMU exposed (ENOENT) ..."
  std::string canonical;   // libpfm4's fully qualified name, when it encoded
};

// An event name turned into a perf_event_attr (not yet opened).
struct EncodedEvent {
  perf_event_attr attr{};
  std::string canonical;   // "amd64_fam19h_zen4::L1_DTLB_MISS:TLB_RELOAD_4K_L2_MISS:..."
  bool software = false;
};

// The software events memprobe handles by name, without libpfm4.
// "page-faults", "minor-faults", "major-faults", "context-switches",
// "task-clock", "cpu-migrations".
const std::vector<std::string>& software_event_names();
bool is_software_event(std::string_view name);

// Encodes `name` (a software event name above, else a libpfm4 event string)
// into an attr with exclude_hv set and exclude_kernel = !kernel (except
// context-switches and cpu-migrations, which are kernel actions and always
// count kernel mode). Unknown names are Unavailable("unknown event 'X'
// (close matches: ...)"). Needs no PMU: nothing is opened.
Result<EncodedEvent> encode_event(const std::string& name, bool kernel = false);

// Up to 5 libpfm4 event names (of the PMUs libpfm4 reports present) close to
// `name`: containing its event part, or within a small edit distance. For a
// known event with a bad unit mask, close "EVENT:UMASK" strings instead.
std::vector<std::string> close_event_matches(const std::string& name);

// The core PMU libpfm4 detected from CPUID ("amd64_fam19h_zen3", "skl", ...),
// or "" if none. Says nothing about whether the kernel exposes it.
std::string libpfm_core_pmu();

// The default-event table for a CPU: `libpfm_pmu` (a libpfm_core_pmu() value)
// when memprobe has a table for it; else "amd64_fam1ah_zen5" for an AMD CPU of
// family 0x1A (`cpu_vendor` is the CPUID vendor string, "AuthenticAMD";
// `cpu_family` the display family), which libpfm4 4.13 does not know; else
// `libpfm_pmu` unchanged (the generic table).
std::string event_table_for(std::string_view libpfm_pmu, std::string_view cpu_vendor,
                            unsigned cpu_family);
// event_table_for() this machine: libpfm4's core PMU and CPUID (none off x86).
std::string core_event_table();

// Default events for latency and TLB cases on a table named by
// event_table_for(): cycles, instructions, L1D/L2/L3 misses, DTLB misses that
// hit / miss the second-level TLB, and page walks or walk cycles where the
// PMU has them. Unknown names get the kernel's generic cache events.
std::vector<EventSpec> default_memory_events(std::string_view pmu);

// Software events reported next to every case: page-faults, minor-faults,
// major-faults (user-only).
std::vector<EventSpec> default_software_events();

// The raw layout of a PERF_FORMAT_GROUP | TOTAL_TIME_ENABLED |
// TOTAL_TIME_RUNNING read: {nr, time_enabled, time_running, value[nr]}.
struct GroupRead {
  std::uint64_t time_enabled_ns = 0;
  std::uint64_t time_running_ns = 0;
  std::vector<std::uint64_t> values;
};

// Parses a group read of `events` counters; Unavailable if the buffer is too
// short or its nr differs from `events`.
Result<GroupRead> parse_group_read(std::span<const std::uint64_t> buffer,
                                   std::size_t events);

// value * enabled / running: the count extrapolated over the time the event
// was enabled. nullopt when running == 0 (never scheduled: not a zero count).
std::optional<double> scale_count(std::uint64_t value, std::uint64_t enabled_ns,
                                  std::uint64_t running_ns);

// One event's figure from EventGroup::read().
struct EventReading {
  std::string name;
  std::string label;
  bool kernel = false;
  bool available = false;
  std::string reason;            // when !available
  double value = 0.0;            // scaled for multiplexing
  std::uint64_t raw = 0;         // as read
  std::uint64_t enabled_ns = 0;
  std::uint64_t running_ns = 0;
  bool multiplexed = false;      // running < enabled: value is extrapolated
};

struct Reading {
  std::vector<EventReading> events;  // in the order of the requested specs
  // The reading whose label or name is `key`; nullptr if none.
  const EventReading* find(std::string_view key) const;
};

// The requested events opened for the calling thread (pid 0, any CPU).
// Hardware events share groups of at most the PMU's generic counter count, so
// ratios within a group are exact; software events form their own group.
// Move-only; closes its file descriptors.
class EventGroup {
 public:
  // Never throws for an unavailable event: its status says why. An event that
  // opens alone but not in the current group starts a new group.
  static EventGroup open(const std::vector<EventSpec>& events);

  EventGroup() = default;
  EventGroup(EventGroup&&) noexcept = default;
  EventGroup& operator=(EventGroup&&) noexcept = default;
  EventGroup(const EventGroup&) = delete;
  EventGroup& operator=(const EventGroup&) = delete;
  ~EventGroup() = default;

  const std::vector<EventStatus>& statuses() const { return statuses_; }
  bool any_available() const;
  std::size_t group_count() const { return groups_.size(); }

  // Resets and enables every group; throws std::system_error if the kernel
  // refuses an ioctl on an open counter (unexpected).
  void start();
  // Disables every group.
  void stop();
  // Reads every group; an event never scheduled is unavailable, never 0.
  Reading read() const;

 private:
  class Fd {
   public:
    explicit Fd(int fd = -1) : fd_(fd) {}
    Fd(Fd&& other) noexcept : fd_(other.release()) {}
    Fd& operator=(Fd&& other) noexcept;
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    ~Fd();
    int get() const { return fd_; }
    int release() {
      int fd = fd_;
      fd_ = -1;
      return fd;
    }

   private:
    int fd_;
  };
  struct Group {
    std::vector<Fd> fds;              // fds[0] is the leader
    std::vector<std::size_t> events;  // index into statuses_, same order
  };

  std::vector<EventStatus> statuses_;
  std::vector<Group> groups_;
};

// Every default event of this machine's libpfm4 core PMU plus the software
// events, each with its open status here (for `memprobe counters`).
std::vector<EventStatus> list_available_events();

}  // namespace memprobe::core
