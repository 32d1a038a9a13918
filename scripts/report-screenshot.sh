#!/usr/bin/env bash
# Screenshots a report's index.html (written by `nasarena report RUNS --out
# DIR`) in headless Chromium with every network request refused, to check
# by eye that the page is self-contained: tables styled, every SVG figure
# drawn, nothing missing. Usage:
#   scripts/report-screenshot.sh DIR [OUT.png] [WIDTHxHEIGHT]
# (default DIR/index.png at 1280x3000). Needs Debian's `chromium`
# (installed here when missing).
set -euo pipefail
dir=${1:?usage: $0 REPORT_DIR [OUT.png] [WIDTHxHEIGHT]}
page="$(cd "$dir" && pwd)/index.html"
out=${2:-$dir/index.png}
size=${3:-1280x3000}
[ -f "$page" ] || { echo "$page: no such file (run nasarena report RUNS --out $dir)" >&2; exit 1; }
if ! command -v chromium >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq chromium >/dev/null
fi
# MAP * ~NOTFOUND: any host name fails to resolve, so a page that needed the
# network would show it (broken images, unstyled text).
chromium --headless --no-sandbox --disable-gpu --hide-scrollbars \
  --host-resolver-rules='MAP * ~NOTFOUND' \
  --window-size="${size/x/,}" --screenshot="$out" "file://$page" 2>/dev/null
echo "wrote $out"
