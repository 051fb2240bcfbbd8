# Sourced by ensure-test-packages.sh and ensure-bench-packages.sh: installs Debian packages that are
# missing when we may (root with apt, waiting for the dpkg lock), otherwise says how, and fails.
# usage: install_missing "<what needs them>" package...
install_missing() {
  local purpose=$1
  shift
  if [ $# -eq 0 ]; then return 0; fi
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "Installing Debian's $* for $purpose (once)…"
    apt-get -o DPkg::Lock::Timeout=120 update -qq
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=120 install -y -qq "$@" >/dev/null
    return 0
  fi
  echo "$purpose need Debian's $* (sudo apt-get install $*)." >&2
  return 1
}
