#!/bin/sh
# Brings a fresh machine (Node 20 + npm only) to a runnable state; cheap when already done.
#   scripts/setup.sh          npm dependencies (Bun itself comes from npm)
#   scripts/setup.sh --test   also Chromium and ffmpeg from Debian, for the test suite
set -eu
cd "$(dirname "$0")/.."

if [ ! -x node_modules/.bin/bun ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: installing npm dependencies (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
fi

if [ "${1:-}" = "--test" ]; then
  missing=""
  command -v chromium >/dev/null 2>&1 || missing="$missing chromium"
  command -v ffmpeg >/dev/null 2>&1 || missing="$missing ffmpeg"
  if [ -n "$missing" ]; then
    echo "setup: installing$missing from Debian (apt-get)"
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq $missing >/dev/null
  fi
fi
