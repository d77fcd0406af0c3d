#include "harness/signals.h"

#include <pthread.h>
#include <string.h>  // sigabbrev_np
#include <unistd.h>

#include <ctime>
#include <vector>

#include "benchmarks/family.h"
#include "harness/system_guard.h"

namespace memprobe::harness {
namespace {

std::vector<int> make_terminating_signals() {
  std::vector<int> signals = {SIGHUP,    SIGINT,  SIGQUIT, SIGTERM, SIGALRM, SIGUSR1, SIGUSR2,
                              SIGVTALRM, SIGPROF, SIGXCPU, SIGIO,   SIGPWR,  SIGSTKFLT};
  for (int signo = SIGRTMIN; signo <= SIGRTMAX; ++signo) signals.push_back(signo);
  return signals;
}

volatile std::sig_atomic_t g_first_signal_s = 0;
volatile std::sig_atomic_t g_first_signo = 0;

extern "C" void on_graceful_signal(int signo) {
  // Only async-signal-safe calls: clock_gettime, open/write/close/unlink, _exit.
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  restore_system_settings_from_signal();
  if (g_first_signal_s != 0 && now.tv_sec > g_first_signal_s + 1) ::_exit(128 + signo);
  if (g_first_signal_s == 0) {
    g_first_signal_s = static_cast<std::sig_atomic_t>(now.tv_sec);
    g_first_signo = signo;
  }
  bench::request_interrupt();
}

}  // namespace

std::span<const int> terminating_signals() {
  static const std::vector<int> signals = make_terminating_signals();
  return signals;
}

void ignore_write_signals() {
  struct sigaction ignore {};
  ignore.sa_handler = SIG_IGN;
  sigemptyset(&ignore.sa_mask);
  ::sigaction(SIGPIPE, &ignore, nullptr);
  ::sigaction(SIGXFSZ, &ignore, nullptr);
}

void accept_interrupt_signals() {
  sigset_t interrupts;
  sigemptyset(&interrupts);
  for (const int signo : {SIGINT, SIGTERM}) {
    sigaddset(&interrupts, signo);
    struct sigaction current {};
    if (::sigaction(signo, nullptr, &current) != 0) continue;
    if ((current.sa_flags & SA_SIGINFO) != 0 || current.sa_handler != SIG_IGN) continue;
    struct sigaction default_action {};
    default_action.sa_handler = SIG_DFL;
    sigemptyset(&default_action.sa_mask);
    ::sigaction(signo, &default_action, nullptr);
  }
  ::pthread_sigmask(SIG_UNBLOCK, &interrupts, nullptr);
}

const char* signal_name(int signo) {
  const char* name = ::sigabbrev_np(signo);
  return name != nullptr ? name : "?";
}

GracefulInterrupts::GracefulInterrupts() {
  struct sigaction action {};
  action.sa_handler = &on_graceful_signal;
  // SA_RESTART: the run goes on after the first signal, and a write to
  // standard output must not fail with EINTR because of it.
  action.sa_flags = SA_RESTART;
  sigemptyset(&action.sa_mask);
  for (const int signo : terminating_signals()) sigaddset(&action.sa_mask, signo);
  for (const int signo : terminating_signals()) {
    struct sigaction& previous = previous_[signo];
    if (::sigaction(signo, nullptr, &previous) != 0) continue;
    // Ignored from the start (nohup, or SIGQUIT in a background job) stays
    // ignored, except SIGINT and SIGTERM: `kill -INT` of a run a script
    // started in the background (where the shell ignores SIGINT) is how
    // such a script stops it early.
    const bool ignored = (previous.sa_flags & SA_SIGINFO) == 0 && previous.sa_handler == SIG_IGN;
    if (ignored && signo != SIGINT && signo != SIGTERM) continue;
    installed_[signo] = ::sigaction(signo, &action, nullptr) == 0;
  }
}

GracefulInterrupts::~GracefulInterrupts() {
  for (const int signo : terminating_signals())
    if (installed_[signo]) ::sigaction(signo, &previous_[signo], nullptr);
}

int GracefulInterrupts::first_signal() { return g_first_signo; }

}  // namespace memprobe::harness
