#!/usr/bin/env bash
# `npm run bench` measures the machine's real deflate limit with pigz (parallel gzip) next to ours.
set -euo pipefail
. "$(dirname "$0")/debian-packages.sh"
missing=()
command -v pigz >/dev/null 2>&1 || missing+=(pigz)
install_missing "the benchmark" "${missing[@]}"
