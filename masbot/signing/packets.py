"""OpenPGP version 4 signature packets, built around a signature that gpg-agent made.

Pure functions over bytes (RFC 4880 §5.2.3, §5.2.4, §7.1): what a text or binary signature
covers, the digest gpg-agent is asked to sign, and the packet that carries its answer. The
packets are those gpg makes: the creation time and the issuer's fingerprint hashed, the issuer's
key ID not, SHA-512. :mod:`masbot.signing.agent` asks the agent; :mod:`masbot.signing.signer`
checks the first result with gpg before it trusts this path.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

SIG_BINARY = 0x00
SIG_TEXT = 0x01
PK_RSA = 1
PK_EDDSA = 22  # EdDSA as version 4 keys use it ("EdDSALegacy"): r and s as MPIs
HASH_SHA512 = 10

_CREATED = 2
_ISSUER = 16
_ISSUER_FINGERPRINT = 33


def cleartext(text: str) -> tuple[str, bytes]:
    """``text`` as a cleartext signature shows it (lines end in ``\\n``, trailing spaces and
    tabs removed, one final ``\\n``) and the bytes a text signature over it covers: the same
    lines joined by CRLF, without the line ending before the signature (§7.1).

    Raises ValueError for a carriage return that does not end a line.
    """
    lines = text.replace("\r\n", "\n").split("\n")
    if lines[-1] == "":
        lines.pop()
    if any("\r" in line for line in lines):
        raise ValueError("a carriage return inside a line")
    lines = [line.rstrip(" \t") for line in lines]
    return "\n".join(lines) + "\n", "\r\n".join(lines).encode("utf-8")


def _subpacket(kind: int, data: bytes) -> bytes:
    return bytes([len(data) + 1, kind]) + data  # every subpacket here is shorter than 192


def hashed_part(sig_type: int, pk_algo: int, created: int, fingerprint: bytes) -> bytes:
    """The signature's hashed part: version, type, algorithms and the hashed subpackets
    (issuer fingerprint, creation time: gpg's order)."""
    subpackets = (_subpacket(_ISSUER_FINGERPRINT, b"\x04" + fingerprint)
                  + _subpacket(_CREATED, created.to_bytes(4, "big")))
    return (bytes([4, sig_type, pk_algo, HASH_SHA512]) + len(subpackets).to_bytes(2, "big")
            + subpackets)


def digest(signed: bytes, hashed: bytes) -> bytes:
    """The SHA-512 digest a version 4 signature with ``hashed`` over ``signed`` signs."""
    h = hashlib.sha512(signed)
    h.update(hashed)
    h.update(b"\x04\xff" + len(hashed).to_bytes(4, "big"))
    return h.digest()


def mpi(value: bytes) -> bytes:
    """``value`` (big-endian) as an OpenPGP multiprecision integer."""
    value = value.lstrip(b"\0")
    bits = (len(value) - 1) * 8 + value[0].bit_length() if value else 0
    return bits.to_bytes(2, "big") + value


def packet(hashed: bytes, signed_digest: bytes, values: Sequence[bytes],
           fingerprint: bytes) -> bytes:
    """The whole signature packet (old-format header, as gpg writes it): ``hashed``, the
    issuer's key ID unhashed, the digest's first two octets and ``values`` (the algorithm's
    signature integers, in order) as MPIs."""
    unhashed = _subpacket(_ISSUER, fingerprint[-8:])
    body = (hashed + len(unhashed).to_bytes(2, "big") + unhashed + signed_digest[:2]
            + b"".join(mpi(v) for v in values))
    if len(body) < 0x100:
        return bytes([0x88, len(body)]) + body
    if len(body) < 0x10000:
        return b"\x89" + len(body).to_bytes(2, "big") + body
    return b"\x8a" + len(body).to_bytes(4, "big") + body
