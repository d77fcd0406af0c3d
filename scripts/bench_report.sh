#!/usr/bin/env bash
# Benchmark (not a test): how `memprobe report` and `memprobe compare` scale
# with the size of a results file. Builds files of growing size by repeating
# the cases of a real results file (default: the newest under results/), so
# every family's curves get proportionally more points, and times report and
# compare on each. Issue 13 asks a 50 MB file to report in under 2 s.
#
#   scripts/bench_report.sh [RESULTS.json] [COPIES...]
#
# Prints one line per file: copies, size, report seconds, compare seconds.
# Needs ./build/harness/memprobe (scripts/build.sh). BENCH_REPORT_KEEP=DIR
# keeps the generated files in DIR, e.g. to profile one size with
#   valgrind --tool=callgrind build/harness/memprobe report DIR/results-10.json
set -euo pipefail
cd "$(dirname "$0")/.."
memprobe=build/harness/memprobe
source=${1:-$(ls -t results/*/*.json | head -n 1)}
shift || true
copies=("$@")
((${#copies[@]})) || copies=(1 10 25 50 100)
if [[ -n ${BENCH_REPORT_KEEP:-} ]]; then
  work=$BENCH_REPORT_KEEP
  mkdir -p "$work"
else
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
fi

# The pretty-printed file has its cases array between the line '  "cases": ['
# and the next line '  ],' (two-space indent, members in key order).
make_copies() {
  local n=$1 out=$2
  awk -v n="$n" '
    !in_cases && /^  "cases": \[$/ { print; in_cases = 1; next }
    in_cases == 1 && /^  \],?$/ {
      for (c = 1; c <= n; c++)
        for (i = 1; i <= lines; i++) {
          line = block[i]
          if (i == lines && c < n) line = line ","
          # Distinct names per copy: "latency/4k/bytes:1048576#3".
          if (c > 1 && line ~ /^      "name": "/) sub(/",?$/, "#" c "&", line)
          print line
        }
      print; in_cases = 2; next
    }
    in_cases == 1 { block[++lines] = $0; next }
    { print }
  ' "$source" >"$out"
}

seconds() {  # seconds of wall time of "$@", output discarded
  local start end
  start=$(date +%s.%N)
  "$@" >/dev/null 2>&1 || { echo "bench_report: failed: $*" >&2; return 1; }
  end=$(date +%s.%N)
  awk -v a="$start" -v b="$end" 'BEGIN { printf "%.2f", b - a }'
}

printf '%8s  %10s  %10s  %10s\n' copies bytes report_s compare_s
for n in "${copies[@]}"; do
  file=$work/results-$n.json
  make_copies "$n" "$file"
  "$memprobe" report "$file" >/dev/null  # refuses a malformed file before timing
  printf '%8s  %10s  %10s  %10s\n' "$n" "$(stat -c %s "$file")" "$(seconds "$memprobe" report "$file")" \
    "$(seconds "$memprobe" compare "$file" "$file")"
done
