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

# Podman's defaults fail in containers and sandboxes like CI's: crun (the default
# OCI runtime) cannot set rlimits there ("setrlimit RLIMIT_NOFILE: Operation not
# permitted") and does not support cgroups in hybrid mode, and podman asks for
# default ulimits the sandbox refuses. runc with no default ulimits works, so
# builds and engine containers use it.
if command -v podman >/dev/null; then
  conf=/etc/containers/containers.conf.d/90-framefleet.conf
  want=$'[containers]\ndefault_ulimits = []\n\n[engine]\nruntime = "runc"'
  if [ "$(cat "$conf" 2>/dev/null)" != "$want" ]; then
    SUDO=""
    [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO mkdir -p "$(dirname "$conf")"
    printf '%s\n' "$want" | $SUDO tee "$conf" >/dev/null
  fi
fi

# npm packages as locked; install scripts run only for the packages package.json allows
npm ci --no-audit --no-fund

# the web console the manager serves at / (built here, no CDN at run time)
npm run console:build --silent
