"""Turn the raw bytes of an inbound mail into what the pipeline needs, without I/O.

Nothing here keeps the sender's address beyond the :class:`Inbound` object, which lives only
while one message is handled: the address is used for one answer and then forgotten.
"""

from __future__ import annotations

import codecs
import email
import email.policy
import hashlib
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from email.message import EmailMessage, Message
from email.parser import BytesParser
from email.utils import getaddresses
from html.parser import HTMLParser
from masbot import addresses
from masbot.lang import N_
from masbot.lang.sentence import Sentence

"""A plain RFC 5322 dot-atom address: what an answer can be sent to and written in To."""
_NO_ANSWER_LOCALPARTS = re.compile(
    r"^(?:mailer-daemon|postmaster|no[-_.]?reply|do[-_.]?not[-_.]?reply|bounces?|daemon"
    r"|listserv|majordomo|owner-.*|.*-(?:owner|request|bounces?))$",
    re.IGNORECASE,
)
_MESSAGE_ID = re.compile(r"^<[^<>\s]{1,250}>$")
_ATOMS = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
_PLAIN_ADDRESS = re.compile(
    rf"\s*(?:[^\"(),.:;<>@\[\]\\]*<({_ATOMS}@{_ATOMS})>|({_ATOMS}@{_ATOMS}))\s*")
_FOLD = re.compile(r"\r?\n[ \t]*|\r")
_HEADER_END = re.compile(rb"\r?\n\r?\n")
_LATIN_1 = frozenset({"iso-8859-1", "iso8859-1", "iso_8859-1", "latin1", "latin-1", "l1",
                      "cp819", "ibm819", "iso-ir-100", "us-ascii", "ascii", "ansi_x3.4-1968"})
"""Charset labels read as windows-1252, as browsers do (WHATWG Encoding): phones that say
ISO-8859-1 or US-ASCII often send windows-1252 quotes and dashes."""
_HEADERS_ONLY_BYTES = 64_000


if TYPE_CHECKING:
    _EmailPolicy = email.policy.EmailPolicy[EmailMessage]
else:
    _EmailPolicy = email.policy.EmailPolicy


class _ReadPolicy(_EmailPolicy):
    """``policy.default``, but a header's value is read as the plain string compat32 gives.

    The default policy builds a header-registry object every time a header is read (the
    Content-Type alone several times per part), which was most of the cost of reading a mail.
    Nothing here needs those objects but ``get_body`` (the Content-Disposition): addresses are
    read from the raw values, parameters by the Message methods that take strings, and the
    Subject is decoded on its own (:func:`_subject`).
    """

    def header_fetch_parse(self, name: str, value: str) -> Any:
        if name.casefold() == "content-disposition":  # get_body asks it for an object
            return super().header_fetch_parse(name, value)
        return email.policy.compat32.header_fetch_parse(name, value)


_POLICY = _ReadPolicy()


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
    problem: str | None = None  # why the message cannot be read at all (a Sentence: English)
    attachments: int = 0  # attachments other than images
    images: list[bytes] = field(default_factory=list, repr=False)  # image parts, as sent
    signed: bool = False  # a multipart/signed mail
    relay_post: bool = False  # carries a masbot relay record: a society's post
    from_addresses: tuple[str, ...] = ()  # From, Sender, Reply-To and List-Post addresses
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
    """True for a bare ASCII ``local@domain`` address (one an answer can be sent to without
    SMTPUTF8)."""
    return addresses.is_public_address(text)


def _mime_shape(msg: Message, stop_depth: int = 1000) -> tuple[int, int]:
    """(number of parts, deepest nesting); stops counting below ``stop_depth`` levels."""
    parts, deepest = 0, 0
    todo: list[tuple[Message, int]] = [(msg, 1)]
    while todo:
        part, depth = todo.pop()
        parts += 1
        deepest = max(deepest, depth)
        if part.is_multipart() and depth < stop_depth:
            payload = part.get_payload()
            if isinstance(payload, list):
                todo.extend((sub, depth + 1) for sub in payload if isinstance(sub, Message))
    return parts, deepest


def _raw_header(msg: Message, name: str) -> list[str]:
    """The raw values of header ``name``, unfolded; never parsed (so never raises)."""
    wanted = name.casefold()
    return [_FOLD.sub(" ", str(value)).strip()
            for key, value in msg.raw_items() if str(key).casefold() == wanted]


def _first(msg: Message, name: str) -> str:
    values = _raw_header(msg, name)
    return values[0] if values else ""


def automatic_reason(msg: Message) -> str | None:
    """Why ``msg`` must never be answered (RFC 3834 and common practice), or None."""
    auto = _first(msg, "Auto-Submitted").casefold()
    if auto and not auto.startswith("no"):
        return f"Auto-Submitted: {auto.split(';')[0].strip()}"
    precedence = _first(msg, "Precedence").casefold()
    if precedence in ("bulk", "junk", "list", "auto_reply"):
        return f"Precedence: {precedence}"
    for name in ("List-Id", "List-Unsubscribe", "List-Post", "X-Autoreply", "X-Autorespond",
                 "X-Auto-Response-Suppress", "Feedback-ID"):
        if _raw_header(msg, name):
            return f"{name} header"
    if msg.get_content_type() in ("multipart/report", "message/delivery-status"):
        return "delivery report"
    if "".join(_first(msg, "Return-Path").split()) == "<>":
        return "null Return-Path (a bounce)"
    return None


def _addresses(msg: Message, header: str) -> list[str]:
    """The usable addresses in ``header``, read from the raw value (no decoding needed)."""
    values = _raw_header(msg, header)
    if len(values) == 1 and (plain := _PLAIN_ADDRESS.fullmatch(values[0])):
        addr = plain.group(1) or plain.group(2)  # "Name <a@b>" or "a@b", as getaddresses reads them
        return [addr] if is_address(addr) else []
    try:
        pairs = getaddresses(values)
    except Exception:  # noqa: BLE001 - any malformed header simply gives no address
        return []
    return [addr for _, addr in pairs if is_address(addr)]


def _is_system_address(address: str) -> bool:
    local = address.rsplit("@", 1)[0].split("+", 1)[0]
    return bool(_NO_ANSWER_LOCALPARTS.match(local))


def _subject(msg: Message) -> str:
    raw = next((value for key, value in msg.raw_items() if key.casefold() == "subject"), "")
    if isinstance(raw, str) and raw.isascii() and "=?" not in raw:
        return " ".join(raw.split())[:300]  # nothing to decode: no header object needed
    try:
        subject = str(email.policy.default.header_factory("subject", raw))
    except Exception:  # noqa: BLE001 - an undecodable subject is shown raw
        subject = _first(msg, "Subject")
    return " ".join(subject.split())[:300]


def _read_headers(msg: Message, inbound: Inbound) -> None:
    """Subject, Message-ID, and whether and where to answer: from the headers alone."""
    inbound.subject = _subject(msg)
    message_id = "".join(_first(msg, "Message-ID").split())
    inbound.in_reply_to = message_id if _MESSAGE_ID.match(message_id) else None
    inbound.automatic = automatic_reason(msg)
    found = {name: _addresses(msg, name) for name in ("From", "Sender", "Reply-To", "List-Post")}
    senders = found["From"] + found["Reply-To"]
    if inbound.automatic is None and any(_is_system_address(a) for a in senders):
        inbound.automatic = "sent from a no-reply or system address"
    inbound.answer_to = None if inbound.automatic else next(
        iter(found["Reply-To"] + found["From"]), None)
    inbound.from_addresses = tuple(
        a.casefold() for name in ("From", "Sender", "Reply-To", "List-Post")
        for a in found[name])
    list_id = _first(msg, "List-Id")
    if "<" in list_id:  # "<in.riverside.test>" names the list in.riverside.test
        inbound.from_addresses += (list_id.split("<", 1)[1].split(">", 1)[0].strip().casefold(),)


class _HTMLText(HTMLParser):
    """Collects the text of an HTML mail with one line per block, as the member saw it."""

    LINES = frozenset({"div", "li", "tr", "ul", "ol", "dl", "dt", "dd", "section", "article",
                       "header", "footer", "main", "nav", "form", "fieldset", "address",
                       "center", "hr", "table", "tbody", "thead", "tfoot", "caption"})
    PARAGRAPHS = frozenset({"p", "h1", "h2", "h3", "h4", "h5", "h6", "pre"})
    SKIP = frozenset({"script", "style", "head", "title", "blockquote", "template", "noscript"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.newlines = 1  # trailing line breaks of the output; the start counts as one
        self.skip = 0
        self.pre = 0
        self.href: str | None = None  # the https link of the <a> being read
        self.link_start = 0  # where its text starts in out

    def _write(self, text: str) -> None:
        if text:
            self.out.append(text)
            stripped = text.rstrip("\n")
            self.newlines = len(text) - len(stripped) + (self.newlines if not stripped else 0)

    def _break(self, count: int) -> None:
        """End the current line, leaving ``count`` line breaks (2: a blank line)."""
        if self.out and self.newlines < count:
            self._write("\n" * (count - self.newlines))

    def handle_starttag(self, tag: str, attrs) -> None:
        if tag in self.SKIP:
            self.skip += 1
        elif self.skip:
            return
        elif tag == "br":
            self._write("\n")
        elif tag == "a":
            href = (dict(attrs).get("href") or "").strip()
            self.href = href if re.match(r"(?i)https?://", href) else None
            self.link_start = len(self.out)
        elif tag in self.PARAGRAPHS:
            self._break(2)
            self.pre += tag == "pre"
        elif tag in self.LINES:
            self._break(1)
            if tag == "li":
                self._write("- ")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.SKIP:
            self.skip = max(0, self.skip - 1)
        elif self.skip:
            return
        elif tag == "a" and self.href:
            # A member's link is its address, not its words: "Donate: <a href=...>give
            # here</a>" becomes "Donate: https://...". The text is kept when it is the address.
            text = "".join(self.out[self.link_start:])
            if text.strip() and text.strip() not in (self.href, self.href.rstrip("/")):
                lead = text[:len(text) - len(text.lstrip())]
                del self.out[self.link_start:]
                self._write(lead + self.href)
            self.href = None
        elif tag in self.PARAGRAPHS:
            self._break(2)
            self.pre = max(0, self.pre - (tag == "pre"))
        elif tag in self.LINES:
            self._break(1)

    def handle_data(self, data: str) -> None:
        if self.skip:
            return
        if not self.pre:
            data = re.sub(r"\s+", " ", data)
            if self.newlines:
                data = data.lstrip(" ")
        self._write(data)


def html_to_text(html: str) -> str:
    """Readable text from an HTML-only mail: block elements become line breaks, paragraphs
    are separated by a blank line, list items start with ``- ``, and quoted originals
    (``<blockquote>``), scripts and styles are left out."""
    parser = _HTMLText()
    try:
        parser.feed(html)
        parser.close()
    except Exception:  # noqa: BLE001 - keep whatever text was read before the defect
        pass
    lines = [line.rstrip() for line in "".join(parser.out).split("\n")]
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip("\n")
    return text + "\n" if text else ""


def unflow(text: str, delsp: bool) -> str:
    """Join the soft line breaks of ``format=flowed`` text (RFC 3676).

    A line ending in a space continues on the next line of the same quote depth; the
    signature line ``-- `` never does; a leading space (space-stuffing) is removed.
    """
    out: list[str] = []
    carry: str | None = None
    carry_depth = 0
    for line in text.split("\n"):
        depth = len(line) - len(line.lstrip(">"))
        prefix, content = line[:depth], line[depth:]
        if depth == 0 and content.startswith(" "):
            content = content[1:]  # space-stuffing
        if carry is not None and depth != carry_depth:
            out.append(carry)  # a flowed line followed by another quote depth ends there
            carry = None
        flowed = content.endswith(" ") and not (depth == 0 and content == "-- ")
        piece = content[:-1] if flowed and delsp else content
        carry = prefix + piece if carry is None else carry + piece
        carry_depth = depth
        if not flowed:
            out.append(carry)
            carry = None
    if carry is not None:
        out.append(carry)
    return "\n".join(out)


def _charset(part: Message) -> str:
    """The codec to read ``part`` with: its declared charset, the way browsers read it."""
    label = (part.get_content_charset() or "us-ascii").strip().casefold()
    if label in _LATIN_1:
        return "cp1252"
    try:
        return codecs.lookup(label).name
    except LookupError:
        return "utf-8"


def _decode(part: Message) -> str:
    """The text of a text/plain or text/html part, never raising for bad bytes."""
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        payload = str(part.get_payload()).encode("utf-8", "replace")
    charset = _charset(part)
    try:
        if charset == "cp1252":
            try:
                text = payload.decode("utf-8")  # mislabelled UTF-8 is the commonest case
            except UnicodeDecodeError:
                text = payload.decode("cp1252", errors="replace")
        else:
            text = payload.decode(charset, errors="replace")
    except (LookupError, ValueError):  # not a text codec after all
        text = payload.decode("utf-8", errors="replace")
    text = text.replace("\r\n", "\n")
    if part.get_content_type() == "text/html":
        return html_to_text(text)
    if str(part.get_param("format", "")).casefold() == "flowed":
        text = unflow(text, str(part.get_param("delsp", "")).casefold() == "yes")
    return text


def _headers_only(raw: bytes) -> Message:
    """The headers of a message too large to read whole."""
    end = _HEADER_END.search(raw, 0, _HEADERS_ONLY_BYTES)
    head = raw[:end.start()] if end else raw[:_HEADERS_ONLY_BYTES]
    return BytesParser(policy=_POLICY).parsebytes(head + b"\r\n\r\n", headersonly=True)


def read(raw: bytes, limits: Limits = Limits()) -> Inbound:
    """Read one inbound mail. Never raises: unreadable mail gets ``problem`` set.

    Whom to answer (or that the mail is automatic and gets no answer) is known even for a
    message that is too large or too complex to read, so its sender can be told why.
    Automatic mail is known from its headers alone, and its body is never read (nothing
    uses it: it gets no answer, and a partner's post is verified from the raw bytes).
    """
    inbound = Inbound(digest=message_digest(raw))
    try:
        if len(raw) > limits.max_message_bytes:
            inbound.problem = Sentence(N_("the message is larger than {kb} kB"),
                                       kb=limits.max_message_bytes // 1000)
            _read_headers(_headers_only(raw), inbound)
            return inbound
        head = _headers_only(raw)
        _read_headers(head, inbound)
        if inbound.automatic is not None:
            _mark_signed(head, raw, inbound)
            return inbound
        try:
            msg = email.message_from_bytes(raw, policy=_POLICY)
        except RecursionError:  # the stdlib parser recurses once per nesting level
            inbound.problem = _too_deep(limits)
            return inbound
        inbound.message = msg
        parts, depth = _mime_shape(msg, limits.max_mime_depth + 1)
        if depth > limits.max_mime_depth:
            inbound.problem = _too_deep(limits)
            return inbound
        if parts > limits.max_mime_parts:
            inbound.problem = Sentence(N_("the message has too many MIME parts ({parts}; at "
                                          "most {most})"), parts=parts, most=limits.max_mime_parts)
            return inbound
        _mark_signed(msg, raw, inbound)
        body = msg.get_body(preferencelist=("plain", "html"))
        if body is not None:
            inbound.body = _decode(body)
        _collect_attachments(msg, body, inbound)
    except Exception as exc:  # noqa: BLE001 - any defect in hostile MIME ends here, with a reason
        inbound.problem = Sentence(N_("the message could not be read as MIME ({error})"),
                                   error=type(exc).__name__)
    return inbound


def _mark_signed(msg: Message, raw: bytes, inbound: Inbound) -> None:
    """A multipart/signed mail is ``signed``, and a ``relay_post`` when it carries a record."""
    if msg.get_content_type() == "multipart/signed":
        inbound.signed = True
        inbound.relay_post = b"masbot-relay: 1" in raw.lower()


def _collect_attachments(msg: Message, body: Message | None, inbound: Inbound) -> None:
    """Attached images (and inline ones that carry a file name) in ``inbound.images``; a
    count of every other attachment.

    Parts inside ``multipart/related`` belong to an HTML body (signature logos, tracking
    pixels) and are neither collected nor counted, unless marked as an attachment (as some
    mail programs send a photo added to a formatted message). Nothing here decodes an image.
    """
    if not msg.is_multipart():
        return
    stack = [(msg, False)]
    while stack:  # iterative: the depth was checked, but recursion is not needed
        part, related = stack.pop()
        if part.is_multipart():
            inner = related or part.get_content_subtype() == "related"
            children = part.get_payload()
            assert isinstance(children, list)  # a multipart's payload is the list of its parts
            stack.extend((child, inner) for child in reversed(children)
                         if isinstance(child, Message))
            continue
        disposition = part.get_content_disposition()
        if part is body or (related and disposition != "attachment"):
            continue
        if part.get_content_maintype() == "image" and (
                disposition == "attachment" or part.get_filename()):
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes) and payload:
                inbound.images.append(payload)
        elif disposition == "attachment" or part.get_content_maintype() not in ("text", "message"):
            inbound.attachments += 1


def _too_deep(limits: Limits) -> str:
    return Sentence(N_("the message's MIME parts are nested more than {levels} levels deep"),
                    levels=limits.max_mime_depth)
