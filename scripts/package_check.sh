#!/usr/bin/env bash
# Builds the Debian package from ./build (cpack -G DEB), checks it with
# lintian (fails on errors, prints warnings), installs it with dpkg -i (and
# apt-get install -f for missing Depends), runs the installed memprobe
# (check, --version, man -w), then purges it and checks nothing is left.
# Needs root or sudo; build first (scripts/build.sh). docs/install.md.
set -euo pipefail
cd "$(dirname "$0")/.."

sudo=""
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || { echo "package_check: need root (or sudo) for dpkg -i" >&2; exit 1; }
  sudo="sudo"
fi
[[ -f build/CPackConfig.cmake ]] || { echo "package_check: no build/CPackConfig.cmake: run scripts/build.sh" >&2; exit 1; }
if dpkg-query -W -f='${Status}' memprobe 2>/dev/null | grep -q 'install ok installed'; then
  echo "package_check: memprobe is installed already; purge it first (dpkg --purge memprobe)" >&2
  exit 1
fi

cmake --build build -j"$(nproc)" >/dev/null
out=build/package
rm -rf "$out"
(cd build && cpack -G DEB -B package >/dev/null)
debs=("$out"/memprobe_*.deb)
[[ ${#debs[@]} -eq 1 && -f ${debs[0]} ]] || { echo "package_check: expected one memprobe_*.deb in $out" >&2; exit 1; }
deb=${debs[0]}
echo "package_check: built $deb"
dpkg-deb -f "$deb" Package Version Architecture Depends Recommends

if command -v lintian >/dev/null; then
  # lintian exits non-zero on errors; every tag is printed.
  lintian_out=$(lintian --tag-display-limit 0 "$deb" 2>&1) || true
  [[ -n $lintian_out ]] && echo "$lintian_out"
  if grep -q '^E: ' <<<"$lintian_out"; then
    echo "package_check: lintian reports errors" >&2
    exit 1
  fi
  echo "package_check: lintian: no errors ($(grep -c '^W: ' <<<"$lintian_out" || true) warnings)"
else
  echo "package_check: lintian is not installed (scripts/setup.sh installs it): not linted" >&2
  exit 1
fi

purge() { $sudo dpkg --purge memprobe >/dev/null 2>&1 || true; }
trap purge EXIT
if ! $sudo dpkg -i "$deb"; then
  echo "package_check: installing the missing Depends (apt-get install -f)"
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -f -y -qq --no-install-recommends
fi
dpkg-query -W -f='${Status}\n' memprobe | grep -q 'install ok installed'

[[ $(command -v memprobe) == /usr/bin/memprobe ]] || { echo "package_check: memprobe is not /usr/bin/memprobe" >&2; exit 1; }
memprobe --version
expected=$(dpkg-deb -f "$deb" Version)
memprobe --version | grep -q "memprobe ${expected%%+git*} " || { echo "package_check: --version is not $expected" >&2; exit 1; }
# check reports the environment; its exit status is 0 whatever it finds.
memprobe check >/dev/null
man -w memprobe
man -w memprobe-run >/dev/null
[[ -f /usr/share/bash-completion/completions/memprobe ]]

trap - EXIT
$sudo dpkg --purge memprobe >/dev/null
if dpkg -L memprobe >/dev/null 2>&1; then
  echo "package_check: dpkg still knows memprobe's files after --purge" >&2
  exit 1
fi
for path in /usr/bin/memprobe /usr/share/doc/memprobe /usr/share/memprobe /usr/share/man/man1/memprobe.1.gz \
            /usr/share/bash-completion/completions/memprobe; do
  [[ ! -e $path ]] || { echo "package_check: $path is left after --purge" >&2; exit 1; }
done
echo "package_check: installed, ran and purged $(basename "$deb"): nothing left"
