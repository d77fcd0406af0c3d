// scripts/slurm/memprobe.sbatch against a real Slurm, not a mock: munged,
// slurmctld and two slurmd (nodes n1 and n2 on this machine) from Debian's
// packages, with config, state and logs in a temporary directory and ports of
// their own. The script runs as a 2-task job array with a short measurement,
// then `memprobe fleet` reads the two results files. Every daemon this test
// starts is stopped again by its PID (and dies with the test process if the
// test itself is killed: PR_SET_PDEATHSIG). Skipped where Slurm is not
// installed (scripts/setup.sh installs slurm-wlm and munge) or not root.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "tests/command_runner.h"
#include "tests/emulation.h"

namespace memprobe::testing {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

const std::string kSbatchScript = std::string(MEMPROBE_SOURCE_DIR) + "/scripts/slurm/memprobe.sbatch";

// The whole test stays well inside this (ctest's own timeout is longer).
constexpr auto kJobTimeout = std::chrono::seconds(60);
constexpr auto kStartTimeout = std::chrono::seconds(20);

// A program on PATH or in the sbin directories (root's daemons live there).
std::string find_program(const std::string& name) {
  std::vector<std::string> dirs = {"/usr/sbin", "/usr/bin", "/sbin", "/bin", "/usr/local/sbin", "/usr/local/bin"};
  if (const char* path = std::getenv("PATH")) {
    std::string all = path;
    for (std::size_t start = 0; start <= all.size();) {
      const std::size_t end = std::min(all.find(':', start), all.size());
      dirs.insert(dirs.begin(), all.substr(start, end - start));
      start = end + 1;
    }
  }
  for (const std::string& dir : dirs)
    if (!dir.empty() && ::access((dir + "/" + name).c_str(), X_OK) == 0) return dir + "/" + name;
  return "";
}

bool port_free(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_ANY);
  const bool free = ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
  ::close(fd);
  return free;
}

// Three consecutive free ports (slurmctld, slurmd n1, slurmd n2), starting
// from a place that depends on the PID so parallel runs do not collide.
int free_port_base() {
  for (int attempt = 0; attempt < 200; ++attempt) {
    const int base = 20000 + static_cast<int>((::getpid() * 7 + attempt * 131) % 30000);
    if (port_free(base) && port_free(base + 1) && port_free(base + 2)) return base;
  }
  return 0;
}

std::string tail_of(const fs::path& file, std::size_t bytes = 1500) {
  const std::string text = slurp(file);
  return text.size() > bytes ? "..." + text.substr(text.size() - bytes) : text;
}

class LocalSlurm {
 public:
  // Why it cannot run here ("" if it can).
  static std::string unavailable_reason() {
    for (const char* program : {"slurmctld", "slurmd", "sbatch", "squeue", "sinfo", "scontrol", "munged", "mungekey"})
      if (find_program(program).empty())
        return std::string("Slurm is not installed (no ") + program +
               "; scripts/setup.sh installs Debian's slurm-wlm and munge)";
    if (::geteuid() != 0) return "slurmd runs jobs only as root (not root here)";
    return "";
  }

  explicit LocalSlurm(const fs::path& dir) : dir_(dir) {}

  // Starts the daemons and waits for both nodes to be idle; "" or what failed.
  std::string start() {
    // munged refuses a socket directory that others cannot traverse.
    fs::permissions(dir_, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                              fs::perms::others_read | fs::perms::others_exec);
    for (const char* sub : {"state", "spool/n1", "spool/n2"}) fs::create_directories(dir_ / sub);
    const int base = free_port_base();
    if (base == 0) return "no three consecutive free TCP ports";

    const std::string d = dir_.string();
    if (run_command_line(find_program("mungekey") + " --create --keyfile=" + d + "/munge.key").exit_status != 0)
      return "mungekey --create failed";
    spawn({find_program("munged"), "--foreground", "--socket=" + d + "/munge.sock", "--key-file=" + d + "/munge.key",
           "--pid-file=" + d + "/munged.pid", "--log-file=" + d + "/munged.log", "--seed-file=" + d + "/munged.seed"},
          dir_ / "munged.out");

    const CommandResult node = run_command_line(find_program("slurmd") + " -C");
    const std::string first_line = node.out.substr(0, node.out.find('\n'));
    const std::size_t attributes = first_line.find(' ');
    if (node.exit_status != 0 || first_line.rfind("NodeName=", 0) != 0 || attributes == std::string::npos)
      return "slurmd -C gave no node line: " + node.out + node.err;

    std::ofstream conf(dir_ / "slurm.conf");
    conf << "ClusterName=memprobetest\n"
         << "SlurmctldHost=localhost(127.0.0.1)\n"
         << "SlurmctldPort=" << base << "\n"
         << "AuthType=auth/munge\nCredType=cred/munge\n"
         << "AuthInfo=socket=" << d << "/munge.sock\n"
         << "SlurmUser=root\nSlurmdUser=root\n"
         << "StateSaveLocation=" << d << "/state\n"
         << "SlurmdSpoolDir=" << d << "/spool/%n\n"
         << "SlurmctldPidFile=" << d << "/slurmctld.pid\n"
         << "SlurmdPidFile=" << d << "/slurmd-%n.pid\n"
         << "SlurmctldLogFile=" << d << "/slurmctld.log\n"
         << "SlurmdLogFile=" << d << "/slurmd-%n.log\n"
         // No cgroups, no accounting: what a container without systemd offers.
         << "ProctrackType=proctrack/linuxproc\nTaskPlugin=task/none\n"
         << "SelectType=select/cons_tres\nSelectTypeParameters=CR_CPU\n"
         << "JobAcctGatherType=jobacct_gather/none\nAccountingStorageType=accounting_storage/none\n"
         << "MpiDefault=none\nReturnToService=2\n"
         << "SchedulerParameters=batch_sched_delay=0\n"
         << "NodeName=n[1-2] NodeHostname=localhost NodeAddr=127.0.0.1 Port=[" << base + 1 << "-" << base + 2 << "]"
         << first_line.substr(attributes) << "\n"
         << "PartitionName=memprobe Nodes=n[1-2] Default=YES MaxTime=10 State=UP\n";
    conf.close();
    ::setenv("SLURM_CONF", (dir_ / "slurm.conf").c_str(), 1);

    slurm_started_ = true;
    spawn({find_program("slurmctld"), "-D"}, dir_ / "slurmctld.out");
    spawn({find_program("slurmd"), "-D", "-N", "n1"}, dir_ / "slurmd-n1.out");
    spawn({find_program("slurmd"), "-D", "-N", "n2"}, dir_ / "slurmd-n2.out");

    const auto deadline = Clock::now() + kStartTimeout;
    while (Clock::now() < deadline) {
      if (const std::string dead = dead_daemon(); !dead.empty()) return dead + " exited during start-up\n" + logs();
      const CommandResult states = run_command_line("timeout 5 " + find_program("sinfo") + " -h -N -o %t");
      if (states.exit_status == 0 && states.out == "idle\nidle\n") return "";
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
    }
    return "the nodes did not become idle within 20 s\n" + logs();
  }

  // Cancels what is still queued, shuts Slurm down, then TERM and KILL by
  // PID whatever is left: never leaves a daemon behind.
  ~LocalSlurm() {
    if (slurm_started_) {
      run_command_line("timeout 5 " + find_program("scancel") + " --user=root");
      run_command_line("timeout 5 " + find_program("scontrol") + " shutdown");
    }
    if (!wait_all(std::chrono::seconds(5))) {
      for (const pid_t pid : pids_) ::kill(pid, SIGTERM);
      if (!wait_all(std::chrono::seconds(3))) {
        for (const pid_t pid : pids_) ::kill(pid, SIGKILL);
        wait_all(std::chrono::seconds(3));
      }
    }
    ::unsetenv("SLURM_CONF");
  }

  LocalSlurm(const LocalSlurm&) = delete;
  LocalSlurm& operator=(const LocalSlurm&) = delete;

  // The last lines of every daemon's logs, for a failure message.
  std::string logs() const {
    std::string out;
    for (const char* log : {"slurmctld.log", "slurmd-n1.log", "slurmd-n2.log", "slurmctld.out", "munged.out"})
      if (fs::exists(dir_ / log)) out += std::string("--- ") + log + "\n" + tail_of(dir_ / log) + "\n";
    return out;
  }

  std::size_t daemons() const { return pids_.size(); }

 private:
  void spawn(const std::vector<std::string>& argv, const fs::path& output) {
    const pid_t parent = ::getpid();
    const pid_t pid = ::fork();
    if (pid < 0) return;
    if (pid == 0) {
      // Dies with the test process, whatever ends it.
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent) ::_exit(127);
      const int fd = ::open(output.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (fd >= 0) ::dup2(fd, 1), ::dup2(fd, 2);
      std::vector<char*> args;
      for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      ::execv(args[0], args.data());
      ::_exit(127);
    }
    pids_.push_back(pid);
    names_.push_back(fs::path(argv[0]).filename().string() + (argv.size() > 3 && argv[2] == "-N" ? " " + argv[3] : ""));
  }

  // The name of a daemon that has exited, or "".
  std::string dead_daemon() {
    for (std::size_t i = 0; i < pids_.size(); ++i) {
      int status = 0;
      if (::waitpid(pids_[i], &status, WNOHANG) == pids_[i]) {
        pids_.erase(pids_.begin() + static_cast<std::ptrdiff_t>(i));
        const std::string name = names_[i];
        names_.erase(names_.begin() + static_cast<std::ptrdiff_t>(i));
        return name;
      }
    }
    return "";
  }

  // Reaps the daemons that exit within `limit`; true when none is left.
  bool wait_all(std::chrono::seconds limit) {
    const auto deadline = Clock::now() + limit;
    while (!pids_.empty()) {
      for (std::size_t i = 0; i < pids_.size();) {
        int status = 0;
        const pid_t done = ::waitpid(pids_[i], &status, WNOHANG);
        if (done == pids_[i] || (done < 0 && errno == ECHILD)) {
          pids_.erase(pids_.begin() + static_cast<std::ptrdiff_t>(i));
          names_.erase(names_.begin() + static_cast<std::ptrdiff_t>(i));
        } else {
          ++i;
        }
      }
      if (pids_.empty() || Clock::now() >= deadline) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return pids_.empty();
  }

  fs::path dir_;
  bool slurm_started_ = false;
  std::vector<pid_t> pids_;
  std::vector<std::string> names_;
};

TEST(SlurmTest, AJobArrayOfTwoNodesGivesAFleetOfTwoRuns) {
  if (const std::string reason = LocalSlurm::unavailable_reason(); !reason.empty()) GTEST_SKIP() << reason;
  const fs::path dir = make_temp_dir("memprobe-slurm");
  // Declared first, so it is removed after the daemons stopped, also when an
  // assertion ends the test early.
  struct RemoveDir {
    fs::path path;
    ~RemoveDir() {
      std::error_code ec;
      fs::remove_all(path, ec);
    }
  } remove_dir{dir};
  {
    LocalSlurm slurm(dir);
    const std::string failure = slurm.start();
    ASSERT_EQ(failure, "");
    EXPECT_EQ(slurm.daemons(), 4u);  // munged, slurmctld, two slurmd

    const fs::path results = dir / "results";
    ::setenv("MEMPROBE", kMemprobe.c_str(), 1);  // sbatch hands the environment to the job
    const CommandResult submit = run_command_line(
        find_program("sbatch") + " --parsable --array=0-1 --time=2 --output=" + (dir / "job-%A_%a.out").string() +
        " --chdir=" + dir.string() + " " + kSbatchScript + " " + results.string() +
        " --quick --only latency --max-working-set 16MiB");
    ::unsetenv("MEMPROBE");
    ASSERT_EQ(submit.exit_status, 0) << submit.err << slurm.logs();
    const std::string job = submit.out.substr(0, submit.out.find_first_of(";\n"));
    ASSERT_TRUE(std::regex_match(job, std::regex("[0-9]+"))) << submit.out;

    // Wait (bounded) until the array has left the queue.
    const auto deadline = Clock::now() + kJobTimeout;
    bool done = false;
    while (!done && Clock::now() < deadline) {
      const CommandResult queue = run_command_line("timeout 5 " + find_program("squeue") + " -h -j " + job);
      done = queue.exit_status == 0 && queue.out.empty();
      if (!done) std::this_thread::sleep_for(std::chrono::milliseconds(500));
    }
    std::string job_logs;
    for (const auto& entry : fs::directory_iterator(dir))
      if (entry.path().filename().string().rfind("job-", 0) == 0)
        job_logs += "--- " + entry.path().filename().string() + "\n" + tail_of(entry.path()) + "\n";
    ASSERT_TRUE(done) << "the job array did not finish within 60 s\n" << job_logs << slurm.logs();

    // One results file per task, named <node>-<job>-<task>.json, nothing half-written.
    std::set<std::string> tasks;
    std::vector<std::string> files;
    ASSERT_TRUE(fs::is_directory(results)) << job_logs;
    for (const auto& entry : fs::directory_iterator(results)) {
      const std::string name = entry.path().filename().string();
      std::smatch match;
      ASSERT_TRUE(std::regex_match(name, match, std::regex("(n[12])-" + job + "-([01])\\.json"))) << name;
      tasks.insert(match[2]);
      files.push_back(entry.path().string());
    }
    EXPECT_EQ(tasks, (std::set<std::string>{"0", "1"})) << job_logs;

    // The fleet over the directory: one group, two rows, named by those files.
    const CommandResult fleet = run_command_line(kMemprobe + " fleet " + results.string() + " --format json");
    ASSERT_EQ(fleet.exit_status, 0) << fleet.err;
    const auto doc = nlohmann::json::parse(fleet.out);
    ASSERT_EQ(doc["groups"].size(), 1u) << fleet.out;
    // memprobe run recorded the memory size (and the host) the fingerprint uses.
    EXPECT_EQ(doc["groups"][0]["fingerprint"].get<std::string>().find("unknown"), std::string::npos) << fleet.out;
    ASSERT_EQ(doc["groups"][0]["runs"].size(), 2u) << fleet.out;
    std::set<std::string> named;
    for (const auto& run : doc["groups"][0]["runs"]) {
      named.insert(run["file"].get<std::string>());
      EXPECT_FALSE(run["host"].get<std::string>().empty()) << fleet.out;
      // An L1 figure is a step in real hardware timing, which an emulator lacks.
      if (!emulation_reason()) {
        EXPECT_FALSE(run["values"][0].is_null()) << "no L1 latency in " << run["file"];
      }
    }
    EXPECT_EQ(named, std::set<std::string>(files.begin(), files.end()));
    const CommandResult text = run_command_line(kMemprobe + " fleet " + results.string());
    ASSERT_EQ(text.exit_status, 0) << text.err;
    EXPECT_NE(text.out.find("2 runs"), std::string::npos) << text.out;
  }  // ~LocalSlurm stops every daemon
}

}  // namespace
}  // namespace memprobe::testing
