#!/bin/sh
# Run the whole test suite on real Dovecot, aiosmtpd, gpg and sqop (installed when missing).
set -eu
cd "$(dirname "$0")/.."
scripts/setup.sh test
exec .venv/bin/python -m pytest -q "$@"
