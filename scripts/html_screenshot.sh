#!/usr/bin/env bash
# Draws an HTML report (memprobe report --format html) as the browser shows
# it: a PNG of the page from its top (header, summary, first tables), rendered by
# Debian's headless Chromium (chromium-headless-shell, scripts/setup.sh).
# Used by scripts/reference_run.sh so the README shows a real run's page.
# Usage: scripts/html_screenshot.sh REPORT.html OUT.png
set -euo pipefail
html=${1:?usage: scripts/html_screenshot.sh REPORT.html OUT.png}
out=${2:?usage: scripts/html_screenshot.sh REPORT.html OUT.png}
[[ -f $html ]] || { echo "html_screenshot.sh: no file $html" >&2; exit 2; }
browser=$(command -v chromium-headless-shell || command -v chromium || true)
[[ -n $browser ]] || { echo "html_screenshot.sh: no headless Chromium (apt-get install chromium-headless-shell)" >&2; exit 1; }
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
url="file://$(realpath "$html")"
shot() {
  # The flags keep a closed network quiet (no background connections).
  timeout 60 "$browser" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$profile" --hide-scrollbars --window-size=1200,1500 --screenshot="$1" "$2" 2>/dev/null
}
shot "$out" "$url"
echo "html_screenshot: $out"
