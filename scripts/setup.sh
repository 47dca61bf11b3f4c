#!/usr/bin/env bash
# Everything a fresh Debian machine needs to run a region and the tests:
# Debian packages (ffmpeg and those in scripts/apt-packages) and the npm
# packages exactly as locked. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

export DEBIAN_FRONTEND=noninteractive
mapfile -t packages < <(grep -v '^\s*#' scripts/apt-packages | grep -v '^\s*$')
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing Debian packages: ${missing[*]}" >&2
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# npm packages as locked; install scripts run only for the packages package.json allows
npm ci --no-audit --no-fund

# the web console the manager serves at / (built here, no CDN at run time)
npm run console:build --silent
