"""OpenPGP armor, signature packets and clearsigned text, parsed by masbot itself.

gpg is only ever given data masbot has already taken apart and checked here: a detached
signature must be exactly one version 4 signature packet with an accepted hash (so no
literal data packet with a file name, no second signature); a clearsigned text must be one
clean block, which is then *rebuilt* from its parsed parts (:meth:`Clearsigned.armored`)
before gpg sees it. Malformed input raises :class:`FormatError` with a short code.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from typing import Iterable

HASHES = {"SHA256": 8, "SHA384": 9, "SHA512": 10, "SHA224": 11}
"""Hash algorithms accepted in signatures (name in armor headers: OpenPGP id)."""
HASH_NAMES = {number: name for name, number in HASHES.items()}
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


def _crc24_bitwise(data: bytes) -> int:
    """RFC 4880 section 6.1's CRC-24, bit by bit, as the RFC writes it."""
    crc = 0xB704CE
    for byte in data:
        crc ^= byte << 16
        for _ in range(8):
            crc <<= 1
            if crc & 0x1000000:
                crc ^= 0x1864CFB
    return crc & 0xFFFFFF


def _crc24_table() -> tuple[int, ...]:
    table = []
    for byte in range(256):
        crc = byte << 16
        for _ in range(8):
            crc <<= 1
            if crc & 0x1000000:
                crc ^= 0x1864CFB
        table.append(crc & 0xFFFFFF)
    return tuple(table)


_CRC24_TABLE = _crc24_table()


def _crc24(data: bytes) -> int:
    """The same CRC-24 a byte at a time (eight times fewer steps: every appeal's two
    signatures are checked)."""
    crc, table = 0xB704CE, _CRC24_TABLE
    for byte in data:
        crc = ((crc << 8) & 0xFFFFFF) ^ table[(crc >> 16) ^ byte]
    return crc


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
        return clearsigned_block(self.text, self.hash_name, self.signature.packet).encode("utf-8")


def armor_signature(packet: bytes) -> str:
    """Binary signature ``packet`` in ASCII armor, as gpg writes it: 64 columns, then the
    CRC-24 checksum."""
    b64 = base64.b64encode(packet).decode("ascii")
    lines = "\n".join(b64[i:i + 64] for i in range(0, len(b64), 64))
    crc = base64.b64encode(_crc24(packet).to_bytes(3, "big")).decode("ascii")
    return f"-----BEGIN PGP SIGNATURE-----\n\n{lines}\n={crc}\n-----END PGP SIGNATURE-----\n"


def clearsigned_block(text: str, hash_name: str, packet: bytes, *,
                      escape_from: bool = False) -> str:
    """A cleartext signature block: ``text`` (lines ending in ``\\n``, the last one too)
    dash-escaped, then ``packet`` armored. ``escape_from`` also dash-escapes lines that begin
    with ``From `` (as gpg does, so that no mailbox quotes them and breaks the signature)."""
    body = "".join(("- " + line if line.startswith("-") or (escape_from and
                                                            line.startswith("From "))
                    else line) + "\n" for line in text[:-1].split("\n"))
    return (f"-----BEGIN PGP SIGNED MESSAGE-----\nHash: {hash_name}\n\n{body}"
            + armor_signature(packet))


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
