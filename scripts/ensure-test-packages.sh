#!/usr/bin/env bash
# `npm test` drives Debian's Chromium for the browser test (playwright-core, which downloads no browser),
# signs requests with Debian's botocore and curl --aws-sigv4 (independent SigV4 signers) for the API's
# IAM checks, and opens archives with the readers people use: Info-ZIP unzip, 7-Zip and bsdtar
# (libarchive, as GNOME and macOS use).
# Install what is missing when we may (root with apt); otherwise say how, and stop.
set -euo pipefail
CHROMIUM=${CHROMIUM_PATH:-/usr/bin/chromium}
missing=()
[ -x "$CHROMIUM" ] || missing+=(chromium)
/usr/bin/python3 -c 'import botocore' >/dev/null 2>&1 || missing+=(python3-botocore)
command -v curl >/dev/null 2>&1 || missing+=(curl)
command -v unzip >/dev/null 2>&1 || missing+=(unzip)
command -v 7z >/dev/null 2>&1 || missing+=(p7zip-full)
command -v bsdtar >/dev/null 2>&1 || missing+=(libarchive-tools)
if [ ${#missing[@]} -eq 0 ]; then exit 0; fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing Debian's ${missing[*]} for the tests (once)…"
  apt-get -o DPkg::Lock::Timeout=120 update -qq
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=120 install -y -qq "${missing[@]}" >/dev/null
  exit 0
fi
echo "The tests need Debian's ${missing[*]} (sudo apt-get install ${missing[*]})." >&2
echo "Chromium may also be given as CHROMIUM_PATH; botocore must import in /usr/bin/python3." >&2
exit 1
