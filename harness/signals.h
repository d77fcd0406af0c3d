// Signals that would end memprobe: which ones, and what the harness does
// with them. Every signal whose default action ends the process either is
// ignored and becomes an error memprobe reports (SIGPIPE: EPIPE, SIGXFSZ:
// EFBIG), or is caught: the hugetlb pools are restored (SystemGuard), and
// during a run the completed cases are kept (GracefulInterrupts).
#pragma once

#include <csignal>
#include <span>

namespace memprobe::harness {

// The asynchronous signals whose default action ends the process and that a
// handler may catch: HUP, INT, QUIT, TERM, ALRM, USR1, USR2, VTALRM, PROF,
// XCPU, IO, PWR, STKFLT and the real-time signals. Not SIGKILL/SIGSTOP
// (cannot be caught), not SIGPIPE/SIGXFSZ (ignored: ignore_write_signals),
// not the faults of the process itself (SIGSEGV, SIGBUS, SIGILL, SIGFPE,
// SIGABRT): a handler there would compete with the sanitizers' and the
// crash must stay a crash.
std::span<const int> terminating_signals();

// SIGPIPE and SIGXFSZ ignored for the whole process: a closed reader of
// standard output then makes write() fail with EPIPE and a file over
// RLIMIT_FSIZE with EFBIG, which memprobe reports as a write error (exit 1)
// after removing its temporary file, instead of dying mid-write.
void ignore_write_signals();

// SIGINT and SIGTERM at their default action where the process started with
// them ignored, and unblocked where it started with them blocked: a script
// stops a run it started in the background (where sh ignores SIGINT) with
// `kill -INT`. main calls this first, so such a signal is never dropped,
// however early it comes; before the run installs GracefulInterrupts it ends
// the process as usual (128 + the signal's number, after SystemGuard restored
// any pool).
void accept_interrupt_signals();

// "HUP" for SIGHUP; "?" if unknown.
const char* signal_name(int signo);

// Every terminating signal (terminating_signals()) during a run: the first
// one lets the current case finish, skips the rest and keeps what completed
// (bench::request_interrupt); another one more than a second later ends the
// process at once with status 128 + its number. Both restore the system
// settings first (restore_system_settings_from_signal). Signals within that
// second count as one: timeout(1) and service managers signal the process
// and then its whole group, so one request often arrives twice. A signal the
// process was started with ignored (SIGHUP under nohup, SIGQUIT in a
// background job) stays ignored, except SIGINT and SIGTERM. The previous
// handlers come back when this is destroyed.
class GracefulInterrupts {
 public:
  GracefulInterrupts();
  ~GracefulInterrupts();
  GracefulInterrupts(const GracefulInterrupts&) = delete;
  GracefulInterrupts& operator=(const GracefulInterrupts&) = delete;

  // The first signal received while installed, 0 if none.
  static int first_signal();

 private:
  struct sigaction previous_[NSIG] {};
  bool installed_[NSIG] {};
};

}  // namespace memprobe::harness
