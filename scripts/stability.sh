#!/usr/bin/env bash
# Run-to-run stability of the headline figures on this machine: N default
# runs (`memprobe run`, extra arguments passed on, e.g. --quick), one after
# the other, then `memprobe fleet` over them, which prints every run's L1/L2/
# L3/DRAM latency, detected sizes and DTLB entries with its deviation from
# the median of the runs. Each run's drift line says how far its levels
# moved within the run (the drift family): run-to-run differences no larger
# than that are the machine, not memprobe. Timings and noise belong here,
# not in unit tests.
# Run it on a quiet machine. Usage: scripts/stability.sh [runs] [run args...]
# (default 5 runs). Keeps the results files in a temporary directory it
# prints (delete it when done).
set -euo pipefail
cd "$(dirname "$0")/.."
memprobe=./build/harness/memprobe
# Always (incremental): the binary, and the git revision it records in the
# results, must be this tree's, not an earlier build's.
scripts/build.sh >/dev/null
runs=${1:-5}
[[ $runs =~ ^[1-9][0-9]*$ ]] || { echo "stability.sh: runs must be a positive integer, got '$runs'" >&2; exit 2; }
shift || true
out=$(mktemp -d)
echo "machine: $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1), $(nproc) CPUs, git $(git describe --always --dirty)"
echo "runs: $runs x memprobe run $*  (results in $out)"
for i in $(seq 1 "$runs"); do
  start=$EPOCHREALTIME
  "$memprobe" run "$@" --out "$out/run-$i.json" > /dev/null 2> "$out/run-$i.err"
  awk -v s="$start" -v e="$EPOCHREALTIME" -v i="$i" 'BEGIN { printf "run %d: %.1f s\n", i, e - s }'
  grep -E "sweep ended" "$out/run-$i.err" | sed 's/^memprobe: /  /' | cut -c1-160
  "$memprobe" report "$out/run-$i.json" | grep -E "^latency drift" | sed 's/^/  /' || true
done
"$memprobe" fleet "$out"
