"""The signed content of a post, read strictly: the appeal, the relay record, the origin's
key and any images, and whether they agree with each other.

The content is ``multipart/mixed`` with exactly the reading parts (one ``multipart/alternative``
of ``text/plain`` then ``text/html``, both utf-8 and inline), the appeal (``text/plain``
``signed-appeal.txt``, one clearsigned block), ``relay-record.txt`` and ``origin-key.asc``,
then only the images (base64 ``image-N.jpg``/``.png``) whose names and SHA-256 the origin's
signed appeal lists in its ``Images:`` head field. Posts of earlier versions, without the
reading parts and with the appeal inline, are read too. The reading parts are only checked
for shape and then dropped: we render our own from the verified appeal. Every problem raises
:class:`~masbot.post.refusal.Refusal`.
"""

from __future__ import annotations

import email.message
import email.parser
import email.policy
from email.message import EmailMessage, Message
import hashlib
import re

from masbot.signing.fingerprints import parse as parse_fingerprint
from masbot.appeal import MAX_IMAGES, SYSTEM_KEYS
from masbot.signing.armor import forbidden_character
from masbot.post.build import APPEAL_FILE, PostImage, RelayRecord
from masbot.post.refusal import Reason, Refusal
from masbot.post.strictmime import BOUNDARY, KNOWN_PREAMBLES, read_part, split_multipart

_APPEAL_ID = re.compile(r"[A-Z0-9]{2,16}-[0-9]{4}-[0-9]{4,}")
_FIELD = re.compile(r"([A-Za-z][A-Za-z0-9-]*):(?: (.*))?")
_IMAGE_TYPES = {"jpg": "image/jpeg", "png": "image/png"}
_IMAGE_NAME = re.compile(r"image-[1-9][0-9]?\.(jpg|png)")
_RECORD_KEYS = ("Masbot-Relay", "Origin", "Origin-Name", "Appeal-ID", "Revision", "Path")


def _only_parts(data: bytes, part: Message) -> list[bytes] | None:
    """The parts of a multipart, cut strictly, when nothing stands outside them."""
    if not isinstance(boundary := part.get_param("boundary"), str) or b"\r\n\r\n" not in data:
        return None
    preamble, parts, epilogue = split_multipart(data[data.index(b"\r\n\r\n") + 4:], boundary)
    if preamble.strip() not in KNOWN_PREAMBLES | {b""} or epilogue.strip():
        return None
    return parts


def plain_content(signed: bytes, alternative_ok: bool = False) -> str | None:
    """The text of signed content that is one text/plain part, alone or as the only part of
    a multipart/mixed (as mail programs write it with protected headers); else None.

    With ``alternative_ok`` a multipart/alternative of exactly a text/plain and a text/html
    part counts too (what a mail app sends when it writes HTML): its text/plain is the text.
    """
    part = read_part(signed, "the signed content")
    if part.get_content_type() == "multipart/mixed":
        parts = _only_parts(signed, part)
        if parts is None or len(parts) != 1:
            return None
        signed, part = parts[0], read_part(parts[0], "the signed content")
    if alternative_ok and part.get_content_type() == "multipart/alternative":
        parts = _only_parts(signed, part)
        if parts is None or len(parts) != 2:
            return None
        plain, html = (read_part(p, "the signed content") for p in parts)
        if plain.get_content_type() != "text/plain" or html.get_content_type() != "text/html":
            return None
        part = plain
    if part.get_content_type() != "text/plain" or part.is_multipart():
        return None
    # read_part parses with policy.default, whose message class is EmailMessage
    assert isinstance(part, EmailMessage)
    try:
        text = part.get_content().replace("\r\n", "\n")
    except (LookupError, UnicodeError):
        raise Refusal(Reason.BAD_CONTENT, "the signed text's charset cannot be read") from None
    if bad := forbidden_character(text):
        raise Refusal(Reason.BAD_CONTENT, f"the signed text contains the control character {bad}")
    return text


def content_parts(signed: bytes) -> tuple[str, str, str, tuple[PostImage, ...]]:
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
    if not isinstance(boundary, str) or not BOUNDARY.fullmatch(boundary):
        raise Refusal(Reason.BAD_CONTENT, "the signed content has no valid boundary")
    preamble, parts, epilogue = split_multipart(signed[signed.index(b"\r\n\r\n") + 4:],
                                                 boundary)
    if preamble.strip() or epilogue.strip():
        raise Refusal(Reason.BAD_CONTENT, "the signed content has text outside its parts")
    appeal_name = None
    if parts and _is_alternative(parts[0]):
        _check_reading(parts[0])
        parts, appeal_name = parts[1:], APPEAL_FILE
    if not 3 <= len(parts) <= 3 + MAX_IMAGES:
        raise Refusal(Reason.BAD_CONTENT, f"the signed content has {len(parts)} parts, not "
                                          "[reading, appeal, relay record, origin key] and images")
    shapes = (("text/plain", appeal_name), ("text/plain", "relay-record.txt"),
              ("application/pgp-keys", "origin-key.asc"))
    texts = []
    for data, (ctype, filename) in zip(parts, shapes):
        part = read_part(data, "a part of the signed content")
        if part.get_content_type() != ctype or part.get_filename() != filename:
            raise Refusal(Reason.BAD_CONTENT, f"expected {ctype} {filename or 'inline'}, found "
                          f"{part.get_content_type()} {'an attachment' if part.get_filename() else 'inline'}")
        charset = (part.get_content_charset() or "us-ascii").lower()
        if ctype == "text/plain" and charset not in ("utf-8", "us-ascii"):
            raise Refusal(Reason.BAD_CONTENT, "the charset is not accepted (only utf-8 or us-ascii)")
        texts.append(_body(part, "a part of the signed content").decode("utf-8"))
    images = tuple(_image_part(data) for data in parts[3:])
    return texts[0], texts[1], texts[2], images


def _headers(data: bytes) -> email.message.Message:
    return email.parser.BytesHeaderParser(policy=email.policy.default).parsebytes(
        data.split(b"\r\n\r\n", 1)[0] + b"\r\n\r\n")


def _is_alternative(data: bytes) -> bool:
    return _headers(data).get_content_type() == "multipart/alternative"


def _check_reading(data: bytes) -> None:
    """The reading parts: exactly an inline utf-8 text/plain and text/html, nothing else."""
    if b"\r\n\r\n" not in data:
        raise Refusal(Reason.BAD_CONTENT, "the reading parts have no headers")
    head = _headers(data)
    if head.get_filename() is not None or len(head.get_all("Content-Type", [])) != 1:
        raise Refusal(Reason.BAD_CONTENT, "the reading parts are malformed")
    boundary = head.get_param("boundary")
    if not isinstance(boundary, str) or not BOUNDARY.fullmatch(boundary):
        raise Refusal(Reason.BAD_CONTENT, "the reading parts have no valid boundary")
    preamble, parts, epilogue = split_multipart(data[data.index(b"\r\n\r\n") + 4:], boundary)
    if preamble.strip() or epilogue.strip():
        raise Refusal(Reason.BAD_CONTENT, "the reading parts have text outside their parts")
    found = [read_part(p, "a reading part") for p in parts]
    kinds = [(p.get_content_type(), p.get_filename(), (p.get_content_charset() or "").lower())
             for p in found]
    if kinds != [("text/plain", None, "utf-8"), ("text/html", None, "utf-8")]:
        raise Refusal(Reason.BAD_CONTENT, "the reading parts are not exactly an inline utf-8 "
                      "text/plain and text/html")
    for part in found:
        payload = part.get_payload(decode=True)
        try:
            if not isinstance(payload, bytes):
                raise UnicodeDecodeError("utf-8", b"", 0, 0, "no payload")
            payload.decode("utf-8")
        except UnicodeDecodeError:
            raise Refusal(Reason.BAD_CONTENT, "a reading part is not valid utf-8") from None


def _image_part(data: bytes) -> PostImage:
    part = read_part(data, "an image of the signed content")
    name = part.get_filename() or ""
    ctype = part.get_content_type()
    if (not _IMAGE_NAME.fullmatch(name) or ctype != _IMAGE_TYPES[name.rsplit(".", 1)[1]]
            or part.get("Content-Transfer-Encoding", "").lower() != "base64"):
        raise Refusal(Reason.BAD_CONTENT, "a part after the origin key is not a base64 "
                      "image/jpeg image-N.jpg or image/png image-N.png")
    return PostImage(name, ctype, _body(part, "an image of the signed content"))


def _body(part: Message, what: str) -> bytes:
    """The transfer-decoded body of a single (not multipart) part."""
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):  # None for a multipart, which these parts are not
        raise Refusal(Reason.BAD_CONTENT, f"{what} has no body of its own")
    return payload


def check_images(text: str, images: tuple[PostImage, ...]) -> None:
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


def read_record(text: str) -> RelayRecord:
    values: dict[str, str] = {}
    for line in text.replace("\r\n", "\n").rstrip("\n").split("\n"):
        match = _FIELD.fullmatch(line)
        if not match or match.group(1) not in _RECORD_KEYS or match.group(1) in values:
            raise Refusal(Reason.BAD_RECORD, "the relay record has an unexpected, repeated or malformed line")
        values[match.group(1)] = (match.group(2) or "").strip()
    if set(values) != set(_RECORD_KEYS) or values["Masbot-Relay"] != "1":
        raise Refusal(Reason.BAD_RECORD, "the relay record lacks fields or has another version")
    try:
        path = tuple(parse_fingerprint(p) for p in values["Path"].split(","))
        origin = parse_fingerprint(values["Origin"])
    except ValueError as exc:
        raise Refusal(Reason.BAD_RECORD, f"the relay record: {exc}") from None
    if not values["Revision"].isdigit() or not _APPEAL_ID.fullmatch(values["Appeal-ID"]):
        raise Refusal(Reason.BAD_RECORD, "the relay record's Appeal-ID or Revision is not valid")
    return RelayRecord(origin, values["Origin-Name"], values["Appeal-ID"],
                       int(values["Revision"]), path)


def _appeal_fields(text: str) -> dict[str, list[str]]:
    """The ``Key: value`` lines at the head of an appeal."""
    fields: dict[str, list[str]] = {}
    for line in text.split("\n"):
        match = _FIELD.fullmatch(line)
        if not match:
            break
        fields.setdefault(match.group(1), []).append((match.group(2) or "").strip())
    return fields


def check_consistency(text: str, record: RelayRecord, signer: str) -> None:
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
