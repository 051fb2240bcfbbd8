#!/usr/bin/env bash
# `npm test` drives Debian's Chromium for the browser tests (playwright-core, which downloads no browser),
# signs requests with Debian's botocore and curl --aws-sigv4 (independent SigV4 signers) for the API's
# IAM checks, and opens archives with the readers people use: Info-ZIP unzip, 7-Zip and bsdtar
# (libarchive, as GNOME and macOS use); and runs the PostgreSQL reader against Debian's PostgreSQL server
# as well as PGlite.
set -euo pipefail
. "$(dirname "$0")/debian-packages.sh"
CHROMIUM=${CHROMIUM_PATH:-/usr/bin/chromium}
missing=()
[ -x "$CHROMIUM" ] || missing+=(chromium)
/usr/bin/python3 -c 'import botocore' >/dev/null 2>&1 || missing+=(python3-botocore)
command -v curl >/dev/null 2>&1 || missing+=(curl)
command -v unzip >/dev/null 2>&1 || missing+=(unzip)
command -v 7z >/dev/null 2>&1 || missing+=(p7zip-full)
command -v bsdtar >/dev/null 2>&1 || missing+=(libarchive-tools)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
install_missing "the tests" "${missing[@]}" || {
  echo "Chromium may also be given as CHROMIUM_PATH; botocore must import in /usr/bin/python3." >&2
  exit 1
}
