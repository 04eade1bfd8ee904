"""Trusted keys and OpenPGP signature checks, through python-gnupg over a throwaway GnuPG home.

A :class:`Keyring` is a short-lived ``GNUPGHOME`` into which only the
certificates the caller trusts are imported: the society's own key, its pinned partners' keys,
or the keys of a ``--keyring`` file. A society's keyring lives under ``<data_dir>/run/k/``
(:mod:`masbot.runtime`; a starting daemon removes what a killed one left there), others in
the system's temporary directory. gpg runs with ``--no-autostart`` and only handles public
keys, so no agent starts and no socket is made in the home. Every decision is taken from python-gnupg's parsed status
fields (``valid``, ``status``, ``key_status``, ``problems``, fingerprints, trust level), never
from gpg's human-readable text; gpg's log output goes to ``/dev/null`` so that nothing but
status lines reach the parser (the SigSpoof attacks, CVE-2018-12020, injected fake status
lines through log text).

gpg is only ever given data masbot has already taken apart and checked itself
(:mod:`masbot.signing.armor`):

* a detached signature, exactly one version 4 signature packet, is written as binary to a
  file whose name masbot chooses; the signed bytes go in on stdin;
* a clearsigned text is *rebuilt* from the parsed text and the checked signature packet
  before gpg sees it, and gpg's idea of the signed text must equal masbot's byte for byte.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Iterable

import gnupg

from masbot.signing.armor import Clearsigned, Signature

GPG_OPTIONS = ["--no-autostart", "--log-file", "/dev/null", "--no-auto-key-retrieve",
               "--no-greeting"]
_TRUSTED = gnupg.Verify.TRUST_FULLY


class KeyringError(Exception):
    """Key material that cannot be used: unreadable, not a public key, not the pinned key."""


# --- keys ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class KeyInfo:
    """A certificate as gpg lists it (primary key)."""

    fingerprint: str
    uids: tuple[str, ...]
    created: int  # seconds since the epoch
    expires: int | None  # None: never
    revoked: bool
    secret: bool = False

    def expired(self, now: float | None = None) -> bool:
        """True when the key has expired at ``now`` (default: the current time)."""
        return self.expires is not None and self.expires <= (time.time() if now is None else now)

    def addresses(self) -> tuple[str, ...]:
        """The e-mail addresses of the user ids, lower-cased."""
        return tuple(m.group(1).lower() for uid in self.uids
                     if (m := re.search(r"<([^<>\s]+@[^<>\s]+)>\s*$", uid)))

    def names(self) -> tuple[str, ...]:
        """The name parts of the user ids (the text before ``<address>``)."""
        return tuple(re.sub(r"\s*<[^<>]*>\s*$", "", uid).strip() for uid in self.uids)


def _key_info(entry: dict) -> KeyInfo:
    expires = entry.get("expires") or ""
    return KeyInfo(fingerprint=entry["fingerprint"], uids=tuple(entry.get("uids") or ()),
                   created=int(entry.get("date") or 0),
                   expires=int(expires) if expires.isdigit() else None,
                   revoked=entry.get("trust") == "r", secret=entry.get("type") == "sec")


@dataclass(frozen=True)
class SigCheck:
    """What gpg's parsed status says about one signature.

    ``status`` is ``good`` or a refusal code: ``bad-signature``, ``unknown-key``,
    ``expired-key``, ``revoked-key``, ``expired-signature``. ``fingerprint`` is the signing
    key's *primary* fingerprint (also for a signature made by a subkey).
    """

    status: str
    message: str
    fingerprint: str | None = None
    key: KeyInfo | None = None

    @property
    def ok(self) -> bool:
        return self.status == "good"


def _judge(result: gnupg.Verify, keys: dict[str, KeyInfo], now: float) -> SigCheck:
    """Map python-gnupg's parsed verification fields to a SigCheck (never reads stderr)."""
    seen = {result.status, result.key_status} | {p.get("status") for p in result.problems}
    primary = result.pubkey_fingerprint or result.fingerprint
    if "signing key was revoked" in seen:
        return SigCheck("revoked-key", f"the signing key {primary or result.key_id} is revoked")
    if "signing key has expired" in seen:
        return SigCheck("expired-key", f"the signing key {primary or result.key_id} has expired")
    if "signature expired" in seen:
        return SigCheck("expired-signature", "the signature has expired")
    if "no public key" in seen:
        return SigCheck("unknown-key", f"the signature was made by key {result.key_id}, which "
                                       "is not in the keyring")
    if not result.valid or result.status != "signature valid" or result.problems or not primary:
        return SigCheck("bad-signature", "the signature does not match the signed data "
                                         f"(gpg: {result.status or 'no signature found'})")
    if len(result.sig_info) != 1:
        return SigCheck("bad-signature", f"expected one signature, gpg saw {len(result.sig_info)}")
    key = keys.get(primary)
    if key is None or result.trust_level is None or result.trust_level < _TRUSTED:
        return SigCheck("unknown-key", f"the signing key {primary} is not a trusted key")
    if key.revoked:
        return SigCheck("revoked-key", f"the signing key {primary} is revoked", primary, key)
    if key.expired(now):
        return SigCheck("expired-key", f"the signing key {primary} has expired", primary, key)
    return SigCheck("good", f"good signature by {primary}", primary, key)


class Keyring:
    """A throwaway GnuPG home holding only trusted certificates; close it when done.

    Thread-safe for verification (each call uses its own scratch file).
    """

    def __init__(self, parent: Path | None = None) -> None:
        """A new, empty home in ``parent`` (made if missing; named after this process so a
        restart can tell leftovers), or ``/tmp/mb-k-*`` without one (short-lived commands)."""
        if shutil.which("gpg") is None:
            raise KeyringError("gpg is not installed: install the Debian package gnupg")
        from masbot.runtime import keyring_prefix
        if parent is not None:
            Path(parent).mkdir(parents=True, exist_ok=True, mode=0o700)
            self.home = tempfile.mkdtemp(prefix=keyring_prefix(), dir=str(parent))
        else:
            self.home = tempfile.mkdtemp(prefix="mb-k-", dir="/tmp")
        self.gpg = gnupg.GPG(gnupghome=self.home, options=GPG_OPTIONS)
        self.gpg.encoding = "utf-8"
        self.warnings: list[str] = []
        self._closed = False

    # construction

    @classmethod
    def of(cls, *materials: bytes) -> "Keyring":
        """A keyring trusting every public key in ``materials`` (armored or binary)."""
        keyring = cls()
        try:
            for material in materials:
                keyring.add(material)
        except BaseException:
            keyring.close()
            raise
        return keyring

    def scan(self, material: bytes) -> list[KeyInfo]:
        """The certificates in ``material``, without importing them."""
        return [_key_info(entry) for entry in self.gpg.scan_keys_mem(material)]

    def add(self, material: bytes, *, expect: str | None = None) -> list[KeyInfo]:
        """Import and trust the public keys in ``material``; return them.

        With ``expect`` (a fingerprint), ``material`` must hold exactly that one key.
        Raises KeyringError for no key, secret key material, a user id that carries
        control characters or gpg status text, or a key other than the expected one.
        """
        found = self.scan(material)
        if not found:
            raise KeyringError("no OpenPGP public key found")
        if any(key.secret for key in found):
            raise KeyringError("this is secret key material; give the public key only")
        for key in found:
            if any("[GNUPG:]" in uid or re.search(r"\\x[01][0-9a-f]|\\x7f", uid)
                   for uid in key.uids):
                raise KeyringError(f"key {key.fingerprint} has a user id with control "
                                   "characters or gpg status text")
        if expect is not None and [k.fingerprint for k in found] != [expect]:
            raise KeyringError(f"expected the key {expect} alone, found "
                               f"{', '.join(k.fingerprint for k in found)}")
        result = self.gpg.import_keys(material)
        imported = set(result.fingerprints)
        wanted = [k.fingerprint for k in found]
        if not set(wanted) <= imported and not set(wanted) <= set(self.keys()):
            raise KeyringError(f"gpg did not import {', '.join(wanted)}")
        self.gpg.trust_keys(wanted, "TRUST_ULTIMATE")
        return found

    # queries

    def keys(self) -> dict[str, KeyInfo]:
        """The trusted certificates by primary fingerprint."""
        return {k["fingerprint"]: _key_info(k) for k in self.gpg.list_keys()}

    def key(self, fingerprint: str) -> KeyInfo | None:
        """The certificate with this primary fingerprint, or None."""
        return self.keys().get(fingerprint)

    def export(self, fingerprint: str) -> bytes:
        """The armored public certificate ``fingerprint`` as imported."""
        return self.gpg.export_keys(fingerprint, armor=True).encode("ascii")

    # verification

    def verify_detached(self, data: bytes, signature: Signature) -> SigCheck:
        """Check ``signature`` over exactly ``data`` (binary mode, or canonical text)."""
        if signature.sig_type not in (0x00, 0x01):
            return SigCheck("bad-signature", f"signature type {signature.sig_type:#04x} is not "
                                             "a document signature")
        fd, path = tempfile.mkstemp(prefix="s", suffix=".sig", dir=self.home)
        try:
            with os.fdopen(fd, "wb") as file:
                file.write(signature.packet)
            result = self.gpg.verify_data(path, data)
        finally:
            os.unlink(path)
        return _judge(result, self.keys(), time.time())

    def verify_clearsigned(self, block: Clearsigned) -> SigCheck:
        """Check a parsed clearsigned block; gpg's recovered text must equal ``block.text``."""
        result = self.gpg.decrypt(block.armored())
        check = _judge(result, self.keys(), time.time())
        if check.ok and result.data != block.text.encode("utf-8"):
            return SigCheck("bad-signature", "gpg and masbot disagree about the signed text; "
                                             "refusing it", check.fingerprint, check.key)
        return check

    # life cycle

    def close(self) -> None:
        """Stop any gpg daemon of this home and remove it (idempotent)."""
        if self._closed:
            return
        self._closed = True
        gpgconf = shutil.which("gpgconf")
        if gpgconf:
            subprocess.run([gpgconf, "--homedir", self.home, "--kill", "all"],
                           capture_output=True, timeout=30, check=False)
        shutil.rmtree(self.home, ignore_errors=True)

    def __enter__(self) -> "Keyring":
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def __del__(self) -> None:  # a forgotten keyring must not leave a home behind
        try:
            self.close()
        except Exception:
            pass


def from_config(config, parent: Path | None = None) -> Keyring:
    """The keyring a society trusts: its own public key and the pinned keys of the partners
    it accepts posts from (direction receive or both).

    Its home is made in ``parent``, by default ``<data_dir>/run/k`` (the temporary
    directory when that cannot be made, e.g. for a read-only operator).

    A partner's key comes from its ``key_file``, else from the society's GNUPGHOME by its
    pinned fingerprint. A key that cannot be found, or is not the pinned one, is left out
    and named in ``Keyring.warnings`` (that partner's posts are then refused); so is a key
    that has expired, is revoked, or expires within :data:`EXPIRY_WARNING_DAYS`.
    """
    from masbot.runtime import keyrings_dir
    from masbot.signing.signer import SignerError, open_home
    try:
        keyring = Keyring(parent or keyrings_dir(config.data_dir))
    except OSError:
        keyring = Keyring()
    home = None
    try:
        home = open_home(config.society.gnupghome)
        own = config.society.key or next(
            iter(k["fingerprint"] for k in home.list_keys(secret=True)), None)
        material = home.export_keys(own).encode("ascii") if own else b""
        keyring.add(material, expect=own) if material else keyring.warnings.append(
            f"the society's own key is not in {config.society.gnupghome}")
    except (SignerError, KeyringError, OSError) as exc:
        keyring.warnings.append(f"the society's own key: {exc}")
    for partner in config.partners:
        if not partner.receives_from:  # direction send: its key never checks anything
            continue
        try:
            if partner.key_file is not None:
                material = Path(partner.key_file).read_bytes()
            elif home is not None:
                material = home.export_keys(partner.fingerprint).encode("ascii")
            else:
                material = b""
            if not material:
                raise KeyringError(f"no key_file and {partner.fingerprint} is not in "
                                   f"{config.society.gnupghome}")
            keyring.add(material, expect=partner.fingerprint)
        except (KeyringError, OSError) as exc:
            keyring.warnings.append(f"partner {partner.name}: key not loaded: {exc}")
    keyring.warnings += expiry_warnings(keyring.keys().values())
    return keyring


EXPIRY_WARNING_DAYS = 30


def expiry_warnings(keys: Iterable[KeyInfo], now: float | None = None) -> list[str]:
    """One line per key that is revoked, expired, or expires within EXPIRY_WARNING_DAYS."""
    now = time.time() if now is None else now
    out = []
    for key in keys:
        if key.revoked:
            out.append(f"key {key.fingerprint} ({', '.join(key.uids)}) is revoked")
        elif key.expired(now):
            out.append(f"key {key.fingerprint} ({', '.join(key.uids)}) has expired")
        elif key.expires is not None and key.expires - now < EXPIRY_WARNING_DAYS * 86400:
            days = int((key.expires - now) // 86400)
            out.append(f"key {key.fingerprint} ({', '.join(key.uids)}) expires in {days} day(s)")
    return out


