#!/usr/bin/env bash
# Installs the Debian 12 packages memprobe needs to build, test and plot.
# Idempotent: packages already present are left as they are.
set -euo pipefail

packages=(
  build-essential cmake pkg-config git binutils
  libbenchmark-dev libhwloc-dev libpfm4-dev libfmt-dev
  nlohmann-json3-dev libcli11-dev libgtest-dev googletest
  gnuplot-nox
  clang libclang-rt-14-dev  # CI sanitizer build + libFuzzer runtime (scripts/ci_sanitizers.sh)
  stress-ng                 # noise tests: a case under load must be flagged
  slurm-wlm munge           # tests/harness_slurm_test.cc: a two-node Slurm on this machine
  dpkg-dev lintian          # cpack -G DEB's Depends (dpkg-shlibdeps); scripts/package_check.sh
  man-db bash-completion    # tests/harness_manpage_test.cc renders the pages and completes
)
# tests/harness_html_report_test.cc renders the HTML reports in Debian's
# headless Chromium (--dump-dom). Debian 12 builds it for amd64 and arm64;
# elsewhere the test skips, saying why.
case "$(dpkg --print-architecture)" in
  amd64 | arm64) packages+=(chromium-headless-shell) ;;
esac

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done

if ((${#missing[@]} == 0)); then
  echo "setup: all ${#packages[@]} packages already installed"
  exit 0
fi

sudo=""
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || { echo "setup: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
  sudo="sudo"
fi
echo "setup: installing ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
