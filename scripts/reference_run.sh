#!/usr/bin/env bash
# Generates a reference run of this machine into results/<machine-slug>/:
# the results file (JSON, with the command line and machine fingerprint
# inside), its Markdown and HTML reports and the plots. Everything is produced by
# memprobe itself; nothing is edited by hand. Needs root for the hugetlb
# pools, which memprobe reserves and restores.
set -euo pipefail
cd "$(dirname "$0")/.."
memprobe=./build/harness/memprobe
# Always (incremental): the binary, and the git revision it records in the
# results, must be this tree's, not an earlier build's.
scripts/build.sh >/dev/null

# One directory per CPU generation: vendor, family and model (two
# generations of one brand never share a directory), hypervisor, CPU count.
vendor=$(sed -n 's/^vendor_id[[:space:]]*: //p' /proc/cpuinfo | head -1)
family=$(sed -n 's/^cpu family[[:space:]]*: //p' /proc/cpuinfo | head -1)
model=$(sed -n 's/^model[[:space:]]*: //p' /proc/cpuinfo | head -1)
case $vendor in AuthenticAMD) vendor=amd ;; GenuineIntel) vendor=intel ;; esac
[[ -n $family ]] || { family=$(uname -m); model=$(sed -n 's/^CPU part[[:space:]]*: //p' /proc/cpuinfo | head -1); }
hyper=$(lscpu 2>/dev/null | sed -n 's/^Hypervisor vendor:[[:space:]]*//p')
# lscpu names no vendor for some hypervisors (a bhyve guest): memprobe's own
# detection (CPUID leaf 0x40000000) then names it.
[[ -n $hyper ]] || hyper=$("$memprobe" check 2>/dev/null | sed -n 's/^hypervisor[[:space:]]*\([^: ]*\):.*/\1/p' | head -1)
slug=$(echo "${vendor:-cpu} fam${family} model${model} ${hyper:-bare-metal} $(nproc)cpu" | tr 'A-Z' 'a-z' | tr -cs 'a-z0-9' '-' | sed 's/^-//; s/-$//')
dir=results/$slug
stem=$dir/$(date -u +%Y-%m-%d)-$(git describe --always --dirty)
mkdir -p "$dir"

pools=()
if [[ $(id -u) -eq 0 ]]; then
  # A kernel without a 1 GiB pool (no gigantic-page support) runs without it.
  if [[ -e /sys/kernel/mm/hugepages/hugepages-1048576kB/nr_hugepages ]]; then
    pools=(--pages 4k,thp,2m,1g --reserve-hugepages 600 --reserve-hugepages-1g 2)
  else
    pools=(--pages 4k,thp,2m --reserve-hugepages 600)
  fi
fi
"$memprobe" run "${pools[@]}" --out "$stem.json"
"$memprobe" report "$stem.json" --format markdown > "$stem.md"
"$memprobe" report "$stem.json" --plot "$stem-plots" > /dev/null
"$memprobe" report "$stem.json" --format html > "$stem.html"
# The README shows the page as a browser draws it (where a browser is installed).
scripts/html_screenshot.sh "$stem.html" "$stem-html.png" || echo "reference run: no screenshot of $stem.html"
echo "reference run: $stem.json, $stem.md, $stem.html, $stem-plots/"
