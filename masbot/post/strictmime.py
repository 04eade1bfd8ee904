"""Reading a signed mail strictly: one structure, the same for every parser.

A multipart is cut at its delimiter lines by hand (:func:`split_multipart`), any other line
that starts with the boundary is refused, and nothing may stand outside the parts but the
boilerplate preambles mail programs write. Line ends are normalised LF -> CRLF first, so files
saved either way verify. Every problem raises :class:`~masbot.post.refusal.Refusal`.
"""

from __future__ import annotations

import email
import email.errors
import email.parser
import email.policy
import re
from email.message import Message

from masbot.post.refusal import Reason, Refusal

MAX_BYTES = 10_000_000
KNOWN_PREAMBLES = frozenset({
    b"This is an OpenPGP/MIME signed message (RFC 4880 and 3156)",
    b"This is a multi-part message in MIME format.",
    b"This is a MIME-formatted message.",
    b"This is a multipart message in MIME format.",
})
"""Boilerplate preambles accepted before the first boundary (exactly, alone)."""
BOUNDARY = re.compile(r"[0-9A-Za-z'()+_,\-./:=? ]{0,69}[0-9A-Za-z'()+_,\-./:=?]")


HEADERS_ONLY_ARTEFACTS = (email.errors.MultipartInvariantViolationDefect,)
"""Defects a headers-only parse reports about a body it never read: CPython before 3.11.5
(Debian 12 ships 3.11.2) flags every multipart Content-Type so (gh-106186). The body's
structure is checked by :func:`split_multipart` instead."""


def crlf(raw: bytes) -> bytes:
    if len(raw) > MAX_BYTES:
        raise Refusal(Reason.MALFORMED, f"the mail is larger than {MAX_BYTES // 1_000_000} MB")
    raw = raw.replace(b"\r\n", b"\n")
    if b"\r" in raw or b"\x00" in raw:
        raise Refusal(Reason.MALFORMED, "the mail contains a NUL or a carriage return that "
                                        "ends no line")
    return raw.replace(b"\n", b"\r\n")


def top_headers(raw: bytes) -> Message:
    if b"\r\n\r\n" not in raw:
        raise Refusal(Reason.MALFORMED, "the mail has no blank line after its headers")
    head = raw[:raw.index(b"\r\n\r\n") + 2]
    msg = email.parser.BytesHeaderParser(policy=email.policy.default).parsebytes(head)
    defects = [d for d in msg.defects if not isinstance(d, HEADERS_ONLY_ARTEFACTS)]
    if defects:
        raise Refusal(Reason.MALFORMED, "the mail's headers are malformed "
                                        f"({type(defects[0]).__name__})")
    for name in ("Content-Type", "Content-Transfer-Encoding", "MIME-Version", "From"):
        if len(msg.get_all(name, [])) > 1:
            raise Refusal(Reason.MALFORMED, f"the mail has more than one {name} header")
    return msg


def why_not_a_post(raw: bytes) -> tuple[Reason, str]:
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


def signed_params(head: Message, raw_head: bytes) -> tuple[str, str]:
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
    if not BOUNDARY.fullmatch(boundary):
        raise Refusal(Reason.MALFORMED, "the multipart boundary is missing or not valid")
    cte = (head.get("Content-Transfer-Encoding") or "7bit").strip().lower()
    if cte not in ("7bit", "8bit", "binary"):
        raise Refusal(Reason.MALFORMED, "a multipart must not have a Content-Transfer-Encoding "
                                        "other than 7bit, 8bit or binary")
    return boundary, values.get("micalg", "").lower()


def split_multipart(body: bytes, boundary: str) -> tuple[bytes, list[bytes], bytes]:
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


def check_outside(preamble: bytes, epilogue: bytes, count: int) -> None:
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


def read_part(data: bytes, what: str) -> Message:
    part = email.message_from_bytes(data, policy=email.policy.default)
    if part.defects:
        raise Refusal(Reason.MALFORMED, f"{what} is malformed ({type(part.defects[0]).__name__})")
    return part
