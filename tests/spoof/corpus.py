"""Build the spoofing corpus: real keys (gpg), genuine posts, and forgeries derived from them.

The world is the receiving society *Centreville* and the keys it meets:

=========  ===================================================  =========================
name       key                                                  in Centreville's config
=========  ===================================================  =========================
anytown    origin of most appeals (A)                           partner, receive
riverside  relays Anytown's appeals and posts its own (B)       partner, both
subtown    primary key certifies only, a subkey signs           partner, both
valle      a good key                                           partner, send (never read)
oldtown    expired key (made and used in 2020, 1 day validity)  partner, receive
sigtown    signatures that expire after a day (made in 2020)    partner, receive
revtown    revoked key (the pinned copy carries the revocation) partner, receive
centre     Centreville's own key                                (own key, in the keyring)
mallory    an attacker's key                                    nowhere
=========  ===================================================  =========================

Every :class:`Case` pairs a forgery with the genuine post it was derived from, and names the
:class:`masbot.post.verify.Reason` the forgery must be refused with.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from harness.openpgp import GpgHome
from masbot.post import build as post
from masbot.relay.partners import Partner
from masbot.signing.keyring import Keyring

FAKED = "20200101T000000!"
BOUNDARY = "=-masbot-0123456789abcdef"
FUND = "https://fund.anytown.example/bail/4411"
EVIL = "https://evil.example/pay/4411"


def appeal_text(appeal_id: str = "ANYTOWN-2026-0001", revision: int = 1,
                society: str = "Anytown Mutual Aid", link: str = FUND) -> str:
    """A canonical appeal (see masbot.appeal.canonical): head fields, then sections."""
    return (f"Appeal-ID: {appeal_id}\nRevision: {revision}\nSociety: {society}\n"
            "Issued: 2026-11-23T12:00:00Z\nExpires: 2026-12-23\nStatus: open\n"
            "Updates-To: mas@anytown.example\nTemplate: bail\nTitle: Bail for Río — ✊\n"
            "Story:\nRío was arrested at the tenants' sign wave on Friday.\n"
            "From here on the bail fund takes gifts.\n- dash item\n-- not a signature\n"
            f"How-To-Help:\n- Give at {link}\n")


@dataclass
class Society:
    """One key and how it signs (gpg CLI in a shared throwaway home)."""

    name: str
    address: str
    home: GpgHome
    fpr: str
    cert: bytes  # the certificate as a verifier pins it
    faked_time: bool = False
    sig_expire: bool = False
    by_subkey: bool = False  # let gpg pick the signing subkey

    @property
    def from_header(self) -> str:
        return f"{self.name} <{self.address}>"

    def _args(self) -> list[str]:
        args = ["--pinentry-mode", "loopback", "--passphrase", "", "-u",
                self.fpr + ("" if self.by_subkey else "!"),
                "--digest-algo", "SHA512"]
        if self.faked_time:
            args[:0] = ["--faked-system-time", FAKED]
        if self.sig_expire:
            args += ["--default-sig-expire", "1d"]
        return args

    def clearsign(self, text: str) -> str:
        return self.home.run(*self._args(), "--clearsign", "-o", "-",
                             input=text.encode()).stdout.decode()

    def detach(self, data: bytes) -> bytes:
        return self.home.run(*self._args(), "--armor", "--detach-sign", "-o", "-",
                             input=data).stdout

    def inline_sign(self, data: bytes, filename: str) -> bytes:
        return self.home.run(*self._args(), "--armor", "--sign", "--set-filename", filename,
                             "-o", "-", input=data).stdout


@dataclass
class World:
    """All keys, the receiving society's partners, and the key material it trusts."""

    home: GpgHome
    societies: dict[str, Society] = field(default_factory=dict)
    partners: list[Partner] = field(default_factory=list)

    def __getitem__(self, name: str) -> Society:
        return self.societies[name]

    def trusted_certs(self) -> list[bytes]:
        """Centreville's keyring: its own key and every partner's pinned certificate."""
        return [s.cert for n, s in self.societies.items() if n != "mallory"]

    def keyring(self) -> Keyring:
        return Keyring.of(*self.trusted_certs())

    def close(self) -> None:
        self.home.close()


def _gen(home: GpgHome, uid: str, *args: str, usage: str = "sign", expire: str = "never") -> str:
    proc = home.run(*args, "--status-fd", "2", "--pinentry-mode", "loopback", "--passphrase", "",
                    "--quick-gen-key", uid, "ed25519", usage, expire)
    return re.search(r"KEY_CREATED \S+ ([0-9A-F]{40})", proc.stderr.decode()).group(1)


def _revoked_cert(home: GpgHome, fpr: str) -> bytes:
    """The certificate with its revocation, as a verifier holds it after the partner revoked."""
    rev = (Path(home.path) / "openpgp-revocs.d" / f"{fpr}.rev").read_text()
    rev = rev.replace(":-----BEGIN PGP PUBLIC KEY BLOCK-----", "-----BEGIN PGP PUBLIC KEY BLOCK-----")
    with GpgHome() as scratch:
        scratch.import_key(home.export(fpr))
        scratch.import_key(rev.encode())
        return scratch.export(fpr)


def build_world() -> World:
    """Create every key (about 0.3 s) and Centreville's partner list."""
    world = World(GpgHome())
    home = world.home
    plain = {"anytown": ("Anytown Mutual Aid", "mas@anytown.example"),
             "riverside": ("Riverside Mutual Aid", "mas@riverside.example"),
             "valle": ("Valle Apoyo Mutuo", "mas@valle.example"),
             "revtown": ("Revtown Mutual Aid", "mas@revtown.example"),
             "centre": ("Centreville Mutual Aid", "mas@centreville.example"),
             "mallory": ("Mallory", "mallory@evil.example")}
    for key, (name, address) in plain.items():
        fpr = _gen(home, f"{name} <{address}>")
        world.societies[key] = Society(name, address, home, fpr, home.export(fpr))
    fpr = _gen(home, "Oldtown Mutual Aid <mas@oldtown.example>", "--faked-system-time", FAKED,
               expire="1d")
    world.societies["oldtown"] = Society("Oldtown Mutual Aid", "mas@oldtown.example", home, fpr,
                                         home.export(fpr), faked_time=True)
    fpr = _gen(home, "Sigtown Mutual Aid <mas@sigtown.example>", "--faked-system-time", FAKED)
    world.societies["sigtown"] = Society("Sigtown Mutual Aid", "mas@sigtown.example", home, fpr,
                                         home.export(fpr), faked_time=True, sig_expire=True)
    fpr = _gen(home, "Subtown Mutual Aid <mas@subtown.example>", usage="cert")
    home.run("--pinentry-mode", "loopback", "--passphrase", "", "--quick-add-key", fpr,
             "ed25519", "sign", "never")
    world.societies["subtown"] = Society("Subtown Mutual Aid", "mas@subtown.example", home, fpr,
                                         home.export(fpr), by_subkey=True)
    revtown = world.societies["revtown"]
    revtown.cert = _revoked_cert(home, revtown.fpr)  # the signing home never learns of it
    directions = {"anytown": "receive", "riverside": "both", "subtown": "both", "valle": "send",
                  "oldtown": "receive", "sigtown": "receive", "revtown": "receive"}
    for key, direction in directions.items():
        s = world.societies[key]
        world.partners.append(Partner(key, (f"master@lists.{s.address.split('@')[1]}",),
                                      s.fpr, direction))
    return world


# --- building posts ----------------------------------------------------------------------------

def content(appeal: str, record: post.RelayRecord, origin_key: bytes) -> bytes:
    return post.signed_content(appeal, record, origin_key.decode())


def assemble(signer: Society, signed: bytes, *, from_header: str | None = None,
             signature: bytes | None = None) -> bytes:
    """A complete post around ``signed``, signed by ``signer`` (or carrying ``signature``)."""
    sig = signature if signature is not None else signer.detach(signed)
    env = post.Envelope(signer.name, signer.address, ("master@lists.centreville.example",),
                        "[ANYTOWN-2026-0001] Bail for Río",
                        datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc),
                        "<0123456789abcdef@example.org>")
    raw = post.assemble(signed, sig, "10", env, BOUNDARY)
    if from_header is not None:
        raw = re.sub(rb"(?m)^From: .*\r\n", b"From: " + from_header.encode() + b"\r\n", raw, 1)
    return raw


def relay(origin: Society, *hops: Society, appeal: str | None = None,
          record: post.RelayRecord | None = None, origin_key: bytes | None = None,
          from_header: str | None = None, text: str | None = None) -> bytes:
    """The post the last of ``hops`` (default: the origin itself) sends to Centreville."""
    signer = hops[-1] if hops else origin
    appeal = appeal if appeal is not None else origin.clearsign(text or appeal_text())
    path = (origin.fpr,) + tuple(h.fpr for h in hops)
    record = record or post.RelayRecord(origin.fpr, origin.name, "ANYTOWN-2026-0001", 1, path)
    signed = content(appeal, record, origin_key if origin_key is not None else origin.cert)
    return assemble(signer, signed, from_header=from_header)


def split_signed(raw: bytes) -> tuple[bytes, bytes, bytes]:
    """(everything up to and including the first delimiter line, signed content, the rest)."""
    first = raw.index(b"--" + BOUNDARY.encode() + b"\r\n")
    start = first + len(BOUNDARY) + 4
    second = raw.index(b"\r\n--" + BOUNDARY.encode() + b"\r\n", start)
    return raw[:start], raw[start:second], raw[second:]


def mixed(top_headers: str, parts: list[tuple[str, bytes]], ctype: str = "multipart/mixed") -> bytes:
    """A hand-built multipart mail: parts are (headers, body)."""
    b = "=-outer-42"
    out = [f"{top_headers}MIME-Version: 1.0\r\nContent-Type: {ctype}; boundary=\"{b}\"\r\n\r\n"
           .encode()]
    for headers, body in parts:
        out.append(f"--{b}\r\n{headers}\r\n".encode() + body + b"\r\n")
    out.append(f"--{b}--\r\n".encode())
    return b"".join(out)


def headers_of(signer: Society) -> str:
    return (f"From: {signer.from_header}\r\nTo: master@lists.centreville.example\r\n"
            "Subject: [ANYTOWN-2026-0001] Bail for Río\r\nDate: Mon, 23 Nov 2026 12:00:00 +0000\r\n"
            "Message-ID: <fedcba9876543210@example.org>\r\n")


def signature_block(raw: bytes) -> bytes:
    """The armored signature of a post (the last one: the appeal carries its own)."""
    start = raw.rindex(b"-----BEGIN PGP SIGNATURE-----")
    end = raw.index(b"-----END PGP SIGNATURE-----", start)
    return raw[start:end + len(b"-----END PGP SIGNATURE-----")]


def dearmor(block: bytes) -> bytes:
    lines = block.decode().replace("\r\n", "\n").split("\n")
    body = lines[lines.index("") + 1:]
    return base64.b64decode("".join(line for line in body if line and not line.startswith(("=", "-----"))))


def armor_signature(packets: bytes) -> bytes:
    b64 = base64.b64encode(packets).decode()
    return ("-----BEGIN PGP SIGNATURE-----\n\n" + "\n".join(b64[i:i + 64] for i in range(0, len(b64), 64))
            + "\n-----END PGP SIGNATURE-----\n").encode()
