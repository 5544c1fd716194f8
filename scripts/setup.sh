#!/usr/bin/env bash
# Shared set-up for scripts/test and scripts/run-demo: the Debian libraries Qt needs
# (when run as root), a virtualenv in .venv, and the project installed into it.
set -euo pipefail
cd "$(dirname "$0")/.."

DEB_PACKAGES=(libegl1 libgl1 libxkbcommon0 libxkbcommon-x11-0 libfontconfig1 libdbus-1-3
  libglib2.0-0 libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-shape0 libxcb-xinerama0
  libxcb-randr0 libxcb-render-util0 libxcb-image0 xvfb poppler-utils zbar-tools
  nginx)  # nginx: tests/server/test_tls_and_proxy.py runs deploy/nginx/tillsync.conf

missing=()
for pkg in "${DEB_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "setup: installing Debian packages: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "setup: missing Debian packages (install them as root): ${missing[*]}" >&2
  fi
fi

# promtool (tests/server/test_deploy_rules.py checks deploy/prometheus/ with it): Debian's
# prometheus package, without its recommends (the node exporter and friends).
if ! command -v promtool >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing Debian package: prometheus (for promtool)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null
  else
    echo "setup: WARNING: promtool missing (as root on Debian: apt-get install" \
      "--no-install-recommends prometheus); tests/server/test_deploy_rules.py will skip" >&2
  fi
fi

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
# The pinned, hashed dependencies (scripts/lock writes requirements*.lock from
# pyproject.toml; docs/dependencies.md), then the project itself without resolving
# anything. Nothing to do when the lock files and pyproject.toml are as last installed.
stamp=.venv/.installed-$(cat requirements-dev.lock requirements.lock pyproject.toml | sha256sum | cut -c1-16)
if [ ! -f "$stamp" ]; then
  echo "setup: installing requirements-dev.lock into .venv"
  .venv/bin/python -m pip install -q --require-hashes -r requirements-dev.lock
  .venv/bin/python -m pip install -q --no-deps --no-build-isolation -e .
  if ! .venv/bin/python scripts/lock_check.py; then  # someone added a dependency, no lock yet
    echo "setup: WARNING: installing the unlocked remainder from PyPI without hashes;" \
      "run scripts/lock and commit requirements*.lock (scripts/audit fails until then)" >&2
    .venv/bin/python -m pip install -q -e '.[dev]'
  fi
  rm -f .venv/.installed-*
  touch "$stamp"
fi
