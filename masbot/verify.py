"""Verifying posts and clearsigned appeals: what is signed, by whom, and nothing else.

A post (see :mod:`masbot.post`) is accepted only when all of it is covered by signatures:

* **The mail is one RFC 3156 ``multipart/signed``** at the top level, with exactly two parts
  (the signed content and one ``application/pgp-signature``), a boundary that occurs nowhere
  else, and nothing outside them: the preamble may only be empty or one of the standard
  boilerplate lines MUAs write (:data:`KNOWN_PREAMBLES`, never shown to readers), the epilogue
  only whitespace. Line ends are normalised LF → CRLF first, so files saved either way verify.
  The signed content is exactly the bytes between the first two delimiter lines.
* **The posting society's signature** is one good signature over those bytes by a key in the
  keyring, not expired or revoked (:mod:`masbot.keyring` takes the decision from gpg's parsed
  status). The ``From`` header must name the signer: an address of the signing key's user ids
  (or of the partner pinned to it), and no display name impersonating another known key or
  partner. ``From`` is compared, never used to choose the key.
* **The signed content** is ``multipart/mixed`` with exactly the appeal (``text/plain``, one
  clearsigned block and only blank lines around it), ``relay-record.txt`` and
  ``origin-key.asc``. The appeal must verify against the carried origin key alone, whose
  fingerprint is the record's ``Origin:``; the record's Appeal-ID and Revision are the appeal's;
  the record's path starts with the origin and ends with the signer. After the key may come
  images (base64 ``image-N.jpg``/``.png``), only if they are exactly those whose names and
  SHA-256 the origin's signed appeal lists in its ``Images:`` head field.

Refusals carry a :class:`Reason` (a short stable code) and a message saying exactly what is
wrong. Messages never quote the mail (no From address, no text, no file names): they name
only parts, fingerprints, and the user ids and addresses of trusted keys and configured
partners, so a refusal is safe to log (DESIGN §2.1). Nothing here raises on hostile input.
"""

from __future__ import annotations

import email
import email.errors
import email.parser
import email.policy
import hashlib
import re
from dataclasses import dataclass
from email.message import Message
from enum import StrEnum
from typing import Iterable, Sequence

from masbot.config import Partner, normalise_fingerprint
from masbot.formfiles import SYSTEM_KEYS
from masbot.keyring import (HASH_NAMES, Clearsigned, FormatError, KeyInfo, Keyring,
                            KeyringError, SigCheck, forbidden_character, parse_clearsigned,
                            read_signature)
from masbot.post import RelayRecord

MAX_BYTES = 10_000_000
KNOWN_PREAMBLES = frozenset({
    b"This is an OpenPGP/MIME signed message (RFC 4880 and 3156)",
    b"This is a multi-part message in MIME format.",
    b"This is a MIME-formatted message.",
    b"This is a multipart message in MIME format.",
})
"""Boilerplate preambles accepted before the first boundary (exactly, alone)."""
_BOUNDARY = re.compile(r"[0-9A-Za-z'()+_,\-./:=? ]{0,69}[0-9A-Za-z'()+_,\-./:=?]")
_APPEAL_ID = re.compile(r"[A-Z0-9]{2,16}-[0-9]{4}-[0-9]{4,}")
_FIELD = re.compile(r"([A-Za-z][A-Za-z0-9-]*):(?: (.*))?")
_IMAGE_TYPES = {"jpg": "image/jpeg", "png": "image/png"}
_IMAGE_NAME = re.compile(r"image-[1-9][0-9]?\.(jpg|png)")
MAX_IMAGES = 20
_RECORD_KEYS = ("Masbot-Relay", "Origin", "Origin-Name", "Appeal-ID", "Revision", "Path")


class Reason(StrEnum):
    """Why something was refused (stable short codes, safe to log)."""

    MALFORMED = "malformed"
    UNSIGNED = "unsigned"
    WRAPPED = "wrapped"                    # the signed part is inside something else
    HTML = "html"                          # the signed text sits inside HTML
    REFERENCE = "external-reference"       # content behind a reference (message/external-body)
    INLINE = "inline-signature"            # an inline-signed text inside an unsigned mail
    PREPENDED = "prepended-text"
    APPENDED = "appended-text"
    EXTRA_PART = "extra-part"
    BAD_SIGNATURE = "bad-signature"
    UNKNOWN_KEY = "unknown-key"            # not in the keyring
    UNPINNED_KEY = "unpinned-key"          # in the keyring, but not a receiving partner's pin
    EXPIRED_KEY = "expired-key"
    REVOKED_KEY = "revoked-key"
    EXPIRED_SIGNATURE = "expired-signature"
    FROM_MISMATCH = "from-mismatch"
    NOT_CLEARSIGNED = "not-clearsigned"
    TEXT_OUTSIDE = "text-outside-signature"
    MULTIPLE_BLOCKS = "multiple-blocks"
    BAD_ARMOR = "bad-armor"
    BAD_CONTENT = "bad-content"            # signed content is not [appeal, record, key]
    BAD_RECORD = "bad-record"
    ORIGIN_MISMATCH = "origin-mismatch"
    APPEAL_SIGNATURE = "appeal-signature"  # the appeal does not verify with the origin key
    RECORD_MISMATCH = "record-mismatch"
    PATH_MISMATCH = "path-mismatch"
    IMAGE_MISMATCH = "image-mismatch"      # an image the origin's appeal does not list


@dataclass(frozen=True)
class Refused:
    """A negative answer: ``reason`` (a code) and ``message`` (for people)."""

    reason: Reason
    message: str
    ok = False

    def __str__(self) -> str:
        return f"{self.reason}: {self.message}"


class Refusal(Exception):
    """Raised inside this module; turned into :class:`Refused` at the public functions."""

    def __init__(self, reason: Reason, message: str) -> None:
        super().__init__(message)
        self.refused = Refused(reason, message)


@dataclass(frozen=True)
class AppealCheck:
    """A clearsigned text verified by a key in the keyring."""

    signer: str  # primary fingerprint
    signer_key: KeyInfo
    text: str  # exactly the signed text (see keyring.Clearsigned)
    clearsigned: str  # the block, rebuilt canonically from what was verified
    ok = True


@dataclass(frozen=True)
class PostCheck:
    """A post whose complete content is signed and consistent."""

    signer: str  # primary fingerprint of the posting society's key
    signer_key: KeyInfo
    origin: str  # fingerprint of the origin society (record Origin = appeal signer)
    origin_key_info: KeyInfo
    appeal_text: str  # exactly the text the origin signed
    clearsigned_appeal: str  # the verified block, to relay unchanged in meaning
    origin_key: str  # the carried origin key, armored
    record: RelayRecord
    images: tuple[CarriedImage, ...] = ()  # exactly those the signed appeal lists, or none
    ok = True


@dataclass(frozen=True)
class CarriedImage:
    """An image part of a post whose SHA-256 the origin's signed appeal lists."""

    name: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class MailCheck:
    """An ordinary PGP/MIME mail (not a post) whose only content, one text/plain part, is
    signed by a key in the keyring. Only :func:`verify_document` returns this."""

    signer: str
    signer_key: KeyInfo
    text: str
    ok = True


@dataclass(frozen=True)
class Accepted:
    """A partner post that may enter the relay rules."""

    partner: Partner
    post: PostCheck
    ok = True


# --- public functions -----------------------------------------------------------------------

def verify_post(raw: bytes, keyring: Keyring, partners: Sequence[Partner] = ()) -> PostCheck | Refused:
    """Check an RFC 3156 post completely (see the module docstring); never raises.

    ``partners`` only widens the ``From`` check: a partner pinned to the signing key may
    also use its configured addresses and name.
    """
    return _guarded(_verify_post, raw, keyring, partners, False)


def check_partner_post(raw: bytes, partners: Sequence[Partner], keyring: Keyring) -> Accepted | Refused:
    """Accept ``raw`` only as a complete, consistent post signed by a receiving partner's pin.

    The signing key (never the From header) decides which partner it is: its primary
    fingerprint must be the pinned ``fingerprint`` of a partner with direction receive or
    both. Everything :func:`verify_post` checks is checked too.
    """
    result = verify_post(raw, keyring, partners)
    if not isinstance(result, PostCheck):
        return result
    partner = next((p for p in partners if _fpr(p.fingerprint) == result.signer), None)
    if partner is None:
        return Refused(Reason.UNPINNED_KEY, f"signed by {result.signer}, which is not the pinned "
                                            "key of any partner")
    if not partner.receives_from:
        return Refused(Reason.UNPINNED_KEY, f"signed by partner {partner.name}, whose direction "
                                            f"is {partner.direction}: its posts are not accepted")
    return Accepted(partner, result)


def verify_appeal_text(text: str, keyring: Keyring) -> AppealCheck | Refused:
    """Verify a clearsigned appeal (pasted from a page, a file, a single-part mail body).

    Only blank lines may surround the one clearsigned block; the signer must be a key in the
    keyring, good, not expired or revoked.
    """
    try:
        block = _parse_block(text.removeprefix("\ufeff"), "the text")
        check = keyring.verify_clearsigned(block)
        if not check.ok:
            raise Refusal(*_sig_refusal(check, "the text"))
        return AppealCheck(check.fingerprint, check.key, block.text,
                           block.armored().decode("utf-8"))
    except Refusal as refusal:
        return refusal.refused


def verify_document(data: bytes, keyring: Keyring, partners: Sequence[Partner] = ()
                    ) -> PostCheck | AppealCheck | MailCheck | Refused:
    """What ``masbot verify FILE`` checks, chosen by the first non-blank line: a pasted
    clearsigned text; or a mail: a post, an ordinary PGP/MIME mail whose signed content is
    one text/plain part, or a single-part text/plain mail whose body is one clearsigned
    block. Anything else is refused."""
    data = data.removeprefix(b"\xef\xbb\xbf")  # a byte order mark from a text editor
    if data.startswith(b"From "):  # an mbox separator line, not part of the mail
        data = data.split(b"\n", 1)[1] if b"\n" in data else b""
    first = next((line for line in data.splitlines() if line.strip()), b"")
    if first.startswith(b"-----BEGIN PGP") or not re.match(rb"[!-9;-~]+:", first):
        try:
            return verify_appeal_text(data.decode("utf-8"), keyring)
        except UnicodeDecodeError:
            return Refused(Reason.BAD_ARMOR, "the text is not UTF-8")
    return _guarded(_verify_mail, data, keyring, partners)


def next_record(check: PostCheck, own_fingerprint: str) -> RelayRecord:
    """The relay record for passing ``check``'s appeal on: the path with us appended."""
    return RelayRecord(origin=check.record.origin, origin_name=check.record.origin_name,
                       appeal_id=check.record.appeal_id, revision=check.record.revision,
                       path=check.record.path + (_fpr(own_fingerprint),))


def looks_signed(raw: bytes) -> bool:
    """True when a mail carries any OpenPGP signature material, anywhere in any form.

    Such a mail is a (possibly forged) post: route it to :func:`check_partner_post` rather
    than reading it as a member's request.
    """
    lowered = raw.lower()
    return any(marker in lowered for marker in (b"multipart/signed", b"application/pgp-signature",
                                                b"-----begin pgp"))


# --- the post, step by step -------------------------------------------------------------------

def _guarded(check, *args):
    """Run a check; a Refusal or any parsing error of hostile bytes becomes a Refused."""
    try:
        return check(*args)
    except Refusal as refusal:
        return refusal.refused
    except (RecursionError, LookupError, ValueError, TypeError, UnicodeError,
            email.errors.MessageError) as exc:
        return Refused(Reason.MALFORMED, f"the mail could not be read ({type(exc).__name__})")


def _verify_mail(data: bytes, keyring: Keyring, partners: Sequence[Partner]
                 ) -> PostCheck | AppealCheck | MailCheck:
    raw = _crlf(data)
    head = _top_headers(raw)
    if head.get_content_type() == "text/plain":
        return _verify_inline_mail(raw, keyring, partners)
    return _verify_post(raw, keyring, partners, True)


def _verify_post(raw: bytes, keyring: Keyring, partners: Sequence[Partner],
                 plain_ok: bool) -> PostCheck | MailCheck:
    """The checks of the module docstring, in order; raises Refusal at the first failure.

    With ``plain_ok`` an ordinary PGP/MIME mail whose signed content is plain text passes too.
    """
    raw = _crlf(raw)
    head = _top_headers(raw)
    if head.get_content_type() != "multipart/signed":
        raise Refusal(*_why_not_a_post(raw))
    split = raw.index(b"\r\n\r\n")
    boundary, micalg = _signed_params(head, raw[:split + 2])
    body = raw[split + 4:]
    preamble, parts, epilogue = _split_multipart(body, boundary)
    _check_outside(preamble, epilogue, len(parts))
    signed, sig_part = parts
    signature = _signature(sig_part)
    if micalg != "pgp-" + HASH_NAMES[signature.hash_algo].lower():
        raise Refusal(Reason.MALFORMED, "the micalg parameter does not name the signature's hash "
                                        f"{HASH_NAMES[signature.hash_algo]}")
    check = keyring.verify_detached(signed, signature)
    if not check.ok:
        raise Refusal(*_sig_refusal(check, "the post"))
    _check_from(head, check.key, partners, keyring)
    if plain_ok and (text := _plain_content(signed)) is not None:
        return MailCheck(check.fingerprint, check.key, text)
    appeal, record_text, origin_key, images = _content_parts(signed)
    record = _record(record_text)
    block = _parse_block(appeal, "the appeal")
    origin_info = _verify_origin(block, origin_key, record)
    _check_consistency(block.text, record, check.fingerprint)
    _check_images(block.text, images)
    return PostCheck(signer=check.fingerprint, signer_key=check.key, origin=record.origin,
                     origin_key_info=origin_info, appeal_text=block.text,
                     clearsigned_appeal=block.armored().decode("utf-8"),
                     origin_key=origin_key, record=record, images=images)


def _crlf(raw: bytes) -> bytes:
    if len(raw) > MAX_BYTES:
        raise Refusal(Reason.MALFORMED, f"the mail is larger than {MAX_BYTES // 1_000_000} MB")
    raw = raw.replace(b"\r\n", b"\n")
    if b"\r" in raw or b"\x00" in raw:
        raise Refusal(Reason.MALFORMED, "the mail contains a NUL or a carriage return that "
                                        "ends no line")
    return raw.replace(b"\n", b"\r\n")


def _top_headers(raw: bytes) -> Message:
    if b"\r\n\r\n" not in raw:
        raise Refusal(Reason.MALFORMED, "the mail has no blank line after its headers")
    head = raw[:raw.index(b"\r\n\r\n") + 2]
    msg = email.parser.BytesHeaderParser(policy=email.policy.default).parsebytes(head)
    if msg.defects:
        raise Refusal(Reason.MALFORMED, "the mail's headers are malformed "
                                        f"({type(msg.defects[0]).__name__})")
    for name in ("Content-Type", "Content-Transfer-Encoding", "MIME-Version", "From"):
        if len(msg.get_all(name, [])) > 1:
            raise Refusal(Reason.MALFORMED, f"the mail has more than one {name} header")
    return msg


def _why_not_a_post(raw: bytes) -> tuple[Reason, str]:
    """Say why a mail whose top level is not multipart/signed is refused."""
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    top = msg.get_content_type()
    found: set[Reason] = set()
    for part in msg.walk():
        ctype = part.get_content_type()
        if ctype in ("multipart/signed", "application/pgp-signature",
                     "application/pkcs7-signature"):
            found.add(Reason.WRAPPED)
        elif ctype == "message/external-body" or part.get_param("access-type") is not None:
            found.add(Reason.REFERENCE)
        elif not part.is_multipart():
            payload = part.get_payload(decode=True) or b""
            if b"-----BEGIN PGP" in payload:
                found.add(Reason.HTML if ctype == "text/html" else Reason.INLINE)
    messages = {
        Reason.WRAPPED: f"the signed part is inside a {top}, so the signature does not cover "
                        "the whole mail",
        Reason.HTML: "the signed text is inside HTML, where what is shown need not be what "
                     "is signed",
        Reason.REFERENCE: "the content is behind a reference (message/external-body), not "
                          "in the signed mail",
        Reason.INLINE: "an inline-signed text inside an unsigned mail is not a post: the "
                       "rest of the mail is not covered",
    }
    for reason in (Reason.WRAPPED, Reason.HTML, Reason.REFERENCE, Reason.INLINE):
        if reason in found:
            return reason, messages[reason]
    return Reason.UNSIGNED, f"the mail is not signed (it is {top}, not multipart/signed)"


def _signed_params(head: Message, raw_head: bytes) -> tuple[str, str]:
    # Parameters as written: policy.default's header objects drop a repeated name silently.
    legacy = email.parser.BytesHeaderParser(policy=email.policy.compat32).parsebytes(raw_head)
    params = legacy.get_params(header="content-type") or []
    names = [name.lower() for name, _ in params[1:]]
    if len(names) != len(set(names)) or any("*" in name for name in names):
        raise Refusal(Reason.MALFORMED, "the Content-Type has repeated or continued parameters")
    values = {name.lower(): str(value) for name, value in params[1:]}
    if values.get("protocol", "").lower() != "application/pgp-signature":
        raise Refusal(Reason.MALFORMED, "multipart/signed without protocol="
                                        "\"application/pgp-signature\" is not OpenPGP")
    boundary = values.get("boundary", "")
    if not _BOUNDARY.fullmatch(boundary):
        raise Refusal(Reason.MALFORMED, "the multipart boundary is missing or not valid")
    cte = (head.get("Content-Transfer-Encoding") or "7bit").strip().lower()
    if cte not in ("7bit", "8bit", "binary"):
        raise Refusal(Reason.MALFORMED, "a multipart must not have a Content-Transfer-Encoding "
                                        "other than 7bit, 8bit or binary")
    return boundary, values.get("micalg", "").lower()


def _split_multipart(body: bytes, boundary: str) -> tuple[bytes, list[bytes], bytes]:
    """(preamble, parts, epilogue) of a multipart body cut at its delimiter lines.

    Each part is the exact bytes after its delimiter line up to the CRLF before the next
    one. Any other line starting with ``--boundary`` is refused, so no parser can see a
    different structure than this one.
    """
    dash = b"--" + boundary.encode("ascii")
    delimiters: list[tuple[int, int]] = []  # (line start, start of the next line)
    close_end = None
    pos = 0
    while pos <= len(body):
        end = body.find(b"\r\n", pos)
        line_end = len(body) if end < 0 else end
        line = body[pos:line_end]
        if line.startswith(dash):
            rest = line[len(dash):].rstrip(b" \t")
            if rest == b"--":
                close_end = (pos, len(body) if end < 0 else end + 2)
                break
            if rest:
                raise Refusal(Reason.MALFORMED, "a line starts with the boundary but is not a "
                                                "delimiter")
            delimiters.append((pos, line_end + 2))
        if end < 0:
            break
        pos = end + 2
    if close_end is None or not delimiters:
        raise Refusal(Reason.MALFORMED, "the multipart has no closing boundary")
    starts = [start for start, _ in delimiters] + [close_end[0]]
    preamble = body[:max(starts[0] - 2, 0)]
    parts = []
    for (_, after), next_start in zip(delimiters, starts[1:]):
        if next_start - 2 < after:
            raise Refusal(Reason.MALFORMED, "a body part is empty")
        parts.append(body[after:next_start - 2])
    return preamble, parts, body[close_end[1]:]


def _check_outside(preamble: bytes, epilogue: bytes, count: int) -> None:
    text = preamble.strip()
    if text and text not in KNOWN_PREAMBLES:
        raise Refusal(Reason.PREPENDED, f"there are {len(text)} bytes of text before the signed "
                                        "part that the signature does not cover")
    if epilogue.strip():
        raise Refusal(Reason.APPENDED, f"there are {len(epilogue.strip())} bytes of text after "
                                       "the closing boundary that the signature does not cover")
    if count > 2:
        raise Refusal(Reason.EXTRA_PART, f"multipart/signed has {count} parts: only the "
                                         "signed content and its signature are allowed")
    if count < 2:
        raise Refusal(Reason.MALFORMED, "multipart/signed needs the signed content and a "
                                        "signature part")


def _part(data: bytes, what: str) -> Message:
    part = email.message_from_bytes(data, policy=email.policy.default)
    if part.defects:
        raise Refusal(Reason.MALFORMED, f"{what} is malformed ({type(part.defects[0]).__name__})")
    return part


def _signature(data: bytes):
    part = _part(data, "the signature part")
    if part.get_content_type() != "application/pgp-signature":
        raise Refusal(Reason.MALFORMED, f"the second part is {part.get_content_type()}, not "
                                        "application/pgp-signature")
    payload = part.get_payload(decode=True) or b""
    try:
        return read_signature(payload.decode("ascii"))
    except UnicodeDecodeError:
        raise Refusal(Reason.BAD_ARMOR, "the signature part is not ASCII armor") from None
    except FormatError as exc:
        raise Refusal(Reason(exc.code), f"the post's signature: {exc}") from None


def _sig_refusal(check: SigCheck, what: str) -> tuple[Reason, str]:
    return Reason(check.status), f"{what}: {check.message}"


def _norm_name(name: str) -> str:
    return " ".join(name.replace('"', " ").split()).casefold()


def _check_from(head: Message, key: KeyInfo, partners: Sequence[Partner],
                keyring: Keyring) -> None:
    """The From header must name the signer (compared, never used to pick the key).

    Its address must be one of the signer's: a user id address of the signing key, or an
    address of the partner pinned to it. Display names vary too much to require an exact
    match, so a display name is refused only when it impersonates: it carries an address
    that is not the signer's, or names another key in the keyring or another partner.
    """
    header = head.get("From")
    addresses = getattr(header, "addresses", ()) if header is not None else ()
    if len(addresses) != 1 or not addresses[0].addr_spec or "@" not in addresses[0].addr_spec:
        raise Refusal(Reason.FROM_MISMATCH, "the mail must have exactly one From address")
    pinned = [p for p in partners if _fpr(p.fingerprint) == key.fingerprint]
    allowed = set(key.addresses()) | {a.lower() for p in pinned for a in p.addresses}
    if addresses[0].addr_spec.lower() not in allowed:
        raise Refusal(Reason.FROM_MISMATCH, "the From address is not an address of the signer "
                      f"{key.fingerprint} ({', '.join(sorted(allowed)) or 'none'})")
    display = _norm_name(addresses[0].display_name or "")
    if not display or display in {_norm_name(n) for n in key.names()}:
        return
    if "@" in display and not any(a in display for a in allowed):
        raise Refusal(Reason.FROM_MISMATCH, "the From display name carries an address that is "
                                            f"not the signer's ({key.fingerprint})")
    others = {_norm_name(n) for k in keyring.keys().values() if k.fingerprint != key.fingerprint
              for n in k.names()}
    others |= {_norm_name(p.name) for p in partners if p not in pinned}
    if any(len(name) >= 4 and name in display for name in others):
        raise Refusal(Reason.FROM_MISMATCH, "the From display name names another society than "
                      f"the signer {key.fingerprint} ({', '.join(key.uids) or 'unnamed'})")


def _plain_content(signed: bytes) -> str | None:
    """The text of signed content that is one text/plain part, alone or as the only part of
    a multipart/mixed (as mail programs write it with protected headers); else None."""
    part = _part(signed, "the signed content")
    if part.get_content_type() == "multipart/mixed" and isinstance(
            boundary := part.get_param("boundary"), str) and b"\r\n\r\n" in signed:
        body = signed[signed.index(b"\r\n\r\n") + 4:]
        preamble, parts, epilogue = _split_multipart(body, boundary)
        if len(parts) != 1 or preamble.strip() or epilogue.strip():
            return None
        part = _part(parts[0], "the signed content")
    if part.get_content_type() != "text/plain" or part.is_multipart():
        return None
    try:
        text = part.get_content().replace("\r\n", "\n")
    except (LookupError, UnicodeError):
        raise Refusal(Reason.BAD_CONTENT, "the signed text's charset cannot be read") from None
    if bad := forbidden_character(text):
        raise Refusal(Reason.BAD_CONTENT, f"the signed text contains the control character {bad}")
    return text


def _content_parts(signed: bytes) -> tuple[str, str, str, tuple[CarriedImage, ...]]:
    """The appeal, the relay record, the origin key and any images of the signed content,
    strictly."""
    if b"\r\n\r\n" not in signed:
        raise Refusal(Reason.BAD_CONTENT, "the signed content has no headers")
    head = email.parser.BytesHeaderParser(policy=email.policy.default).parsebytes(
        signed[:signed.index(b"\r\n\r\n") + 2])
    if head.get_content_type() != "multipart/mixed":
        raise Refusal(Reason.BAD_CONTENT, f"the signed content is {head.get_content_type()}, "
                                          "not multipart/mixed [appeal, record, origin key]")
    boundary = head.get_param("boundary")
    if not isinstance(boundary, str) or not _BOUNDARY.fullmatch(boundary):
        raise Refusal(Reason.BAD_CONTENT, "the signed content has no valid boundary")
    preamble, parts, epilogue = _split_multipart(signed[signed.index(b"\r\n\r\n") + 4:],
                                                 boundary)
    if preamble.strip() or epilogue.strip():
        raise Refusal(Reason.BAD_CONTENT, "the signed content has text outside its parts")
    if not 3 <= len(parts) <= 3 + MAX_IMAGES:
        raise Refusal(Reason.BAD_CONTENT, f"the signed content has {len(parts)} parts, not "
                                          "[appeal, relay record, origin key] and images")
    shapes = (("text/plain", None), ("text/plain", "relay-record.txt"),
              ("application/pgp-keys", "origin-key.asc"))
    texts = []
    for data, (ctype, filename) in zip(parts, shapes):
        part = _part(data, "a part of the signed content")
        if part.get_content_type() != ctype or part.get_filename() != filename:
            raise Refusal(Reason.BAD_CONTENT, f"expected {ctype} {filename or 'inline'}, found "
                          f"{part.get_content_type()} {'an attachment' if part.get_filename() else 'inline'}")
        charset = (part.get_content_charset() or "us-ascii").lower()
        if ctype == "text/plain" and charset not in ("utf-8", "us-ascii"):
            raise Refusal(Reason.BAD_CONTENT, "the charset is not accepted (only utf-8 or us-ascii)")
        payload = part.get_payload(decode=True)
        texts.append(payload.decode("utf-8"))
    images = tuple(_image_part(data) for data in parts[3:])
    return texts[0], texts[1], texts[2], images


def _image_part(data: bytes) -> CarriedImage:
    part = _part(data, "an image of the signed content")
    name = part.get_filename() or ""
    ctype = part.get_content_type()
    if (not _IMAGE_NAME.fullmatch(name) or ctype != _IMAGE_TYPES[name.rsplit(".", 1)[1]]
            or part.get("Content-Transfer-Encoding", "").lower() != "base64"):
        raise Refusal(Reason.BAD_CONTENT, "a part after the origin key is not a base64 "
                      "image/jpeg image-N.jpg or image/png image-N.png")
    return CarriedImage(name, ctype, part.get_payload(decode=True))


def _check_images(text: str, images: tuple[CarriedImage, ...]) -> None:
    """Images carried must be exactly those the origin's appeal lists (a society that drops
    attachments relays the appeal without them); each must match its SHA-256."""
    if not images:
        return
    # Only the origin's own head counts: the system fields in their order, Images the last.
    lines = text.split("\n")[:len(SYSTEM_KEYS)]
    keys = [match.group(1) if (match := _FIELD.fullmatch(line)) else None for line in lines]
    items = ([item.strip() for item in lines[-1].partition(":")[2].split(",")]
             if keys == list(SYSTEM_KEYS) else [])
    carried = [f"{image.name} sha256:{hashlib.sha256(image.data).hexdigest()}"
               for image in images]
    if carried != items:
        raise Refusal(Reason.IMAGE_MISMATCH, "the images carried are not exactly those the "
                      "origin's signed appeal lists (names and SHA-256, in order)")


def _record(text: str) -> RelayRecord:
    values: dict[str, str] = {}
    for line in text.replace("\r\n", "\n").rstrip("\n").split("\n"):
        match = _FIELD.fullmatch(line)
        if not match or match.group(1) not in _RECORD_KEYS or match.group(1) in values:
            raise Refusal(Reason.BAD_RECORD, "the relay record has an unexpected, repeated or malformed line")
        values[match.group(1)] = (match.group(2) or "").strip()
    if set(values) != set(_RECORD_KEYS) or values["Masbot-Relay"] != "1":
        raise Refusal(Reason.BAD_RECORD, "the relay record lacks fields or has another version")
    try:
        path = tuple(normalise_fingerprint(p) for p in values["Path"].split(","))
        origin = normalise_fingerprint(values["Origin"])
    except ValueError as exc:
        raise Refusal(Reason.BAD_RECORD, f"the relay record: {exc}") from None
    if not values["Revision"].isdigit() or not _APPEAL_ID.fullmatch(values["Appeal-ID"]):
        raise Refusal(Reason.BAD_RECORD, "the relay record's Appeal-ID or Revision is not valid")
    return RelayRecord(origin, values["Origin-Name"], values["Appeal-ID"],
                       int(values["Revision"]), path)


def _parse_block(text: str, what: str) -> Clearsigned:
    try:
        return parse_clearsigned(text)
    except FormatError as exc:
        raise Refusal(Reason(exc.code), f"{what}: {exc}") from None


def _verify_origin(block: Clearsigned, origin_key: str, record: RelayRecord) -> KeyInfo:
    """Verify the appeal with the carried origin key alone; it must be the record's Origin."""
    with Keyring() as origin_ring:
        material = origin_key.encode("ascii", "replace")
        found = [k.fingerprint for k in origin_ring.scan(material)]
        if found != [record.origin]:
            raise Refusal(Reason.ORIGIN_MISMATCH, f"the record names origin {record.origin}, "
                          f"but the carried origin key is {', '.join(found) or 'missing'}")
        try:
            (info,) = origin_ring.add(material, expect=record.origin)
        except KeyringError as exc:
            raise Refusal(Reason.BAD_CONTENT, f"the carried origin key: {exc}") from None
        check = origin_ring.verify_clearsigned(block)
    if check.status in ("expired-key", "revoked-key", "expired-signature"):
        raise Refusal(Reason(check.status), f"the appeal: {check.message}")
    if check.status == "unknown-key":
        raise Refusal(Reason.APPEAL_SIGNATURE, "the appeal is not signed by the origin key "
                                               f"{record.origin} carried in the post")
    if not check.ok or check.fingerprint != record.origin:
        raise Refusal(Reason.APPEAL_SIGNATURE, f"the appeal's signature: {check.message}")
    return info


def _appeal_fields(text: str) -> dict[str, list[str]]:
    """The ``Key: value`` lines at the head of an appeal."""
    fields: dict[str, list[str]] = {}
    for line in text.split("\n"):
        match = _FIELD.fullmatch(line)
        if not match:
            break
        fields.setdefault(match.group(1), []).append((match.group(2) or "").strip())
    return fields


def _check_consistency(text: str, record: RelayRecord, signer: str) -> None:
    fields = _appeal_fields(text)
    ids, revisions = fields.get("Appeal-ID", []), fields.get("Revision", [])
    if ids != [record.appeal_id] or revisions != [str(record.revision)]:
        raise Refusal(Reason.RECORD_MISMATCH, f"the record says {record.appeal_id} revision "
                      f"{record.revision}, the signed appeal says {', '.join(ids) or 'no id'} "
                      f"revision {', '.join(revisions) or 'none'}")
    path = record.path
    if not path or path[0] != record.origin or path[-1] != signer or len(set(path)) != len(path):
        raise Refusal(Reason.PATH_MISMATCH, "the relay path must start with the origin, end "
                      f"with the signer {signer} and name no society twice")


def _verify_inline_mail(raw: bytes, keyring: Keyring, partners: Sequence[Partner]) -> AppealCheck:
    """A single-part text/plain mail whose whole body is one clearsigned block."""
    msg = _part(raw, "the mail")
    charset = (msg.get_content_charset() or "us-ascii").lower()
    if charset not in ("utf-8", "us-ascii"):
        raise Refusal(Reason.MALFORMED, "the charset is not accepted (only utf-8 or us-ascii)")
    try:
        body = (msg.get_payload(decode=True) or b"").decode("utf-8")
    except UnicodeDecodeError:
        raise Refusal(Reason.MALFORMED, "the mail body is not UTF-8") from None
    result = verify_appeal_text(body, keyring)
    if isinstance(result, Refused):
        if result.reason == Reason.NOT_CLEARSIGNED:
            raise Refusal(Reason.UNSIGNED, "the mail is not signed")
        raise Refusal(result.reason, result.message)
    _check_from(_top_headers(raw), result.signer_key, partners, keyring)
    return result


def _fpr(value: str) -> str:
    return "".join(value.split()).upper()


def describe(result: PostCheck | AppealCheck | MailCheck | Refused | Accepted) -> Iterable[str]:
    """Lines for people: who signed, and exactly which text the signatures cover."""
    if isinstance(result, Refused):
        yield f"not verified: {result.reason}: {result.message}"
        return
    if isinstance(result, Accepted):
        yield f"accepted from partner {result.partner.name}"
        result = result.post
    if isinstance(result, MailCheck):
        yield "verified: the complete mail (not a masbot post) is signed by a key in the keyring"
        yield f"signer: {result.signer} ({'; '.join(result.signer_key.uids)})"
        text = result.text
    elif isinstance(result, AppealCheck):
        yield "verified: the complete text is signed by a key in the keyring"
        yield f"signer: {result.signer} ({'; '.join(result.signer_key.uids)})"
        text = result.text
    else:
        yield "verified: the complete post is signed by a key in the keyring"
        yield f"signer: {result.signer} ({'; '.join(result.signer_key.uids)})"
        yield (f"origin: {result.origin} ({'; '.join(result.origin_key_info.uids)}); the "
               "appeal is clearsigned by the origin key carried in the signed post")
        yield f"appeal: {result.record.appeal_id} revision {result.record.revision}"
        yield f"path: {' > '.join(result.record.path)}"
        for image in result.images:
            yield (f"image: {image.name} ({image.content_type}, {len(image.data)} bytes), "
                   "matching its SHA-256 in the signed appeal's Images line")
        text = result.appeal_text
    yield "the signature covers exactly this text (between the rules):"
    yield "-" * 72
    yield from text.rstrip("\n").split("\n")
    yield "-" * 72
