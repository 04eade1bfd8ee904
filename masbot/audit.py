"""``masbot audit``: look for anything address-like that masbot wrote and should not have.

Scans every byte of the data directory (the SQLite file with its free pages, the WAL, the
archive) and the log file for email addresses other than the configured public ones (the
society, its lists, partners and moderators). A clean audit finds nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterable
from masbot.addresses import ADDRESS_IN_BYTES



@dataclass(frozen=True)
class Finding:
    """An address found where none should be."""

    path: Path
    offset: int
    masked: str  # the address with its local part masked, safe to print


def mask(address: str) -> str:
    """``j***@example.org``: enough to recognise, not enough to copy."""
    local, _, domain = address.partition("@")
    return f"{local[:1]}***@{domain}"


def scan(paths: Iterable[Path], allowed: Iterable[str]) -> list[Finding]:
    """Every address-like byte string in the files under ``paths`` not in ``allowed``."""
    ok = {a.casefold() for a in allowed}
    findings = []
    for root in paths:
        files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
        for path in files:
            try:
                data = path.read_bytes()
            except OSError:
                continue
            for m in ADDRESS_IN_BYTES.finditer(data):
                if data[max(0, m.start() - 13):m.start()].lower() == b"message-id: <":
                    continue  # a post's own Message-ID looks like an address but is not one
                address = m.group(0).decode("ascii", "replace").strip(".")
                # SQLite stores columns back to back, so a list address may run into its
                # neighbours ("0members@anytown.examplesent"). A match holding an allowed
                # address is taken as that address; the price is that an address ending in a
                # public one ("xmas@anytown.example" for "mas@...") goes unreported.
                if not any(a in address.casefold() for a in ok):
                    findings.append(Finding(path, m.start(), mask(address)))
    return findings
