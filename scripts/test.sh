#!/bin/sh
# Run the whole test suite on real Dovecot, aiosmtpd, gpg and sqop (installed when missing),
# after the type checker: mypy must report no issue on masbot/ (configured in pyproject.toml).
set -eu
cd "$(dirname "$0")/.."
scripts/setup.sh test
.venv/bin/python -m mypy
exec .venv/bin/python -m pytest -q "$@"
