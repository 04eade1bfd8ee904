"""Property tests for the pure core: whatever comes in, nothing escapes and every outcome is
explained.

* random text and random ``Key: value`` forms through ``story.parse`` + ``validate.validate``;
* random bytes and mutated real mails through ``intake.read`` + ``pipeline.run`` (and the
  answer being built, when there is one);
* every sample mail of CPython's own email test suite, when it is installed.
"""

from __future__ import annotations

import email
import email.policy
import sysconfig
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import masbot
from masbot.story import answers
from masbot.appeal import canonical as appeal
from masbot.story import templates as forms
from masbot.intake import message as intake
from masbot.intake import classify as pipeline
from masbot.story import form as story
from masbot.story import validate

TODAY = date(2026, 11, 23)
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)
CAT = forms.builtin()
CTX = pipeline.Context(CAT, "Anytown Mutual Aid Society", TODAY)
SENDER = answers.Sender("Anytown Mutual Aid Society", "mas@anytown.example")
SAMPLES = sorted((Path(masbot.__file__).parent / "samples").glob("*.eml"))
KINDS = {"request", "invalid", "help", "template", "not-a-request", "automatic", "unreadable",
         "partner-post", "update", "moderation", "reader-reply"}

FUZZ = settings(max_examples=300, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def _sample(path: Path) -> bytes:
    return path.read_bytes().replace(b"@IN_20_DAYS@", (TODAY + timedelta(days=20)).isoformat().encode())


SAMPLE_BYTES = [_sample(p) for p in SAMPLES]


# --- checks shared by the properties -------------------------------------------------------


def check_validation(form: story.Form, v: validate.Validation) -> None:
    assert isinstance(v, validate.Validation)
    for issue in v.issues:
        assert issue.message and issue.severity in ("error", "warning")
        assert issue.line is None or 1 <= issue.line <= max(1, len(form.lines))
    if v.ok:
        assert v.template is not None
        a = appeal.build(v, appeal_id="ANYTOWN-2026-0001", society="Anytown",
                         updates_to="mas@anytown.example", issued=NOW, appeal_days=30)
        text = a.canonical_text()
        assert text.endswith("\n")
        assert all(ord(ch) >= 32 or ch == "\n" for ch in text)
    else:
        assert v.errors
        answers.annotated(form, v)  # must render


def check_verdict(msg: intake.Inbound, verdict: pipeline.Verdict) -> None:
    assert isinstance(verdict, pipeline.Verdict)
    assert verdict.kind in KINDS
    assert verdict.reason.strip()
    assert verdict.trace and verdict.trace[-1] in dict(pipeline.STEPS)
    if verdict.kind in ("automatic", "partner-post"):
        assert verdict.answer_body is None
    if msg.automatic:
        assert msg.answer_to is None
    if msg.answer_to is not None:
        assert intake.is_address(msg.answer_to)
    if verdict.answer_body is not None and msg.answer_to is not None:
        out = answers.build(SENDER, msg.answer_to, verdict.answer_subject or "Your request",
                            verdict.answer_body, in_reply_to=msg.in_reply_to, now=NOW,
                            message_id="<fuzz@anytown.example>").as_bytes()
        parsed = email.message_from_bytes(out, policy=email.policy.default)
        assert parsed["Auto-Submitted"] == "auto-replied"
        assert parsed["To"] == msg.answer_to


def through_pipeline(raw: bytes, limits: intake.Limits = intake.Limits()) -> None:
    msg = intake.read(raw, limits)
    assert isinstance(msg, intake.Inbound)
    check_verdict(msg, pipeline.run(msg, CTX))


# --- forms ---------------------------------------------------------------------------------


@FUZZ
@given(st.text(max_size=2000), st.text(max_size=80))
def test_random_text_never_breaks_the_parser(body: str, subject: str) -> None:
    form = story.parse(body, subject, CAT)
    check_validation(form, validate.validate(form, CAT, TODAY))


def _spelling(key: str) -> st.SearchStrategy[str]:
    return st.sampled_from([key, key.lower(), key.upper(), key.replace("-", "_"),
                            key.replace("-", " "), f"  {key} "])


KEYS = sorted({spec.name for tpl in CAT.templates.values() for spec in tpl.fields}
              | {s for tpl in CAT.templates.values() for spec in tpl.fields for s in spec.synonyms}
              | {"Phone", "DOB", "Booking"})
VALUES = st.one_of(
    st.sampled_from([
        "bail", "self", "champion", "direct", "prior", "lawyer", "pending", "fund", "donors",
        "2500 USD", "2,500.50 usd", "€300", "$300", "1.234,56 EUR", "0 USD", "99999999999 USD",
        "ASAP", "2026-12-18", "2020-01-01", "18th December 2026", "2099-01-01",
        "https://fund.example/give", "http://x.example", "https://bit.ly/x", "javascript:alert(1)",
        "data:text/html,x", "@handle", "Venmo: @sam", "$cash", "Anytown, OR", "12 Elm Street",
        "booking #2026-1145", "DOB 1990-01-01", "123-45-6789", "A123456789", "Samuel Rivera",
        "503 555 0100", "jo@example.org", "yes", "no", "en", "es-MX", "a, b, c", "", " ",
        "\u202etxet\u202c", "x" * 500,
    ]),
    st.text(max_size=60),
)
LINE = st.one_of(
    st.tuples(st.sampled_from(KEYS).flatmap(_spelling), VALUES).map(lambda kv: f"{kv[0]}: {kv[1]}"),
    st.sampled_from(KEYS).flatmap(_spelling).map(lambda k: f"{k}:"),
    VALUES.map(lambda v: f"- {v}"),
    st.sampled_from(["", "-- ", "> Title: quoted", "Story:", "---", "\u2028", "\r"]),
    st.text(max_size=40),
)


@FUZZ
@given(st.lists(LINE, max_size=40), st.sampled_from(["", "[bail] x", "Re: [BAIL] y", "[nope] z"]))
def test_random_forms_validate_without_raising(lines: list[str], subject: str) -> None:
    form = story.parse("\n".join(lines), subject, CAT)
    check_validation(form, validate.validate(form, CAT, TODAY))


REQUIRED_FORM = (Path(masbot.__file__).parent / "samples" / "01-bail-self.eml").read_text(
    encoding="utf-8").split("\n\n", 1)[1]


@FUZZ
@given(st.data())
def test_a_valid_form_with_one_line_changed(data: st.DataObject) -> None:
    lines = REQUIRED_FORM.split("\n")
    at = data.draw(st.integers(0, len(lines) - 1))
    lines[at] = data.draw(LINE)
    form = story.parse("\n".join(lines), "[bail] x", CAT)
    check_validation(form, validate.validate(form, CAT, TODAY))


# --- mail ----------------------------------------------------------------------------------


@FUZZ
@given(st.binary(max_size=3000))
def test_random_bytes(raw: bytes) -> None:
    through_pipeline(raw)


HEADERS = st.sampled_from([
    b"From: a@example.com", b"From: <>", b"From: =?utf-8?q?a=0Ab?= <a@example.com>",
    b"Reply-To: noreply@x.example", b"Auto-Submitted: auto-replied", b"Precedence: bulk",
    b"Content-Type: multipart/mixed; boundary=x", b"Content-Type: text/html; charset=utf-7",
    b"Content-Type: text/plain; charset=rot13", b"Content-Type: text/plain; charset=base64",
    b"Content-Transfer-Encoding: base64", b"Content-Transfer-Encoding: quoted-printable",
    b"Content-Type: text/plain; format=flowed; delsp=yes", b"Message-ID: <a@b>",
    b"Message-ID: (((", b"Subject: =?utf-8?b?W2JhaWxdIA==?=", b"Subject: =?x-bad?q?x?=",
    b"Content-Type: multipart/signed; boundary=B", b"Return-Path: <>", b"X: \xff\xfe",
    b"Content-Type: message/rfc822", b"Content-Disposition: attachment",
])


@FUZZ
@given(st.sampled_from(SAMPLE_BYTES), st.data())
def test_mutated_real_mails(raw: bytes, data: st.DataObject) -> None:
    raw = bytearray(raw)
    for _ in range(data.draw(st.integers(1, 6))):
        op = data.draw(st.sampled_from(["flip", "insert", "delete", "header", "cut", "dup"]))
        at = data.draw(st.integers(0, len(raw)))
        if op == "flip" and raw:
            raw[min(at, len(raw) - 1)] = data.draw(st.integers(0, 255))
        elif op == "insert":
            raw[at:at] = data.draw(st.binary(min_size=1, max_size=20))
        elif op == "delete":
            del raw[at:at + data.draw(st.integers(1, 40))]
        elif op == "header":
            raw[0:0] = data.draw(HEADERS) + b"\r\n"
        elif op == "cut":
            del raw[at:]
        elif op == "dup":
            raw[at:at] = raw[:at][-200:]
    through_pipeline(bytes(raw))


@FUZZ
@given(st.sampled_from(SAMPLE_BYTES), st.integers(200, 5000), st.integers(1, 4),
       st.integers(1, 60))
def test_real_mails_under_tight_limits(raw: bytes, size: int, depth: int, parts: int) -> None:
    through_pipeline(raw, intake.Limits(max_message_bytes=size, max_mime_parts=parts,
                                        max_mime_depth=depth))


def test_the_shipped_samples() -> None:
    kinds = [pipeline.run(intake.read(raw), CTX).kind for raw in SAMPLE_BYTES]
    assert kinds == ["request", "request", "invalid", "help", "not-a-request", "automatic",
                     "request", "request"]


# --- CPython's email test data -------------------------------------------------------------

STDLIB_EMAIL_DATA = Path(sysconfig.get_paths()["stdlib"]) / "test" / "test_email" / "data"


@pytest.mark.skipif(not STDLIB_EMAIL_DATA.is_dir(),
                    reason="CPython's test.test_email data directory is not installed")
def test_cpython_email_test_data() -> None:
    files = sorted(p for p in STDLIB_EMAIL_DATA.iterdir()
                   if p.is_file() and p.suffix in (".txt", ".eml", ".msg", ".mbox"))
    assert files
    for path in files:
        raw = path.read_bytes()
        msg = intake.read(raw)
        verdict = pipeline.run(msg, CTX)
        try:
            check_verdict(msg, verdict)
        except AssertionError as exc:  # pragma: no cover - names the file that broke
            raise AssertionError(f"{path.name}: {exc}") from exc
