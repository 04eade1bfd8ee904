"""The post: what goes over SMTP to the local list and partner master lists (RFC 3156).

::

    multipart/signed; protocol="application/pgp-signature"   <- signed by the posting society
      multipart/mixed                                         <- the signed content
        multipart/alternative   what a reader reads first (any mail app shows it)
          text/plain            title, who needs what, how to help, deadline, permalink
          text/html             the same, as HTML
        text/plain            signed-appeal.txt: the appeal, clearsigned by its origin
        text/plain            relay-record.txt (origin, appeal id, revision, path)
        application/pgp-keys  origin-key.asc: the origin society's public key
        image/…               the images the appeal lists, if any
      application/pgp-signature

The reading parts are rendered here from the clearsigned appeal the posting society wrote or
verified (:mod:`masbot.appeal.reading`): a relaying society never forwards another's HTML. They
are in the appeal's language and say so in their ``Content-Language``.

Headers are built from an allow-list; nothing of an inbound message's headers is ever copied.
The functions here build bytes only (:mod:`masbot.post.wire`, not the email package's objects):
signing happens in :mod:`masbot.signing.signer`, and the caller hands in every random token and
timestamp. The boundaries inside the signed content are derived from it, so the same appeal
gives the same bytes.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import format_datetime

from masbot.post import wire

PREAMBLE = b"This is an OpenPGP/MIME signed message (RFC 4880 and 3156)"
MICALG = {"8": "pgp-sha256", "9": "pgp-sha384", "10": "pgp-sha512", "11": "pgp-sha224"}
ALLOWED_HEADERS = ("From", "To", "Reply-To", "Subject", "Date", "Message-ID",
                   "MIME-Version", "Content-Type", "Auto-Submitted")
"""Every header a post carries, in order. Nothing else is ever written."""


@dataclass(frozen=True)
class RelayRecord:
    """Where an appeal came from and which societies it has passed, inside the signature."""

    origin: str  # fingerprint of the origin society's key
    origin_name: str
    appeal_id: str
    revision: int
    path: tuple[str, ...]  # fingerprints of societies that posted it, origin first

    def text(self) -> str:
        """The record as ``Key: value`` lines."""
        return (
            "Masbot-Relay: 1\n"
            f"Origin: {self.origin}\n"
            f"Origin-Name: {_one_line(self.origin_name)}\n"
            f"Appeal-ID: {self.appeal_id}\n"
            f"Revision: {self.revision}\n"
            f"Path: {', '.join(self.path)}\n"
        )




@dataclass(frozen=True)
class PostImage:
    """An image a post carries after the origin key: one cleaned here (see
    :mod:`masbot.appeal.images`), one verified in a partner's post, or one a held appeal kept."""

    name: str  # image-N.jpg or image-N.png; never the sender's file name
    content_type: str  # image/jpeg or image/png
    data: bytes


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _escape_from(data: bytes) -> bytes:
    # Some MDAs and archives turn a leading "From " into ">From ", which breaks signatures.
    # In quoted-printable parts "=46rom " decodes to the same text and is safe everywhere.
    return re.sub(rb"(?m)^From ", b"=46rom ", data)


APPEAL_FILE = "signed-appeal.txt"
"""The file name of the origin's clearsigned appeal inside a post."""


def permalink(site_url: str | None, record: RelayRecord) -> str | None:
    """The appeal's page on the posting society's site (see :mod:`masbot.publish.site`):
    ``appeals/<ID>/`` for its own appeals, ``appeals/<ID>.<fpr16>/`` for a partner's."""
    if not site_url:
        return None
    base = site_url if site_url.endswith("/") else site_url + "/"
    own = not record.path or record.path[-1] == record.origin
    slug = record.appeal_id if own else f"{record.appeal_id}.{record.origin[-16:].lower()}"
    return f"{base}appeals/{slug}/"


def reading_parts(clearsigned_appeal: str, record: RelayRecord, *,
                  site_url: str | None = None, contact: str | None = None,
                  language: str | None = None) -> tuple[str, str, str]:
    """The reading text and HTML of a post, rendered from the clearsigned appeal in its
    language (``language``, the society's, when the appeal names none), and that language's
    tag."""
    from masbot.appeal import reading  # rendering needs the templates; the store does not
    base = (site_url if site_url.endswith("/") else site_url + "/") if site_url else None
    proof = reading.Proof(record.origin_name, record.origin,
                          f"{base}check.html" if base else None, contact)
    parts = reading.reading(clearsigned_appeal, proof, url=permalink(site_url, record),
                            language=language)
    return parts.text, parts.html, parts.language


def signed_content(clearsigned_appeal: str, record: RelayRecord, origin_key: str,
                   images: Sequence[PostImage] = (), *, site_url: str | None = None,
                   contact: str | None = None, language: str | None = None) -> bytes:
    """The exact CRLF bytes the posting society signs: the reading parts (text and HTML,
    rendered here from the appeal), the clearsigned appeal, the relay record, the origin key,
    then any images the appeal lists (already cleaned; see :mod:`masbot.appeal.images`).

    ``site_url`` (the society's public site) gives the permalink and the "how to check" link;
    ``contact`` (a human address, the post's Reply-To) is named in the reading text;
    ``language`` (the society's) is the reading parts' language when the appeal names none.
    """
    text, html, tag = reading_parts(clearsigned_appeal, record, site_url=site_url,
                                    contact=contact, language=language)
    seed = hashlib.sha256(f"{clearsigned_appeal}\0{record.text()}".encode("utf-8")).hexdigest()
    reading = wire.multipart("alternative", [wire.text_part(text, language=tag),
                                             wire.text_part(html, "html", language=tag)],
                             f"=-r{seed[:24]}")
    parts = [reading,
             wire.text_part(clearsigned_appeal, filename=APPEAL_FILE),
             wire.text_part(record.text(), filename="relay-record.txt"),
             wire.ascii_part(origin_key, "application/pgp-keys", "origin-key.asc"),
             *(wire.binary_part(i.data, i.content_type, i.name) for i in images)]
    # "=-" cannot begin a line of quoted-printable, base64 or an armored key.
    data = wire.multipart("mixed", parts, f"=-c{seed[24:48]}")
    return _escape_from(data)


@dataclass(frozen=True)
class Envelope:
    """The allow-listed header values of a post."""

    from_name: str
    from_address: str
    to: tuple[str, ...]
    subject: str
    date: datetime
    message_id: str  # "<token@domain>", handed in by the caller
    reply_to: str | None = None  # a human contact address (``society.contact``)


def assemble(content: bytes, signature: bytes, hash_algo: str, envelope: Envelope,
             boundary: str) -> bytes:
    """The complete post: allow-listed headers and the signed content, byte for byte.

    ``content`` must be exactly the bytes ``signature`` covers; they are copied unchanged
    between the boundary lines, so what partners verify is what was signed.
    """
    if ("--" + boundary).encode() in content:
        raise ValueError("boundary occurs in the content")
    micalg = MICALG.get(hash_algo)
    if micalg is None:
        raise ValueError(f"unknown hash algorithm {hash_algo!r}")
    headers = b"".join([
        wire.address_header("From", envelope.from_name, envelope.from_address),
        wire.header("To", ", ".join(envelope.to)),
        wire.header("Reply-To", envelope.reply_to) if envelope.reply_to else b"",
        wire.header("Subject", _one_line(envelope.subject)),
        wire.header("Date", format_datetime(envelope.date.astimezone(timezone.utc))),
        wire.header("Message-ID", envelope.message_id),
        b"MIME-Version: 1.0\r\n",
        wire.header("Content-Type", f'multipart/signed; boundary="{boundary}"; '
                    f'micalg="{micalg}"; protocol="application/pgp-signature"'),
        b"Auto-Submitted: auto-generated\r\n"])
    signature = signature.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n").rstrip(b"\r\n")
    delimiter = b"--" + boundary.encode("ascii")
    return b"".join([
        headers, b"\r\n",
        PREAMBLE, b"\r\n",
        delimiter, b"\r\n",
        content, b"\r\n",
        delimiter, b"\r\n",
        b'Content-Type: application/pgp-signature; name="signature.asc"\r\n',
        b"Content-Description: OpenPGP digital signature\r\n",
        b'Content-Disposition: attachment; filename="signature.asc"\r\n',
        b"\r\n",
        signature, b"\r\n",
        delimiter, b"--\r\n",
    ])
