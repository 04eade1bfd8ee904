#!/bin/sh
# Shared set-up for demo.sh and test.sh: Debian packages (when root), a virtual environment
# in .venv and masbot with its Python dependencies. Usage: scripts/setup.sh [demo|test]
set -eu
cd "$(dirname "$0")/.."
need=${1:-demo}

missing=""
have() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ]; }
have gpg || missing="$missing gnupg"
# Debian's own Python, the one operators and the container image have: never a newer one that
# happens to come first on PATH (CPython fixed MIME bugs in 3.11.x point releases).
PY=/usr/bin/python3
"$PY" -c 'import sys; assert sys.version_info >= (3, 11)' 2>/dev/null || missing="$missing python3"
"$PY" -c 'import ensurepip, venv' 2>/dev/null || missing="$missing python3-venv"
if [ "$need" = test ]; then
  have dovecot || missing="$missing dovecot-imapd"
  have openssl || missing="$missing openssl"
  have sqop || missing="$missing sqop"
  have gosop || missing="$missing gosop"
  # The public site is checked in a real browser, and mirrored with wget.
  have chromium || missing="$missing chromium"
  have chromedriver || missing="$missing chromium-driver"
  have wget || missing="$missing wget"
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

# Reinstall only when pyproject.toml or the interpreter changed since the last set-up.
stamp=.venv/.masbot-installed
want=$("$PY" -c 'import sys; print(sys.version)')
if [ ! -x .venv/bin/python ] || [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ] \
   || [ "$(.venv/bin/python -c 'import sys; print(sys.version)' 2>/dev/null)" != "$want" ]; then
  rm -rf .venv
  "$PY" -m venv .venv
  .venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip >/dev/null 2>&1 || true
  if ! .venv/bin/python -m pip install -q --disable-pip-version-check -e '.[test]' \
       >.venv/pip.log 2>&1; then
    cat .venv/pip.log >&2
    echo "setup: pip install failed (log above, also in .venv/pip.log)" >&2
    exit 1
  fi
  touch "$stamp"
fi
# The compiled message catalogs (masbot/lang/*/messages.mo) are built, not kept in git.
.venv/bin/python scripts/catalogs.py compile >/dev/null
# Bytecode for this checkout (an editable install): a daemon whose user may not write here,
# or a shell with PYTHONDONTWRITEBYTECODE, would otherwise compile every module at each start
# (0.12 s of CPU). Stale files are ignored by Python and rewritten here next time.
.venv/bin/python -m compileall -q masbot >/dev/null
