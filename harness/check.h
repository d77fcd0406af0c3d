// `memprobe check`: the environment report. Each setting that changes what
// memprobe measures (THP, hugetlb pools, perf_event_paranoid and the PMU,
// hypervisor, frequency scaling, NUMA balancing, swap, mTHP) with a verdict
// and the command that fixes it, plus a live proof that a huge page can be
// had and is used. It reads only; it never changes a setting.
#pragma once

#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

namespace memprobe::harness {

// Where the report reads the system from: the live /proc and /sys, or (in
// tests) synthetic contents.
class SystemReader {
 public:
  virtual ~SystemReader() = default;
  // The file's contents, trimmed; nullopt if it does not exist or cannot be read.
  virtual std::optional<std::string> read(const std::string& path) const = 0;
  // Names (not paths) of a directory's entries, sorted; empty if it does not exist.
  virtual std::vector<std::string> list(const std::string& directory) const = 0;
};

// The running system's files (core::read_text_file, std::filesystem).
class LiveSystemReader final : public SystemReader {
 public:
  std::optional<std::string> read(const std::string& path) const override;
  std::vector<std::string> list(const std::string& directory) const override;
};

// ok: nothing to do. warn: figures are affected or unavailable until fixed.
// info: worth knowing, nothing memprobe needs (or nothing the user can change).
enum class CheckVerdict { kOk, kWarn, kInfo };
std::string_view check_verdict_name(CheckVerdict verdict);  // "ok", "warn", "info"

struct CheckItem {
  std::string setting;  // "THP enabled"
  std::string value;    // what was found: "madvise", "0 reserved, 0 free"
  CheckVerdict verdict = CheckVerdict::kInfo;
  std::string fix;      // the command or step that fixes it; empty if none needed
};

// A huge-page buffer allocated for the report and its verified backing.
struct HugePageProof {
  std::string policy;       // "thp", "hugetlb-2m", "hugetlb-1g"
  std::size_t bytes = 0;    // size asked for
  bool allocated = false;   // false: `detail` is the reason it could not be had
  bool huge = false;        // the backing read back is what was asked for, in full
  std::string verified;     // the backing obtained: "thp", "mixed", "4k", ...
  std::string detail;       // how it was verified ("smaps AnonHugePages 4096/4096 kB") or why not
};

// What the report learns by doing rather than reading files.
struct LiveFacts {
  bool probed = false;                    // false: the items below are left out
  std::optional<std::string> hypervisor;  // core::detect_hypervisor()
  std::string pmu_reason;                 // core::probe_hardware_pmu(): empty if the PMU opens
  std::vector<HugePageProof> proofs;      // thp always; hugetlb-2m / -1g only with free pages
};

// Probes the PMU and hypervisor and allocates the proof buffers: 4 MiB THP,
// and 4 MiB of hugetlb-2m / 1 GiB of hugetlb-1g when the pool (read through
// `reader`) has enough free pages. The buffers are freed before it returns.
LiveFacts probe_live(const SystemReader& reader);

// Every check, in report order, from the files `reader` gives and `live`
// (whose items are left out unless live.probed). Pure: no system access
// beyond `reader` (and $MEMPROBE_STATE_DIR, which names the directory of the
// reservation state files it reads through `reader`: a pool a killed run
// left raised is a warning with the command that shrinks it back).
std::vector<CheckItem> gather_checks(const SystemReader& reader, const LiveFacts& live = {});

// setting | value | verdict | fix table (render_table), then a count line.
std::string render_checks(const std::vector<CheckItem>& items);

// `memprobe check`: gathers on the live system and prints the report.
// Returns 0: it is a report, not a test.
int check_command(std::ostream& out);

}  // namespace memprobe::harness
