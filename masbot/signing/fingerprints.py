"""OpenPGP fingerprints as masbot writes and compares them: 40 hex digits, upper case."""

from __future__ import annotations

import re

_FINGERPRINT = re.compile(r"[0-9A-F]{40}")


def normalise(value: str) -> str:
    """``value`` without white space, in upper case: the form every comparison uses."""
    return "".join(value.split()).upper()


def parse(value: str) -> str:
    """A 40-hex-digit OpenPGP fingerprint in upper case without spaces; ValueError otherwise."""
    compact = normalise(value)
    if not _FINGERPRINT.fullmatch(compact):
        raise ValueError(f"{value!r} is not an OpenPGP fingerprint (40 hex digits)")
    return compact
