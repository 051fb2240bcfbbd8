#!/usr/bin/env bash
# `npm test` runs a browser test in Debian's Chromium (driven by playwright-core, which downloads no
# browser). Install it when it is missing and we may (root with apt); otherwise say how, and stop.
set -euo pipefail
CHROMIUM=${CHROMIUM_PATH:-/usr/bin/chromium}
if [ -x "$CHROMIUM" ]; then exit 0; fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing Debian's chromium for the browser test (once)…"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  exit 0
fi
echo "The browser test needs Chromium at $CHROMIUM. Install Debian's package (sudo apt-get install chromium)," >&2
echo "or point CHROMIUM_PATH at a Chromium binary." >&2
exit 1
