"""Verifying posts and clearsigned appeals: what is signed, by whom, and nothing else.

A post (see :mod:`masbot.post.build`) is accepted only when all of it is covered by signatures:

* **The mail is one RFC 3156 ``multipart/signed``** at the top level, with exactly two parts
  (the signed content and one ``application/pgp-signature``), a boundary that occurs nowhere
  else, and nothing outside them: the preamble may only be empty or one of the standard
  boilerplate lines MUAs write (:data:`masbot.post.strictmime.KNOWN_PREAMBLES`, never shown to
  readers), the epilogue only whitespace. Line ends are normalised LF → CRLF first, so files
  saved either way verify. The signed content is exactly the bytes between the first two
  delimiter lines (:mod:`masbot.post.strictmime` reads this structure).
* **The posting society's signature** is one good signature over those bytes by a key in the
  keyring, not expired or revoked (:mod:`masbot.signing.keyring` takes the decision from gpg's parsed
  status). The ``From`` header must name the signer: an address of the signing key's user ids
  (or of the partner pinned to it), and no display name impersonating another known key or
  partner. ``From`` is compared, never used to choose the key.
* **The signed content** (read by :mod:`masbot.post.parts`) is ``multipart/mixed`` with
  exactly the appeal (``text/plain``, one clearsigned block and only blank lines around it),
  ``relay-record.txt`` and ``origin-key.asc``. The appeal must verify against the carried
  origin key alone, whose fingerprint is the record's ``Origin:``; the record's Appeal-ID and
  Revision are the appeal's; the record's path starts with the origin and ends with the
  signer. After the key may come images (base64 ``image-N.jpg``/``.png``), only if they are
  exactly those whose names and SHA-256 the origin's signed appeal lists in its ``Images:``
  head field.

Refusals (:mod:`masbot.post.refusal`) carry a :class:`Reason` (a short stable code) and a message
saying exactly what is wrong, safe to log. Nothing here raises on hostile input.
"""

from __future__ import annotations

import email.errors
import re
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import Message
from typing import Iterable, Sequence

from masbot.relay.partners import Partner
from masbot.signing.fingerprints import normalise
from masbot.signing.armor import (HASH_NAMES, Clearsigned, FormatError, parse_clearsigned,
                          read_signature)
from masbot.signing.keyring import KeyInfo, Keyring, KeyringError, SigCheck
from masbot.post.build import PostImage, RelayRecord
from masbot.post.parts import (check_consistency, check_images, content_parts,
                              plain_content, read_record)
from masbot.post.refusal import Reason, Refusal, Refused
from masbot.post.strictmime import (check_outside, crlf, read_part, signed_params, split_multipart,
                               top_headers, why_not_a_post)

__all__ = ["Accepted", "AppealCheck", "MailCheck", "PostCheck", "Reason",
           "Refused", "check_partner_post", "describe", "looks_signed", "next_record",
           "verify_appeal_text", "verify_document", "verify_post"]


@dataclass(frozen=True)
class AppealCheck:
    """A clearsigned text verified by a key in the keyring."""

    signer: str  # primary fingerprint
    signer_key: KeyInfo
    text: str  # exactly the signed text (see armor.Clearsigned)
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
    images: tuple[PostImage, ...] = ()  # exactly those the signed appeal lists, or none
    ok = True


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
    partner = next((p for p in partners if normalise(p.fingerprint) == result.signer), None)
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
        signer, signer_key = _signer(keyring.verify_clearsigned(block), "the text")
        return AppealCheck(signer, signer_key, block.text,
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


def verify_signed_mail(data: bytes, keyring: Keyring) -> AppealCheck | MailCheck | Refused:
    """A person's signed mail (a moderator's command): PGP/MIME whose signed content is one
    text/plain part, or text and HTML alternatives of it, with or without protected headers;
    or a text/plain mail whose body is one clearsigned block. The From address must be one of
    the signer's; only the signed text is returned. Anything else is refused."""
    return _guarded(_verify_signed_mail, data, keyring)


def _verify_signed_mail(data: bytes, keyring: Keyring) -> AppealCheck | MailCheck:
    raw = crlf(data)
    if top_headers(raw).get_content_type() == "text/plain":
        return _verify_inline_mail(raw, keyring, ())
    result = _verify_post(raw, keyring, (), True, alternative_ok=True)
    if not isinstance(result, MailCheck):
        raise Refusal(Reason.BAD_CONTENT, "a society's post is not a person's signed mail")
    return result


def next_record(check: PostCheck, own_fingerprint: str) -> RelayRecord:
    """The relay record for passing ``check``'s appeal on: the path with us appended."""
    return RelayRecord(origin=check.record.origin, origin_name=check.record.origin_name,
                       appeal_id=check.record.appeal_id, revision=check.record.revision,
                       path=check.record.path + (normalise(own_fingerprint),))


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
    raw = crlf(data)
    head = top_headers(raw)
    if head.get_content_type() == "text/plain":
        return _verify_inline_mail(raw, keyring, partners)
    return _verify_post(raw, keyring, partners, True)


def _verify_post(raw: bytes, keyring: Keyring, partners: Sequence[Partner],
                 plain_ok: bool, alternative_ok: bool = False) -> PostCheck | MailCheck:
    """The checks of the module docstring, in order; raises Refusal at the first failure.

    With ``plain_ok`` an ordinary PGP/MIME mail whose signed content is plain text passes too.
    """
    raw = crlf(raw)
    head = top_headers(raw)
    if head.get_content_type() != "multipart/signed":
        raise Refusal(*why_not_a_post(raw))
    split = raw.index(b"\r\n\r\n")
    boundary, micalg = signed_params(head, raw[:split + 2])
    body = raw[split + 4:]
    preamble, parts, epilogue = split_multipart(body, boundary)
    check_outside(preamble, epilogue, len(parts))
    signed, sig_part = parts
    signature = _signature(sig_part)
    if micalg != "pgp-" + HASH_NAMES[signature.hash_algo].lower():
        raise Refusal(Reason.MALFORMED, "the micalg parameter does not name the signature's hash "
                                        f"{HASH_NAMES[signature.hash_algo]}")
    signer, signer_key = _signer(keyring.verify_detached(signed, signature), "the post")
    _check_from(head, signer_key, partners, keyring)
    if plain_ok and (text := plain_content(signed, alternative_ok)) is not None:
        return MailCheck(signer, signer_key, text)
    appeal, record_text, origin_key, images = content_parts(signed)
    record = read_record(record_text)
    block = _parse_block(appeal, "the appeal")
    origin_info = _verify_origin(block, origin_key, record)
    check_consistency(block.text, record, signer)
    check_images(block.text, images)
    return PostCheck(signer=signer, signer_key=signer_key, origin=record.origin,
                     origin_key_info=origin_info, appeal_text=block.text,
                     clearsigned_appeal=block.armored().decode("utf-8"),
                     origin_key=origin_key, record=record, images=images)


def _signature(data: bytes):
    part = read_part(data, "the signature part")
    if part.get_content_type() != "application/pgp-signature":
        raise Refusal(Reason.MALFORMED, f"the second part is {part.get_content_type()}, not "
                                        "application/pgp-signature")
    payload = part.get_payload(decode=True)
    data = payload if isinstance(payload, bytes) else b""  # None only for a multipart
    try:
        return read_signature(data.decode("ascii"))
    except UnicodeDecodeError:
        raise Refusal(Reason.BAD_ARMOR, "the signature part is not ASCII armor") from None
    except FormatError as exc:
        raise Refusal(Reason(exc.code), f"the post's signature: {exc}") from None


def _sig_refusal(check: SigCheck, what: str) -> tuple[Reason, str]:
    return Reason(check.status), f"{what}: {check.message}"


def _signer(check: SigCheck, what: str) -> tuple[str, KeyInfo]:
    """The primary fingerprint and key of a good signature; raises Refusal for any other."""
    if not check.ok:
        raise Refusal(*_sig_refusal(check, what))
    if check.fingerprint is None or check.key is None:
        # the keyring names the key of every good signature; refuse rather than trust that
        raise Refusal(Reason.BAD_SIGNATURE, f"{what}: the signature names no key")
    return check.fingerprint, check.key


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
    addresses: tuple[Address, ...] = (getattr(header, "addresses", ()) if header is not None
                                      else ())
    if len(addresses) != 1 or not addresses[0].addr_spec or "@" not in addresses[0].addr_spec:
        raise Refusal(Reason.FROM_MISMATCH, "the mail must have exactly one From address")
    pinned = [p for p in partners if normalise(p.fingerprint) == key.fingerprint]
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


def _verify_inline_mail(raw: bytes, keyring: Keyring, partners: Sequence[Partner]) -> AppealCheck:
    """A single-part text/plain mail whose whole body is one clearsigned block."""
    msg = read_part(raw, "the mail")
    charset = (msg.get_content_charset() or "us-ascii").lower()
    if charset not in ("utf-8", "us-ascii"):
        raise Refusal(Reason.MALFORMED, "the charset is not accepted (only utf-8 or us-ascii)")
    payload = msg.get_payload(decode=True)
    data = payload if isinstance(payload, bytes) else b""  # None only for a multipart
    try:
        body = data.decode("utf-8")
    except UnicodeDecodeError:
        raise Refusal(Reason.MALFORMED, "the mail body is not UTF-8") from None
    result = verify_appeal_text(body, keyring)
    if isinstance(result, Refused):
        if result.reason == Reason.NOT_CLEARSIGNED:
            raise Refusal(Reason.UNSIGNED, "the mail is not signed")
        raise Refusal(result.reason, result.message)
    _check_from(top_headers(raw), result.signer_key, partners, keyring)
    return result


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
