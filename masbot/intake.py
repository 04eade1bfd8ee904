"""Turn the raw bytes of an inbound mail into what the pipeline needs, without I/O.

Nothing here keeps the sender's address beyond the :class:`Inbound` object, which lives only
while one message is handled: the address is used for one answer and then forgotten.
"""

from __future__ import annotations

import email
import email.policy
import hashlib
import re
from dataclasses import dataclass, field
from email.message import EmailMessage, Message
from email.utils import getaddresses
from html.parser import HTMLParser

_ADDRESS = re.compile(r"^[^@\s<>(),;:\"\[\]]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+$")
_NO_ANSWER_LOCALPARTS = re.compile(
    r"^(?:mailer-daemon|postmaster|no-?reply|do-?not-?reply|bounces?|daemon|listserv|majordomo"
    r"|owner-.*|.*-(?:owner|request|bounces?))$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Limits:
    """Abuse limits applied before anything else is looked at."""

    max_message_bytes: int = 1_000_000
    max_mime_parts: int = 50
    max_mime_depth: int = 10


@dataclass
class Inbound:
    """One inbound message as the pipeline sees it."""

    digest: str  # SHA-256 of the raw bytes: recognises a message seen before a crash
    subject: str = ""
    body: str = ""
    answer_to: str | None = None  # where one answer may go; None: never answer
    in_reply_to: str | None = None
    automatic: str | None = None  # why this is automatic mail (RFC 3834), if it is
    problem: str | None = None  # why the message cannot be read at all
    attachments: int = 0
    signed: bool = False  # a multipart/signed post (a partner's)
    message: Message | None = field(default=None, repr=False)

    @property
    def ref(self) -> str:
        """An opaque id for logs: says which message without saying whose."""
        return self.digest[:12]


def message_digest(raw: bytes) -> str:
    """SHA-256 hex digest of a message's bytes, with line ends normalised to CRLF."""
    canonical = re.sub(rb"\r?\n", b"\r\n", raw)
    return hashlib.sha256(canonical).hexdigest()


def is_address(text: str) -> bool:
    """True for a bare ``local@domain`` address."""
    return bool(_ADDRESS.match(text))


def _mime_shape(msg: Message, depth: int = 1) -> tuple[int, int]:
    """(number of parts, deepest nesting)."""
    if not msg.is_multipart():
        return 1, depth
    parts, deepest = 1, depth
    for sub in msg.get_payload():
        if not isinstance(sub, Message):
            continue
        n, d = _mime_shape(sub, depth + 1)
        parts += n
        deepest = max(deepest, d)
    return parts, deepest


def automatic_reason(msg: Message) -> str | None:
    """Why ``msg`` must never be answered (RFC 3834 and common practice), or None."""
    auto = str(msg.get("Auto-Submitted", "")).strip().casefold()
    if auto and not auto.startswith("no"):
        return f"Auto-Submitted: {auto.split(';')[0]}"
    precedence = str(msg.get("Precedence", "")).strip().casefold()
    if precedence in ("bulk", "junk", "list", "auto_reply"):
        return f"Precedence: {precedence}"
    for name in ("List-Id", "List-Unsubscribe", "List-Post", "X-Autoreply", "X-Autorespond",
                 "X-Auto-Response-Suppress", "Feedback-ID"):
        if msg.get(name) is not None:
            return f"{name} header"
    if msg.get_content_type() in ("multipart/report", "message/delivery-status"):
        return "delivery report"
    if str(msg.get("Return-Path", "")).strip() == "<>":
        return "null Return-Path (a bounce)"
    return None


def _answer_address(msg: Message) -> str | None:
    for header in ("Reply-To", "From"):
        values = [str(v) for v in msg.get_all(header, [])]
        try:
            pairs = getaddresses(values)
        except Exception:  # noqa: BLE001 - any malformed header simply gives no address
            pairs = []
        for _, addr in pairs:
            if is_address(addr):
                return addr
    return None


class _HTMLText(HTMLParser):
    BLOCKS = frozenset({"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6",
                        "blockquote", "pre", "section", "article", "ul", "ol", "table"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.skip = 0

    def handle_starttag(self, tag: str, attrs) -> None:
        if tag in ("script", "style", "head", "title"):
            self.skip += 1
        elif tag in self.BLOCKS:
            self.out.append("\n")
        if tag == "li":
            self.out.append("- ")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "head", "title"):
            self.skip = max(0, self.skip - 1)
        elif tag in self.BLOCKS:
            self.out.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.skip:
            self.out.append(data)


def html_to_text(html: str) -> str:
    """Readable text from an HTML-only mail: block elements become line breaks."""
    parser = _HTMLText()
    parser.feed(html)
    parser.close()
    text = "".join(parser.out).replace("\xa0", " ")
    lines = [" ".join(line.split()) if not line.startswith("- ") else line.strip()
             for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip() + "\n"


def unflow(text: str, delsp: bool) -> str:
    """Join the soft line breaks of ``format=flowed`` text (RFC 3676)."""
    out: list[str] = []
    carry = ""
    for line in text.split("\n"):
        if line.startswith(" "):
            line = line[1:]  # space-stuffing
        if line.endswith(" ") and line.rstrip() != "--":
            carry += line[:-1] if delsp else line
            continue
        out.append(carry + line)
        carry = ""
    if carry:
        out.append(carry)
    return "\n".join(out)


def _decode(part: Message) -> str:
    try:
        text = part.get_content()
    except (LookupError, UnicodeError, AssertionError):
        payload = part.get_payload(decode=True) or b""
        text = payload.decode("utf-8", errors="replace")
    text = text.replace("\r\n", "\n")
    if part.get_content_type() == "text/html":
        return html_to_text(text)
    if str(part.get_param("format", "")).casefold() == "flowed":
        text = unflow(text, str(part.get_param("delsp", "")).casefold() == "yes")
    return text


def read(raw: bytes, limits: Limits = Limits()) -> Inbound:
    """Read one inbound mail. Never raises: unreadable mail gets ``problem`` set."""
    inbound = Inbound(digest=message_digest(raw))
    if len(raw) > limits.max_message_bytes:
        inbound.problem = f"the message is larger than {limits.max_message_bytes // 1000} kB"
        return inbound
    try:
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        inbound.message = msg
        inbound.subject = " ".join(str(msg.get("Subject", "")).split())[:300]
        inbound.in_reply_to = str(msg.get("Message-ID", "")).strip() or None
        inbound.automatic = automatic_reason(msg)
        inbound.answer_to = None if inbound.automatic else _answer_address(msg)
        if inbound.answer_to and _NO_ANSWER_LOCALPARTS.match(inbound.answer_to.split("@")[0]):
            inbound.automatic = "sent from a no-reply or system address"
            inbound.answer_to = None
        parts, depth = _mime_shape(msg)
        if parts > limits.max_mime_parts or depth > limits.max_mime_depth:
            inbound.problem = (f"the message has too many MIME parts ({parts}, at most "
                               f"{limits.max_mime_parts}) or is nested too deep ({depth}, at most "
                               f"{limits.max_mime_depth})")
            return inbound
        if msg.get_content_type() == "multipart/signed":
            inbound.signed = True
        body = msg.get_body(preferencelist=("plain", "html"))
        if body is not None:
            inbound.body = _decode(body)
        inbound.attachments = sum(1 for _ in msg.iter_attachments()) if msg.is_multipart() else 0
    except Exception as exc:  # noqa: BLE001 - any defect in hostile MIME ends here, with a reason
        inbound.problem = f"the message could not be read as MIME ({type(exc).__name__})"
    return inbound
