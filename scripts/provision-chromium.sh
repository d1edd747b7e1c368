#!/usr/bin/env bash
# Installs Debian's Chromium (/usr/bin/chromium) for kvsweep's real-browser tests when it is
# missing. Playwright drives this system browser (playwright-core, executablePath): the tests never
# download a browser build of their own. Needs root (as on the developers' machines and in CI).
# Idempotent, and safe to run from two test files at once: one flock serialises the apt calls.
#
# Usage: scripts/provision-chromium.sh      prints the browser's path and version on stdout
#   KVSWEEP_CHROMIUM   another browser executable to use instead (nothing is installed then)
set -euo pipefail

say() { printf 'provision-chromium: %s\n' "$*" >&2; }
fail() { say "FAILED: $*"; exit 1; }

browser=${KVSWEEP_CHROMIUM:-/usr/bin/chromium}

report() {
  local version
  version=$("$browser" --version 2>/dev/null) || fail "$browser is there but '$browser --version' fails"
  printf '%s\t%s\n' "$browser" "$version"
}

if [[ -x $browser ]]; then report; exit 0; fi
[[ -n ${KVSWEEP_CHROMIUM:-} ]] && fail "KVSWEEP_CHROMIUM=$KVSWEEP_CHROMIUM is not an executable"

[[ $(id -u) -eq 0 ]] || fail "$browser is missing and installing it needs root: run 'apt-get install -y chromium' as root"
command -v apt-get >/dev/null || fail "$browser is missing and this is not a Debian-like system (no apt-get): install Chromium and set KVSWEEP_CHROMIUM"

lock=/var/lock/kvsweep-provision-chromium.lock
exec 9>"$lock"
flock 9
# Another run may have installed it while this one waited for the lock.
if [[ -x $browser ]]; then report; exit 0; fi

export DEBIAN_FRONTEND=noninteractive
# DejaVu: the report's charts need one scalable font, and a bare machine may have none.
install() { apt-get install -y --no-install-recommends chromium fonts-dejavu-core >&2; }
say "installing Debian's chromium package"
if ! install; then
  # A fresh machine has no package lists yet (or stale ones): update once and retry.
  say "apt-get install failed; running apt-get update and retrying"
  apt-get update >&2 || fail "apt-get update failed"
  install || fail "apt-get install -y chromium failed"
fi
[[ -x $browser ]] || fail "the chromium package installed but $browser is not there"
report
