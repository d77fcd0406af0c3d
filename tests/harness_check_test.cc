// memprobe check: verdicts and fixes from synthetic /proc and /sys contents,
// and the live report on this machine.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <set>
#include <sstream>
#include <string>

#include "core/buffer.h"
#include "core/units.h"
#include "harness/check.h"
#include "harness/system_guard.h"

namespace memprobe::harness {
namespace {

// Files by path; a directory lists the names of the files and directories below it.
class FakeReader final : public SystemReader {
 public:
  std::map<std::string, std::string> files;

  std::optional<std::string> read(const std::string& path) const override {
    const auto it = files.find(path);
    if (it == files.end()) return std::nullopt;
    return it->second;
  }
  std::vector<std::string> list(const std::string& directory) const override {
    std::string prefix = directory;
    if (prefix.back() != '/') prefix += '/';
    std::set<std::string> names;
    for (const auto& [path, contents] : files)
      if (path.rfind(prefix, 0) == 0) names.insert(path.substr(prefix.size(), path.find('/', prefix.size()) - prefix.size()));
    return {names.begin(), names.end()};
  }
};

// A machine like the project's: THP madvise, empty pools, paranoid 2, not root.
FakeReader typical_machine() {
  FakeReader r;
  r.files = {
      {"/sys/kernel/mm/transparent_hugepage/enabled", "always [madvise] never"},
      {"/sys/kernel/mm/transparent_hugepage/defrag", "always defer defer+madvise [madvise] never"},
      {"/sys/kernel/mm/transparent_hugepage/hpage_pmd_size", "2097152"},
      {"/sys/kernel/mm/transparent_hugepage/hugepages-64kB/enabled", "always inherit madvise [never]"},
      {"/sys/kernel/mm/transparent_hugepage/hugepages-2048kB/enabled", "always [inherit] madvise never"},
      {"/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages", "0"},
      {"/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages", "0"},
      {"/sys/kernel/mm/hugepages/hugepages-1048576kB/nr_hugepages", "0"},
      {"/sys/kernel/mm/hugepages/hugepages-1048576kB/free_hugepages", "0"},
      {"/proc/sys/kernel/perf_event_paranoid", "2"},
      {"/proc/self/status", "Name:\tmemprobe\nUid:\t1000\t1000\t1000\t1000\nGid:\t1000\t1000\t1000\t1000"},
      {"/proc/sys/kernel/numa_balancing", "0"},
      {"/proc/sys/vm/swappiness", "60"},
      {"/proc/swaps", "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority"},
  };
  return r;
}

// typical_machine() with `changed` files written over (or added to) its own.
FakeReader typical_machine_with(const std::map<std::string, std::string>& changed) {
  FakeReader r = typical_machine();
  for (const auto& [path, contents] : changed) r.files[path] = contents;
  return r;
}

// A copy: callers often pass a temporary vector.
CheckItem item(const std::vector<CheckItem>& items, const std::string& setting) {
  const auto it = std::find_if(items.begin(), items.end(), [&](const CheckItem& i) { return i.setting == setting; });
  EXPECT_NE(it, items.end()) << setting;
  return it == items.end() ? CheckItem{"missing", "", CheckVerdict::kInfo, ""} : *it;
}

TEST(CheckTest, TypicalMachineThpMadviseIsOk) {
  const auto items = gather_checks(typical_machine());
  EXPECT_EQ(item(items, "THP enabled").verdict, CheckVerdict::kOk);
  EXPECT_EQ(item(items, "THP defrag").verdict, CheckVerdict::kOk);
  // 64 KiB is never; 2048 kB is the PMD size itself, not an mTHP size.
  EXPECT_EQ(item(items, "mTHP sizes").verdict, CheckVerdict::kOk);
  EXPECT_EQ(item(items, "NUMA balancing").verdict, CheckVerdict::kOk);
  EXPECT_EQ(item(items, "swap").verdict, CheckVerdict::kOk);
  // Without live facts, the PMU, hypervisor and huge-page proof are left out.
  EXPECT_TRUE(std::none_of(items.begin(), items.end(), [](const CheckItem& i) { return i.setting == "hardware PMU"; }));
}

TEST(CheckTest, ThpNeverWarnsWithTheMadviseFix) {
  FakeReader r = typical_machine();
  r.files["/sys/kernel/mm/transparent_hugepage/enabled"] = "always madvise [never]";
  r.files["/sys/kernel/mm/transparent_hugepage/defrag"] = "always defer defer+madvise madvise [never]";
  const auto items = gather_checks(r);
  const CheckItem& enabled = item(items, "THP enabled");
  EXPECT_EQ(enabled.verdict, CheckVerdict::kWarn);
  EXPECT_EQ(enabled.fix, "echo madvise > /sys/kernel/mm/transparent_hugepage/enabled");
  const CheckItem& defrag = item(items, "THP defrag");
  EXPECT_EQ(defrag.verdict, CheckVerdict::kWarn);
  EXPECT_EQ(defrag.fix, "echo madvise > /sys/kernel/mm/transparent_hugepage/defrag");
}

// arm64 with 64 KiB base pages: the THP size is the kernel's (512 MiB there),
// and a fault without one gets this system's base pages, not "4 KiB".
TEST(CheckTest, ThpTextsNameTheKernelsHugePageAndTheBasePage) {
  FakeReader r = typical_machine();
  r.files["/sys/kernel/mm/transparent_hugepage/hpage_pmd_size"] = "536870912";
  r.files["/sys/kernel/mm/transparent_hugepage/defrag"] = "always defer defer+madvise madvise [never]";
  const CheckItem defrag = item(gather_checks(r), "THP defrag");
  EXPECT_EQ(defrag.value, "never: a THP fault without a free 512 MiB block falls back to " +
                              core::format_bytes(core::base_page_bytes()) + " pages");
  r.files["/sys/kernel/mm/transparent_hugepage/defrag"] = "always defer defer+madvise [madvise] never";
  EXPECT_NE(item(gather_checks(r), "THP defrag").value.find("to get its 512 MiB page"), std::string::npos);
}

TEST(CheckTest, EmptyPoolsSuggestReserveHugepages) {
  const auto items = gather_checks(typical_machine());
  const CheckItem& pool_2m = item(items, "hugetlb 2 MiB pool");
  EXPECT_NE(pool_2m.verdict, CheckVerdict::kOk);
  EXPECT_NE(pool_2m.fix.find("--reserve-hugepages"), std::string::npos) << pool_2m.fix;
  EXPECT_NE(pool_2m.fix.find("/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages"), std::string::npos);
  const CheckItem& pool_1g = item(items, "hugetlb 1 GiB pool");
  EXPECT_NE(pool_1g.verdict, CheckVerdict::kOk);
  EXPECT_NE(pool_1g.fix.find("--reserve-hugepages-1g"), std::string::npos) << pool_1g.fix;
  EXPECT_NE(pool_1g.fix.find("hugepagesz=1G hugepages=N"), std::string::npos) << pool_1g.fix;

  const CheckItem& reserved =
      item(gather_checks(typical_machine_with({{"/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages", "512"},
                                               {"/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages", "500"}})),
           "hugetlb 2 MiB pool");
  EXPECT_EQ(reserved.verdict, CheckVerdict::kOk);
  EXPECT_EQ(reserved.value, "512 reserved, 500 free");
}

TEST(CheckTest, ParanoidThreeWarnsUnlessRoot) {
  FakeReader r = typical_machine_with({{"/proc/sys/kernel/perf_event_paranoid", "3"}});
  const CheckItem& paranoid = item(gather_checks(r), "perf_event_paranoid");
  EXPECT_EQ(paranoid.verdict, CheckVerdict::kWarn);
  EXPECT_NE(paranoid.fix.find("sysctl kernel.perf_event_paranoid=1"), std::string::npos) << paranoid.fix;

  r.files["/proc/self/status"] = "Name:\tmemprobe\nUid:\t0\t0\t0\t0";
  EXPECT_EQ(item(gather_checks(r), "perf_event_paranoid").verdict, CheckVerdict::kOk);
  r.files["/proc/sys/kernel/perf_event_paranoid"] = "1";
  r.files["/proc/self/status"] = "Uid:\t1000\t1000\t1000\t1000";
  EXPECT_EQ(item(gather_checks(r), "perf_event_paranoid").verdict, CheckVerdict::kOk);
}

TEST(CheckTest, EnabledMthpSizeWarnsAndNamesTheSize) {
  const CheckItem& mthp = item(
      gather_checks(typical_machine_with(
          {{"/sys/kernel/mm/transparent_hugepage/hugepages-64kB/enabled", "always [inherit] madvise never"}})),
      "mTHP sizes");
  EXPECT_EQ(mthp.verdict, CheckVerdict::kWarn);
  EXPECT_NE(mthp.value.find("64 KiB"), std::string::npos) << mthp.value;
  EXPECT_NE(mthp.fix.find("echo never > /sys/kernel/mm/transparent_hugepage/hugepages-64kB/enabled"),
            std::string::npos)
      << mthp.fix;
}

TEST(CheckTest, FrequencyAndNumaAndSwap) {
  FakeReader r = typical_machine();
  r.files["/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor"] = "powersave";
  r.files["/sys/devices/system/cpu/cpu1/cpufreq/scaling_governor"] = "powersave";
  r.files["/sys/devices/system/cpu/cpufreq/boost"] = "1";
  r.files["/proc/sys/kernel/numa_balancing"] = "1";
  r.files["/proc/swaps"] =
      "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n/dev/vda2 partition\t1048576\t\t0\t\t-2";
  const auto items = gather_checks(r);
  const CheckItem& governor = item(items, "CPU frequency governor");
  EXPECT_EQ(governor.verdict, CheckVerdict::kWarn);
  EXPECT_NE(governor.value.find("powersave on 2 CPUs"), std::string::npos) << governor.value;
  EXPECT_EQ(item(items, "CPU boost").verdict, CheckVerdict::kInfo);
  EXPECT_EQ(item(items, "NUMA balancing").verdict, CheckVerdict::kWarn);
  EXPECT_EQ(item(items, "NUMA balancing").fix, "sysctl kernel.numa_balancing=0");
  EXPECT_EQ(item(items, "swap").value, "1 area active, 1 GiB");
  EXPECT_EQ(item(items, "swappiness").verdict, CheckVerdict::kInfo);

  // A VM with no cpufreq: "not visible", never a guess.
  LiveFacts vm;
  vm.probed = true;
  vm.hypervisor = "KVM";
  vm.pmu_reason = "no hardware PMU exposed to this system (ENOENT)";
  vm.proofs.push_back({"thp", 4 << 20, true, true, "thp", "smaps AnonHugePages 4096/4096 kB"});
  const auto vm_items = gather_checks(typical_machine(), vm);
  EXPECT_EQ(item(vm_items, "CPU frequency governor").value, "not visible (VM: the host controls the clock)");
  EXPECT_EQ(item(vm_items, "hardware PMU").verdict, CheckVerdict::kInfo);
  EXPECT_NE(item(vm_items, "hardware PMU").fix.find("virtual PMU"), std::string::npos);
  EXPECT_EQ(item(vm_items, "hypervisor").verdict, CheckVerdict::kInfo);
  const CheckItem& thp = item(vm_items, "huge page in use (thp)");
  EXPECT_EQ(thp.verdict, CheckVerdict::kOk);
  EXPECT_NE(thp.value.find("AnonHugePages 4096/4096 kB"), std::string::npos) << thp.value;
  EXPECT_EQ(item(vm_items, "huge page in use (hugetlb-2m)").value, "not tried: no free 2 MiB pages");
}

TEST(CheckTest, ThpProofThatGotSmallPagesWarns) {
  LiveFacts live;
  live.probed = true;
  live.proofs.push_back({"thp", 4 << 20, true, false, "4k", "smaps AnonHugePages 0/4096 kB"});
  const CheckItem& thp = item(gather_checks(typical_machine(), live), "huge page in use (thp)");
  EXPECT_EQ(thp.verdict, CheckVerdict::kWarn);
  EXPECT_NE(thp.fix.find("compact_memory"), std::string::npos) << thp.fix;
}

TEST(CheckTest, RendersATableWithEveryItem) {
  const auto items = gather_checks(typical_machine());
  const std::string text = render_checks(items);
  EXPECT_EQ(text.rfind("setting", 0), 0u) << text;
  for (const CheckItem& i : items) EXPECT_NE(text.find(i.setting), std::string::npos) << i.setting;
  EXPECT_NE(text.find("it changed nothing"), std::string::npos);
}

TEST(CheckTest, LiveReportRunsAndNamesThpAndHugetlb) {
  std::ostringstream out;
  EXPECT_EQ(check_command(out), 0);
  const std::string text = out.str();
  EXPECT_NE(text.find("THP enabled"), std::string::npos) << text;
  EXPECT_NE(text.find("hugetlb 2 MiB pool"), std::string::npos) << text;
  EXPECT_NE(text.find("huge page in use (thp)"), std::string::npos) << text;
  EXPECT_NE(text.find("hardware PMU"), std::string::npos) << text;
}

// Issue 13 row 15: a state file of a run that is gone, with the pool still
// raised, is a warning naming the run, both sizes and the command that
// shrinks the pool back; the pool's own row is no longer "ok".
class ReservationStateTest : public ::testing::Test {
 protected:
  void SetUp() override { ::setenv("MEMPROBE_STATE_DIR", kStateDir, 1); }
  void TearDown() override { ::unsetenv("MEMPROBE_STATE_DIR"); }

  static constexpr const char* kStateDir = "/fake/state";
  static FakeReader raised_machine(const std::string& now) {
    FakeReader r = typical_machine();
    r.files["/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages"] = now;
    r.files["/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages"] = now;
    ReservationState state;
    state.pid = 4242;
    state.pools.push_back({2 * 1024 * 1024, "/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages", 0, 64});
    r.files[std::string(kStateDir) + "/reservation-4242.json"] = reservation_state_json(state);
    return r;
  }
};

TEST_F(ReservationStateTest, PoolLeftRaisedByAKilledRunSaysHowToShrinkIt) {
  const auto items = gather_checks(raised_machine("64"));
  const CheckItem left = item(items, "hugetlb 2 MiB pool reservation");
  EXPECT_EQ(left.verdict, CheckVerdict::kWarn);
  EXPECT_NE(left.value.find("raised by memprobe run 4242 (no longer running), from 0 to 64 pages"), std::string::npos)
      << left.value;
  EXPECT_EQ(left.fix,
            "as root: echo 0 > /sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages && rm "
            "/fake/state/reservation-4242.json");
  const CheckItem pool = item(items, "hugetlb 2 MiB pool");
  EXPECT_EQ(pool.verdict, CheckVerdict::kWarn) << pool.value;
  EXPECT_NE(pool.value.find("left raised by a killed memprobe run"), std::string::npos) << pool.value;
}

TEST_F(ReservationStateTest, RunningRunOrRestoredPoolIsNoWarning) {
  FakeReader running = raised_machine("64");
  running.files["/proc/4242/comm"] = "memprobe";
  const CheckItem held = item(gather_checks(running), "hugetlb 2 MiB pool reservation");
  EXPECT_EQ(held.verdict, CheckVerdict::kInfo);
  EXPECT_NE(held.value.find("held by memprobe run 4242 (running)"), std::string::npos) << held.value;
  EXPECT_EQ(item(gather_checks(running), "hugetlb 2 MiB pool").verdict, CheckVerdict::kOk);

  // A reused pid is another program: the run that wrote the file is gone.
  FakeReader reused = raised_machine("64");
  reused.files["/proc/4242/comm"] = "bash";
  EXPECT_EQ(item(gather_checks(reused), "hugetlb 2 MiB pool reservation").verdict, CheckVerdict::kWarn);

  const CheckItem stale = item(gather_checks(raised_machine("0")), "hugetlb 2 MiB pool reservation");
  EXPECT_EQ(stale.verdict, CheckVerdict::kInfo);
  EXPECT_NE(stale.value.find("it is at 0 again"), std::string::npos) << stale.value;
  EXPECT_EQ(stale.fix, "rm /fake/state/reservation-4242.json");
}

TEST_F(ReservationStateTest, UnreadableStateFileIsNamed) {
  FakeReader r = typical_machine();
  r.files[std::string(kStateDir) + "/reservation-7.json"] = "{\"pid\": 7, \"pools\": [";
  r.files[std::string(kStateDir) + "/unrelated.txt"] = "not ours";
  const auto items = gather_checks(r);
  const CheckItem bad = item(items, "memprobe state file");
  EXPECT_NE(bad.value.find("/fake/state/reservation-7.json"), std::string::npos) << bad.value;
  EXPECT_EQ(std::count_if(items.begin(), items.end(), [](const CheckItem& i) { return i.setting == "memprobe state file"; }),
            1);
}

}  // namespace
}  // namespace memprobe::harness
