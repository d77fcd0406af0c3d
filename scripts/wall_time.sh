#!/usr/bin/env bash
# Wall time of the three everyday runs and the accuracy of the progress ETA,
# on this machine: `memprobe run`, `run --quick`, `run --only latency`.
# Prints one line per run: seconds, the target, the ETA's error once 10 % of
# the cases were done, and the latency sweep's end. Timings belong here, not
# in unit tests. Usage: scripts/wall_time.sh [--families] [repeats] (default 1).
# --families also prints each family's mean seconds per case and its ratio to
# a latency case: the figures harness/eta.cc's priors (kRelativeCaseCost) are.
set -euo pipefail
cd "$(dirname "$0")/.."
memprobe=./build/harness/memprobe
# Always (incremental): the binary, and the git revision it records in the
# results, must be this tree's, not an earlier build's.
scripts/build.sh >/dev/null
families=0
if [[ ${1:-} == --families ]]; then families=1; shift; fi
repeats=${1:-1}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

# Each stderr line gets a timestamp (seconds since start), taken by bash
# builtins as the line arrives: a process per line (the stamper before) fell
# behind a burst of short cases (assoc prints hundreds) and charged the lag
# to the families after it.
stamp() {
  local start=$EPOCHREALTIME
  while IFS= read -r line; do
    printf '%s %s\n' "$EPOCHREALTIME" "$line"
  done | awk -v start="$start" '{ t = $1; sub(/^[^ ]* /, ""); printf "%.3f %s\n", t - start, $0 }'
}

# ETA error at the first progress line with >= 10 % of the final case count:
# |printed seconds left - real seconds left| / real seconds left.
eta_error() {
  awk -v end_s="$2" '
    /\[[0-9]+\/[0-9]+\]/ {
      match($0, /\[[0-9]+\//); done = substr($0, RSTART + 1, RLENGTH - 2) + 0
      n++; t[n] = $1; d[n] = done
      if (match($0, /[0-9.]+ s left/)) left[n] = substr($0, RSTART, RLENGTH - 7) + 0
    }
    END {
      last = d[n]
      for (i = 1; i <= n; i++) if (d[i] >= 0.1 * last) {
        real = end_s - t[i]
        if (real <= 0) break
        e = left[i] - real; if (e < 0) e = -e
        printf "%.0f %% (at case %d of %d: printed %.1f s left, really %.1f s)", 100 * e / real, d[i], last, left[i], real
        exit
      }
      printf "n/a"
    }' "$1"
}

# Mean wall seconds per case of each family (time between progress lines),
# and the ratio to the latency family's.
family_costs() {
  awk '
    /\[[0-9]+\/[0-9]+\]/ {
      split($3, part, "/"); f = part[1]
      if (!(f in n)) order[++k] = f
      s[f] += $1 - prev; n[f]++; prev = $1
    }
    END {
      base = ("latency" in n) ? s["latency"] / n["latency"] : 0
      for (i = 1; i <= k; i++) {
        f = order[i]; m = s[f] / n[f]
        printf "  %-10s %4d cases  %.3f s per case", f, n[f], m
        if (base > 0) printf "  %.1fx a latency case", m / base
        printf "\n"
      }
    }' "$1"
}

run_one() {
  local name=$1 target_s=$2; shift 2
  local log=$out/$name.log start end
  start=$EPOCHREALTIME
  "$memprobe" run "$@" --out "$out/$name.json" 2> >(stamp > "$log") > /dev/null
  end=$EPOCHREALTIME
  sleep 0.2  # let the stamping subshell drain
  local wall; wall=$(awk -v a="$end" -v b="$start" 'BEGIN { print a - b }')
  local sweep; sweep=$(sed -n 's/.*memprobe: latency sweep ended at \([^:]*\):.*/\1/p' "$log" | head -1)
  printf '%-14s %6.1f s (target <= %s s)  ETA error after 10 %%: %s  latency sweep to %s\n' \
    "$name" "$wall" "$target_s" "$(eta_error "$log" "$wall")" "${sweep:-?}"
  ((families)) && family_costs "$log"
  return 0
}

echo "machine: $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1), $(nproc) CPUs, git $(git describe --always --dirty)"
for ((i = 1; i <= repeats; i++)); do
  run_one default 60
  run_one quick 15 --quick
  run_one only-latency 30 --only latency
done
