"""Hostile text in every field of every template: refused, or inert in every output.

Each payload goes into each field of each template's valid base request (``test_templates``).
Validation must refuse ``javascript:``/``data:`` links; for whatever passes, the appeal is
built and rendered, and every rendering is checked:

* HTML: only the tags, attributes and link schemes the kit emits (parsed, not grepped);
* Markdown: no raw HTML, and no link syntax other than the society's own https/tel/mailto;
* iCalendar: CRLF line ends only, no CR or LF inside a value;
* share text: no control characters;
* everywhere: no direction-control characters, no evaluated Jinja, nothing of ``Private``;
* mail: the answer and the post built with the title as Subject parse back with exactly the
  headers they were built with.
"""

from __future__ import annotations

import email
import email.policy
import re
import unicodedata
from datetime import datetime, timezone
from html.parser import HTMLParser

import pytest

from masbot.story import answers
from masbot.appeal import canonical as appeals
from masbot.story import templates as forms
from masbot.post import build as post
from masbot.appeal import render
from masbot.story import form as story
from masbot.story import validate
from test_render import assert_valid_ics
from test_templates import BASES, NOW
from test_validate import BASE as BAIL_BASE

CAT = forms.builtin()
ISSUED = datetime(2026, 11, 23, 13, 0, tzinfo=timezone.utc)
URL = "https://anytown.example/appeals/ANYTOWN-2026-0001"
PAYLOADS = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    '<a href="https://ok.example" onclick="alert(1)">x</a>',
    '" onmouseover="alert(1)" x="',
    "<svg/onload=alert(1)>",
    "javascript:alert(1)",
    "[click](javascript:alert(1))",
    "data:text/html;base64,PHNjcmlwdD4=",
    "x\r\nBcc: victim@example.com",
    "x\rX-Injected: yes",
    "\u202eevil\u202c \u2066bidi\u2069 \u200fmark",
    "{{ 7*191 }} {% if true %}J{% endif %} {# c #}",
    "&lt;script&gt; &#106;avascript:",
    "<!-- comment --> <style>x</style>",
    "BEGIN:VEVENT\nX:1",
]
REFUSED_LINKS = ("javascript:", "data:text")
BIDI = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
ALL_BASES = {**BASES, "bail": BAIL_BASE}


def inject(template: str, name: str, payload: str) -> str:
    """The template's base request with ``payload`` put into field ``name``."""
    spec = CAT.template(template).field(name)
    lines = list(ALL_BASES[template])
    where = next((i for i, line in enumerate(lines)
                  if re.match(rf"{re.escape(name)}\s*:", line)), None)
    multi = spec.kind in ("section", "list", "links") or name == "Private"
    piece = f"- {payload}" if spec.kind == "list" else payload
    if where is None:
        lines += [f"{name}:", piece] if multi else [f"{name}: {payload}"]
    elif multi:
        lines.insert(where + 1, piece)
    else:
        lines[where] = f"{lines[where]} {payload}"
    return "\n".join(lines) + "\n"


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []
        self.comments: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))

    def handle_comment(self, data: str) -> None:
        self.comments.append(data)


def assert_inert_html(page: str) -> None:
    parser = _Tags()
    parser.feed(page)
    assert not parser.comments
    for tag, attrs in parser.tags:
        assert tag in render.HTML_TAGS, tag
        allowed = render.HTML_ATTRIBUTES["*"] | render.HTML_ATTRIBUTES.get(tag, set()) | {"rel"}
        for name, value in attrs:
            assert name in allowed and not name.startswith("on"), (tag, name)
            if name == "href":
                assert value.split(":", 1)[0] in render.URL_SCHEMES, value
    assert "<script" not in page.casefold()
    assert not re.search(r"<[^>]*\son\w+\s*=", page)


def assert_inert_markdown(text: str) -> None:
    assert re.search(r"(?<!\\)<", text) is None, "raw HTML in Markdown"
    for m in re.finditer(r"(?<!\\)\[", text):
        link = re.match(r"\[(?:[^\[\]\\]|\\.)*\]\((?:https://|tel:|mailto:)[^\s()<>]*\)",
                        text[m.start():])
        assert link, f"member link syntax in Markdown: {text[m.start():m.start() + 60]!r}"
    for line in text.split("\n"):
        assert not re.match(r"\s{4,}\S", line), "indented code block"


def assert_headers(raw: bytes, expected: list[str], subject_has: str) -> None:
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert [k.casefold() for k in parsed.keys()] == [k.casefold() for k in expected]
    assert "\r" not in parsed["Subject"] and "\n" not in parsed["Subject"]
    assert subject_has in parsed["Subject"]
    head = raw.split(b"\r\n\r\n", 1)[0]
    assert not re.search(rb"(?im)^(bcc|x-injected):", head)


def check_mail(appeal: appeals.Appeal, validation: validate.Validation) -> None:
    subject, body = answers.accepted(appeal, "KEY-123", validation, held=False)
    msg = answers.build(answers.Sender("Anytown Mutual Aid", "help@anytown.example"),
                        "member@example.net", subject, body, in_reply_to="<x@example.net>",
                        now=ISSUED, message_id="<id@anytown.example>")
    assert_headers(msg.as_bytes(), ["From", "To", "Subject", "Date", "Message-ID",
                                    "In-Reply-To", "References", "Auto-Submitted", "Precedence",
                                    "Content-Type", "Content-Transfer-Encoding",
                                    "MIME-Version"], appeal.appeal_id)
    envelope = post.Envelope("Anytown Mutual Aid", "help@anytown.example",
                             ("members@anytown.example",), f"[{appeal.appeal_id}] {appeal.title}",
                             ISSUED, "<post@anytown.example>", reply_to="people@anytown.example")
    raw = post.assemble(b"Content-Type: text/plain\r\n\r\nx\r\n", b"SIG", "8", envelope, "=-b")
    assert_headers(raw, list(post.ALLOWED_HEADERS), appeal.appeal_id)


def check_appeal(appeal: appeals.Appeal, payload: str) -> None:
    outputs = render.kit(appeal, url=URL)
    outputs["canonical"] = appeal.canonical_text()
    assert_inert_html(outputs["appeal.html"])
    assert_inert_markdown(outputs["appeal.md"])
    share, proof = outputs["share.txt"].split("\n\n", 1)  # the text to post, then its proof
    assert not CONTROL.search(share)
    assert not CONTROL.search(proof.removesuffix("\n").replace("\n", " "))
    if "appeal.ics" in outputs:
        assert_valid_ics(outputs["appeal.ics"])
    for name, text in outputs.items():
        assert not BIDI.search(text), name
        assert not any(unicodedata.category(ch) == "Cf" for ch in text), name
        assert "1337" not in text, f"Jinja evaluated in {name}"


def _fields(template: str) -> list[str]:
    return [spec.name for spec in CAT.template(template).fields]


CASES = [(t, f) for t in sorted(ALL_BASES) for f in _fields(t)] + \
        [("update", f) for f in _fields("update")]


def _build(v: validate.Validation) -> appeals.Appeal:
    return appeals.build(v, appeal_id="ANYTOWN-2026-0001", society="Anytown Mutual Aid",
                         updates_to="help@anytown.example", issued=ISSUED, appeal_days=30)


def _validate(text: str) -> validate.Validation:
    return validate.validate(story.parse(text, "", CAT), CAT, NOW)


@pytest.mark.parametrize("template,name", CASES)
def test_payloads_in_every_field(template: str, name: str) -> None:
    previous = _build(_validate("\n".join(BASES["gathering"]) + "\n"))
    for payload in PAYLOADS:
        v = _validate(inject(template, name, payload))
        public = name not in ("Private", "Template")
        if public and any(bad in payload for bad in REFUSED_LINKS):
            assert not v.ok, (name, payload)
        if not v.ok:
            continue
        if template == "update":
            appeal = appeals.revise(previous, v.values, issued=ISSUED, appeal_days=30)
        else:
            appeal = _build(v)
        check_appeal(appeal, payload)
        check_mail(appeal, v)
        if name == "Private":
            rendered = "".join(render.kit(appeal, url=URL).values()) + appeal.canonical_text()
            assert "alert" not in rendered and "Bcc" not in rendered and "evil" not in rendered


@pytest.mark.parametrize("title", [
    "Help\r\nBcc: victim@example.com", "Help\rX-Injected: yes", "Help\nX-Injected: yes",
    "Help\u2028X-Injected: yes", "=?utf-8?q?X-Injected=3A_yes?=", "Help\x00\x1b[31m",
])
def test_titles_cannot_break_mail_headers_even_unvalidated(title: str) -> None:
    v = _validate("\n".join(BASES["gathering"]) + "\n")
    fields = tuple((k, title if k == "Title" else val) for k, val in v.values.items())
    appeal = appeals.Appeal("ANYTOWN-2026-0001", 1, "Anytown Mutual Aid", ISSUED,
                            ISSUED.date(), "open", "help@anytown.example", fields)
    check_mail(appeal, v)
    share = render.share_text(appeal, url=URL)
    assert not CONTROL.search(share)
    assert_valid_ics(render.ics(appeal, url=URL))
    assert_inert_html(render.html(appeal, url=URL))
    assert_inert_markdown(render.markdown(appeal, url=URL))


def test_a_reply_subject_cannot_break_headers() -> None:
    subject = answers.reply_subject("[bail] x\r\nBcc: victim@example.com", "fallback")
    msg = answers.build(answers.Sender("Anytown Mutual Aid", "help@anytown.example"),
                        "member@example.net", subject, "body\n", in_reply_to=None, now=ISSUED,
                        message_id="<id@anytown.example>")
    assert_headers(msg.as_bytes(), ["From", "To", "Subject", "Date", "Message-ID",
                                    "Auto-Submitted", "Precedence", "Content-Type",
                                    "Content-Transfer-Encoding", "MIME-Version"], "Re:")
