"""Trusted keys and OpenPGP signature checks, through python-gnupg over a throwaway GnuPG home.

A :class:`Keyring` is a short-lived ``GNUPGHOME`` (``/tmp/mb-k-*``) into which only the
certificates the caller trusts are imported: the society's own key, its pinned partners' keys,
or the keys of a ``--keyring`` file. Every decision is taken from python-gnupg's parsed status
fields (``valid``, ``status``, ``key_status``, ``problems``, fingerprints, trust level), never
from gpg's human-readable text; gpg's log output goes to ``/dev/null`` so that nothing but
status lines reach the parser (the SigSpoof attacks, CVE-2018-12020, injected fake status
lines through log text).

gpg is only ever given data masbot has already taken apart and checked itself:

* a detached signature is decoded from its armor here, must be exactly one version 4
  signature packet (so no literal data packet with a file name, no second signature), and is
  written as binary to a file whose name masbot chooses; the signed bytes go in on stdin;
* a clearsigned text is parsed here (:func:`parse_clearsigned`), then *rebuilt* from the
  parsed text and the checked signature packet before gpg sees it, and gpg's idea of the
  signed text must equal masbot's byte for byte.
"""

from __future__ import annotations

import base64
import binascii
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

HASHES = {"SHA256": 8, "SHA384": 9, "SHA512": 10, "SHA224": 11}
"""Hash algorithms accepted in signatures (name in armor headers: OpenPGP id)."""
HASH_NAMES = {number: name for name, number in HASHES.items()}
GPG_OPTIONS = ["--no-autostart", "--log-file", "/dev/null", "--no-auto-key-retrieve",
               "--no-greeting"]
_TRUSTED = gnupg.Verify.TRUST_FULLY
_ARMOR_CHARS = re.compile(r"[A-Za-z0-9+/]+={0,2}")
_HEADER = re.compile(r"([A-Za-z][A-Za-z0-9-]*): ([\x20-\x7e]*)")
_SIGNATURE_HEADERS = {"Version", "Comment", "Charset", "MessageID"}
_FORBIDDEN_CHARS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


class FormatError(ValueError):
    """Text that is not one clean armored signature or clearsigned block.

    ``code`` is a short reason: ``not-clearsigned``, ``text-outside-signature``,
    ``multiple-blocks`` or ``bad-armor``.
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class KeyringError(Exception):
    """Key material that cannot be used: unreadable, not a public key, not the pinned key."""


# --- signature packets -------------------------------------------------------------------------

@dataclass(frozen=True)
class Signature:
    """One OpenPGP signature packet, checked: version 4, an accepted hash, nothing else."""

    packet: bytes  # the binary packet, exactly as decoded from the armor
    sig_type: int  # 0x00 binary document, 0x01 canonical text
    hash_algo: int  # OpenPGP id, a key of HASH_NAMES


def _packets(data: bytes) -> list[tuple[int, bytes]]:
    """(tag, body) of every packet; FormatError for partial or indeterminate lengths."""
    out, pos = [], 0
    while pos < len(data):
        first = data[pos]
        if not first & 0x80:
            raise FormatError("bad-armor", "the signature is not OpenPGP data")
        if first & 0x40:  # new format
            tag, pos = first & 0x3F, pos + 1
            if pos >= len(data):
                raise FormatError("bad-armor", "the signature is truncated")
            octet = data[pos]
            if octet < 192:
                length, pos = octet, pos + 1
            elif octet < 224:
                length, pos = ((octet - 192) << 8) + data[pos + 1] + 192, pos + 2
            elif octet == 255:
                length, pos = int.from_bytes(data[pos + 1:pos + 5], "big"), pos + 5
            else:
                raise FormatError("bad-armor", "partial packet lengths are not allowed here")
        else:  # old format
            tag, kind, pos = (first >> 2) & 0x0F, first & 0x03, pos + 1
            if kind == 3:
                raise FormatError("bad-armor", "indeterminate packet lengths are not allowed")
            size = (1, 2, 4)[kind]
            length, pos = int.from_bytes(data[pos:pos + size], "big"), pos + size
        if pos + length > len(data):
            raise FormatError("bad-armor", "the signature is truncated")
        out.append((tag, data[pos:pos + length]))
        pos += length
    return out


def signature_from_packets(data: bytes) -> Signature:
    """The single signature in binary OpenPGP ``data``; FormatError when it is anything else."""
    packets = _packets(data)
    if [tag for tag, _ in packets] != [2]:
        raise FormatError("bad-armor", "the signature must be exactly one signature packet, "
                                       f"found packets {[tag for tag, _ in packets]}")
    body = packets[0][1]
    if len(body) < 4 or body[0] != 4:
        raise FormatError("bad-armor", "only version 4 signatures are accepted")
    if body[3] not in HASH_NAMES:
        raise FormatError("bad-armor", f"hash algorithm {body[3]} is not accepted "
                                       "(SHA224, SHA256, SHA384 or SHA512 only)")
    return Signature(packet=data, sig_type=body[1], hash_algo=body[3])


def _crc24(data: bytes) -> int:
    crc = 0xB704CE
    for byte in data:
        crc ^= byte << 16
        for _ in range(8):
            crc <<= 1
            if crc & 0x1000000:
                crc ^= 0x1864CFB
    return crc & 0xFFFFFF


def _dearmor_body(lines: list[str], what: str) -> bytes:
    """Decode armor body lines (after the header block, before the END line)."""
    checksum = None
    if lines and lines[-1].startswith("="):
        checksum, lines = lines[-1][1:], lines[:-1]
    if not lines or not all(_ARMOR_CHARS.fullmatch(line) for line in lines):
        raise FormatError("bad-armor", f"the {what} armor holds characters that are not base64")
    try:
        data = base64.b64decode("".join(lines), validate=True)
        crc = base64.b64decode(checksum, validate=True) if checksum is not None else None
    except (binascii.Error, ValueError):
        raise FormatError("bad-armor", f"the {what} armor is not valid base64") from None
    if crc is not None and (len(crc) != 3 or int.from_bytes(crc, "big") != _crc24(data)):
        raise FormatError("bad-armor", f"the {what} armor checksum is wrong")
    return data


def _read_signature_block(lines: list[str], start: int) -> tuple[Signature, int]:
    """Parse ``-----BEGIN PGP SIGNATURE-----`` at ``lines[start]``; return it and the next index."""
    i = start + 1
    while i < len(lines) and lines[i] != "":
        match = _HEADER.fullmatch(lines[i])
        if not match or match.group(1) not in _SIGNATURE_HEADERS or "[GNUPG:]" in lines[i]:
            raise FormatError("bad-armor", "unexpected signature armor header (only Version, "
                                           "Comment, Charset and MessageID, printable ASCII)")
        i += 1
    body_start = i + 1
    try:
        end = lines.index("-----END PGP SIGNATURE-----", body_start)
    except ValueError:
        raise FormatError("bad-armor", "the signature has no END PGP SIGNATURE line") from None
    data = _dearmor_body(lines[body_start:end], "signature")
    return signature_from_packets(data), end + 1


def _lines(text: str) -> list[str]:
    """Lines with CRLF/LF ends and trailing blanks removed; FormatError on NUL or a lone CR."""
    if "\x00" in text:
        raise FormatError("bad-armor", "the text contains a NUL character")
    text = text.replace("\r\n", "\n")
    if "\r" in text:
        raise FormatError("bad-armor", "the text contains a carriage return that ends no line")
    return [line.rstrip(" \t") for line in text.split("\n")]


def _only_blank(lines: Iterable[str], where: str) -> None:
    for line in lines:
        if line.startswith("-----BEGIN PGP"):
            raise FormatError("multiple-blocks", f"there is a second OpenPGP block {where}")
        if line.strip():
            raise FormatError("text-outside-signature",
                              f"there is text {where}, not covered by the signature")


def read_signature(text: str) -> Signature:
    """The signature of an armored ``PGP SIGNATURE`` block with only blank lines around it.

    Raises FormatError (``bad-armor``, ``multiple-blocks``, ``text-outside-signature``).
    """
    lines = _lines(text)
    try:
        start = lines.index("-----BEGIN PGP SIGNATURE-----")
    except ValueError:
        raise FormatError("bad-armor", "no BEGIN PGP SIGNATURE line") from None
    _only_blank(lines[:start], "before the signature")
    signature, after = _read_signature_block(lines, start)
    _only_blank(lines[after:], "after the signature")
    return signature


def forbidden_character(text: str) -> str | None:
    """``U+XXXX`` of the first control or bidi-override character in ``text``, else None.

    Such characters can make a terminal or a page show something else than what is signed
    (escape sequences, carriage returns, reordered text). Tabs and line feeds are fine.
    """
    bad = _FORBIDDEN_CHARS.search(text)
    return f"U+{ord(bad.group()):04X}" if bad else None


# --- clearsigned text ------------------------------------------------------------------------

@dataclass(frozen=True)
class Clearsigned:
    """One parsed clearsigned block: the dash-unescaped text and its single signature.

    ``text`` is exactly what the signature covers, shown the way RFC 4880 §7.1 defines it:
    lines end with ``\\n`` (the signature covers them as CRLF), trailing spaces and tabs are
    removed (the signature does not cover them), and the text ends with one ``\\n``.
    """

    text: str
    hash_name: str
    signature: Signature

    def armored(self) -> bytes:
        """The block rebuilt from the parsed parts: the only form gpg is ever shown."""
        body = "".join(("- " + line if line.startswith("-") else line) + "\n"
                       for line in self.text[:-1].split("\n"))
        b64 = base64.b64encode(self.signature.packet).decode("ascii")
        sig = "\n".join(b64[i:i + 64] for i in range(0, len(b64), 64))
        crc = base64.b64encode(_crc24(self.signature.packet).to_bytes(3, "big")).decode()
        return (f"-----BEGIN PGP SIGNED MESSAGE-----\nHash: {self.hash_name}\n\n{body}"
                f"-----BEGIN PGP SIGNATURE-----\n\n{sig}\n={crc}\n"
                "-----END PGP SIGNATURE-----\n").encode("utf-8")


def parse_clearsigned(text: str) -> Clearsigned:
    """The one clearsigned block that ``text`` consists of, or FormatError.

    Only blank lines may surround the block (a page copied with leading and trailing blank
    lines and CRLF ends is fine). Refused: no block (``not-clearsigned``), any other text
    outside it (``text-outside-signature``), a second block (``multiple-blocks``), and
    (``bad-armor``) armor headers other than one ``Hash:`` naming an accepted algorithm, a
    signed line starting with ``-`` that is not dash-escaped, control characters in the
    text, or a signature that is not exactly one version 4 signature packet of canonical
    text type with the hash the header names.
    """
    lines = _lines(text)
    try:
        start = lines.index("-----BEGIN PGP SIGNED MESSAGE-----")
    except ValueError:
        if any(line.startswith("-----BEGIN PGP ") for line in lines):
            raise FormatError("not-clearsigned", "the OpenPGP block is not a clearsigned text "
                              "(only cleartext signatures are accepted)") from None
        raise FormatError("not-clearsigned", "there is no clearsigned text") from None
    _only_blank(lines[:start], "before the signed text")
    i, hash_name = start + 1, None
    while i < len(lines) and lines[i] != "":
        match = _HEADER.fullmatch(lines[i])
        if not match or match.group(1) != "Hash" or hash_name is not None:
            raise FormatError("bad-armor", "unexpected armor header (only one Hash: header is "
                              "accepted)")
        hash_name = match.group(2)
        if hash_name not in HASHES:
            raise FormatError("bad-armor", "the Hash: header names an algorithm that is not accepted "
                              "(one of SHA224, SHA256, SHA384, SHA512)")
        i += 1
    if hash_name is None or i >= len(lines):
        raise FormatError("bad-armor", "the clearsigned text has no Hash: header")
    body: list[str] = []
    for i in range(i + 1, len(lines)):
        line = lines[i]
        if line == "-----BEGIN PGP SIGNATURE-----":
            break
        if line.startswith("- "):
            line = line[2:]
        elif line.startswith("-"):
            raise FormatError("bad-armor", "a signed line starts with a dash that is not dash-escaped")
        body.append(line.rstrip(" \t"))
    else:
        raise FormatError("bad-armor", "the clearsigned text has no BEGIN PGP SIGNATURE line")
    signature, after = _read_signature_block(lines, i)
    _only_blank(lines[after:], "after the signature")
    signed = "\n".join(body) + "\n"
    if bad := forbidden_character(signed):
        raise FormatError("bad-armor", f"the signed text contains the control character {bad}")
    if signature.sig_type != 0x01 or signature.hash_algo != HASHES[hash_name]:
        raise FormatError("bad-armor", "the signature is not a text signature made with the "
                                       "hash its Hash: header names")
    return Clearsigned(text=signed, hash_name=hash_name, signature=signature)


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

    def __init__(self) -> None:
        if shutil.which("gpg") is None:
            raise KeyringError("gpg is not installed: install the Debian package gnupg")
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


def from_config(config) -> Keyring:
    """The keyring a society trusts: its own public key and its partners' pinned keys.

    A partner's key comes from its ``key_file``, else from the society's GNUPGHOME by its
    pinned fingerprint. A key that cannot be found, or is not the pinned one, is left out
    and named in ``Keyring.warnings`` (that partner's posts are then refused); so is a key
    that has expired, is revoked, or expires within :data:`EXPIRY_WARNING_DAYS`.
    """
    from masbot.signer import SignerError, open_home
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


# --- pinning a partner in the operator's YAML --------------------------------------------------

def pin_partner(config_text: str, name: str, fingerprint: str, key_file: str) -> str | None:
    """``config_text`` with partner ``name``'s ``fingerprint:`` and ``key_file:`` set.

    Edits the text in place (comments, order and layout are kept): existing values are
    replaced, missing keys are added right after the partner's ``name:`` line. Returns None
    when there is no partner ``name``; raises ValueError when the YAML cannot be edited
    safely (not parseable, or the partner is written in flow style).
    """
    import yaml
    try:
        root = yaml.compose(config_text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        raise ValueError(f"the configuration is not valid YAML: {exc}") from None
    entry = _partner_node(root, name)
    if entry is None:
        return None
    if entry.flow_style:
        raise ValueError(f"partner {name} is written in flow style ({{...}}); edit it by hand")
    values = {key.value: (key, value) for key, value in entry.value
              if isinstance(key, yaml.ScalarNode)}
    wanted = {"fingerprint": f'"{fingerprint}"', "key_file": key_file}
    edits: list[tuple[int, int, str]] = []
    name_key, name_value = values["name"]
    indent = " " * name_key.start_mark.column
    inserts = ""
    for key, text in wanted.items():
        if key in values:
            node = values[key][1]
            if not isinstance(node, yaml.ScalarNode) or node.start_mark.line != node.end_mark.line:
                raise ValueError(f"partner {name}'s {key} is not a one-line value; edit it by hand")
            edits.append((node.start_mark.index, node.end_mark.index, text))
        else:
            inserts += f"{indent}{key}: {text}\n"
    if inserts:
        line_end = config_text.find("\n", name_value.end_mark.index)
        at = len(config_text) if line_end < 0 else line_end + 1
        prefix = "" if line_end >= 0 else "\n"
        edits.append((at, at, prefix + inserts))
    for start, end, text in sorted(edits, reverse=True):
        config_text = config_text[:start] + text + config_text[end:]
    return config_text


def _partner_node(root, name: str):
    import yaml
    if not isinstance(root, yaml.MappingNode):
        return None
    for key, value in root.value:
        if getattr(key, "value", None) == "partners" and isinstance(value, yaml.SequenceNode):
            for item in value.value:
                if isinstance(item, yaml.MappingNode) and any(
                        getattr(k, "value", None) == "name" and getattr(v, "value", None) == name
                        for k, v in item.value):
                    return item
    return None


def partner_snippet(name: str, fingerprint: str, key_file: str) -> str:
    """The YAML to add for a partner not yet in the configuration."""
    return (f"partners:\n"
            f"  - name: {name}\n"
            f"    addresses:\n"
            f"      - LIST-ADDRESS@PARTNER.EXAMPLE   # the partner's master list: fill this in\n"
            f"    fingerprint: \"{fingerprint}\"\n"
            f"    direction: both                  # send, receive or both\n"
            f"    key_file: {key_file}\n")
