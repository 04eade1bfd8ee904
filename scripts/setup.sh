#!/bin/sh
# Shared set-up for demo.sh and test.sh: Debian packages (when root), a virtual environment
# in .venv and masbot with its Python dependencies. Usage: scripts/setup.sh [demo|test]
set -eu
cd "$(dirname "$0")/.."
need=${1:-demo}

missing=""
have() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ]; }
have gpg || missing="$missing gnupg"
python3 -c 'import sys; assert sys.version_info >= (3, 11)' 2>/dev/null || missing="$missing python3"
python3 -c 'import ensurepip, venv' 2>/dev/null || missing="$missing python3-venv"
if [ "$need" = test ]; then
  have dovecot || missing="$missing dovecot-imapd"
  have openssl || missing="$missing openssl"
  have sqop || missing="$missing sqop"
  have gosop || missing="$missing gosop"
fi
if [ -n "$missing" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing Debian packages:$missing" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
  else
    echo "setup: missing Debian packages:$missing" >&2
    echo "       install them as root: apt-get install -y --no-install-recommends$missing" >&2
    exit 1
  fi
fi

# Reinstall only when pyproject.toml changed since the last set-up.
stamp=.venv/.masbot-installed
if [ ! -x .venv/bin/python ] || [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  python3 -m venv .venv
  .venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip >/dev/null 2>&1 || true
  if ! .venv/bin/python -m pip install -q --disable-pip-version-check -e '.[test]' \
       >.venv/pip.log 2>&1; then
    cat .venv/pip.log >&2
    echo "setup: pip install failed (log above, also in .venv/pip.log)" >&2
    exit 1
  fi
  touch "$stamp"
fi
