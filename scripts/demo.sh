#!/bin/sh
# Run the embedded demo (no outside servers, no accounts) into DIR (default: demo-out).
set -eu
cd "$(dirname "$0")/.."
scripts/setup.sh demo
out=${1:-demo-out}
rm -rf "$out"
exec .venv/bin/masbot demo --out "$out"
