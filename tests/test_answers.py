"""Answers to the sender (:mod:`masbot.story.answers`): what they say and what they never carry.

An answer may carry the original's subject (as ``Re: ...``) and its Message-ID (as
In-Reply-To/References) and nothing else from the original's headers.
"""

from __future__ import annotations

import email
import email.policy
from datetime import date, datetime, timezone

import pytest

from masbot.story import answers
from masbot.appeal import canonical as appeal
from masbot.story import templates as forms
from masbot.intake import message as intake
from masbot.intake import classify as pipeline
from masbot.story import form as story
from masbot.story import validate

TODAY = date(2026, 11, 23)
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=timezone.utc)
CAT = forms.builtin()
SENDER = answers.Sender("Anytown Mutual Aid Society", "mas@anytown.example")
CTX = pipeline.Context(CAT, SENDER.name, TODAY)

NOSY = b"""\
Received: from phone.secret-isp.example (203.0.113.77) by mx.anytown.example
Return-Path: <bounce-77@secret-isp.example>
From: Jordan Secretname <jordan.hidden@secret-isp.example>
Reply-To: Jordan Secretname <jordan.reply@secret-isp.example>
To: mas@anytown.example
Cc: Lawyer Person <counsel@lawfirm.example>
Subject: [bail] Help for Jordan
Message-ID: <orig-123@secret-isp.example>
References: <older-1@secret-isp.example>
X-Mailer: SecretPhone Mail 9.1
X-Originating-IP: [203.0.113.77]
User-Agent: SecretAgent/1.0
Organization: Jordan's Workplace
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8

Template: bail
Title: Help for Jordan
Filed-By: self
"""

SECRETS = ["Secretname", "jordan.hidden", "secret-isp", "203.0.113.77", "counsel", "lawfirm",
           "SecretPhone", "SecretAgent", "Workplace", "older-1", "bounce-77"]
ALLOWED_HEADERS = {"From", "To", "Subject", "Date", "Message-ID", "In-Reply-To", "References",
                   "Auto-Submitted", "Precedence", "Content-Type", "Content-Transfer-Encoding",
                   "MIME-Version"}


def answer_for(raw: bytes) -> tuple[intake.Inbound, pipeline.Verdict, bytes]:
    msg = intake.read(raw)
    verdict = pipeline.run(msg, CTX)
    built = answers.build(SENDER, msg.answer_to, verdict.answer_subject, verdict.answer_body,
                          in_reply_to=msg.in_reply_to, now=NOW, message_id="<a1@anytown.example>")
    return msg, verdict, built.as_bytes()


def test_answer_headers() -> None:
    msg, verdict, raw = answer_for(NOSY)
    assert verdict.kind == "invalid"
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert set(parsed.keys()) == ALLOWED_HEADERS
    assert parsed["Auto-Submitted"] == "auto-replied"
    assert parsed["Precedence"] == "auto_reply"
    assert parsed["From"] == "Anytown Mutual Aid Society <mas@anytown.example>"
    assert parsed["To"] == "jordan.reply@secret-isp.example"  # Reply-To, bare: no name
    assert parsed["Subject"] == "Re: [bail] Help for Jordan"
    assert parsed["In-Reply-To"] == parsed["References"] == "<orig-123@secret-isp.example>"
    assert parsed["Message-ID"] == "<a1@anytown.example>"
    assert parsed["Date"] == "Mon, 23 Nov 2026 10:00:00 +0000"


def test_nothing_else_from_the_original_headers_leaks() -> None:
    _, _, raw = answer_for(NOSY)
    head, _, body = raw.partition(b"\r\n\r\n")
    for secret in SECRETS:
        if secret == "secret-isp":  # the To address and In-Reply-To are allowed to hold it
            lines = [line for line in head.split(b"\r\n") if secret.encode() in line]
            assert all(line.startswith((b"To:", b"In-Reply-To:", b"References:")) for line in lines)
            continue
        assert secret.encode() not in raw, secret


@pytest.mark.parametrize("kind_body", ["help\n", "template bail\n", "hello there\n"])
def test_every_answer_kind_keeps_to_the_allowed_headers(kind_body: str) -> None:
    raw = NOSY.split(b"\n\n", 1)[0] + b"\n\n" + kind_body.encode()
    _, verdict, out = answer_for(raw)
    assert verdict.answer_body is not None
    parsed = email.message_from_bytes(out, policy=email.policy.default)
    assert set(parsed.keys()) == ALLOWED_HEADERS
    for secret in ["Secretname", "203.0.113.77", "counsel", "SecretPhone", "Workplace"]:
        assert secret.encode() not in out


def test_a_garbage_message_id_is_not_echoed() -> None:
    out = answers.build(SENDER, "jo@example.com", "Re: x", "hi\n", in_reply_to="x\nBcc: evil@x.example",
                        now=NOW, message_id="<a@b>").as_bytes()
    assert b"In-Reply-To" not in out and b"evil" not in out


def test_a_subject_with_line_breaks_cannot_add_headers() -> None:
    out = answers.build(SENDER, "jo@example.com", "Re: x\r\nBcc: evil@x.example", "hi\n",
                        in_reply_to=None, now=NOW, message_id="<a@b>").as_bytes()
    parsed = email.message_from_bytes(out, policy=email.policy.default)
    assert "Bcc" not in parsed
    assert parsed["Subject"] == "Re: x Bcc: evil@x.example"


def test_the_body_is_utf8_and_survives_transport() -> None:
    out = answers.build(SENDER, "jo@example.com", "Re: ¡Ayuda!", "Gracias, María — ✓\n" + "x" * 2000,
                        in_reply_to=None, now=NOW, message_id="<a@b>").as_bytes()
    assert all(len(line) <= 998 for line in out.split(b"\r\n"))
    parsed = email.message_from_bytes(out, policy=email.policy.default)
    assert parsed.get_content().replace("\r\n", "\n").startswith("Gracias, María — ✓\n")
    assert parsed["Subject"] == "Re: ¡Ayuda!"


@pytest.mark.parametrize("original,expected", [
    ("[bail] Sam", "Re: [bail] Sam"), ("Re: [bail] Sam", "Re: [bail] Sam"),
    ("RE: x", "RE: x"), ("  lots   of\tspace ", "Re: lots of space"), ("", "fallback"),
    ("   ", "fallback"),
])
def test_reply_subject(original: str, expected: str) -> None:
    assert answers.reply_subject(original, "fallback") == expected


# --- the annotated form --------------------------------------------------------------------


def test_annotated_marks_errors_and_warnings_under_their_lines() -> None:
    text = ("Hello,\n"
            "> Title: quoted, left out\n"
            "Template: bail\n"
            "Title: Sam\n"
            "Needed-By: 2020-01-01\n"
            "Colour: green\n")
    form = story.parse(text, "", CAT)
    v = validate.validate(form, CAT, TODAY)
    out = answers.annotated(form, v)
    lines = out.split("\n")
    assert lines[:2] == [
        "Your request could not be published yet. Lines marked ! must be fixed; lines marked ? "
        "are worth a second look. Correct your text and send it again (the marks may stay in: "
        "they are ignored).", ""]
    assert "> Title: quoted, left out" not in out
    body = lines[lines.index("Hello,"):]
    assert body[:7] == [
        "Hello,",
        "Template: bail",
        "Title: Sam",
        "Needed-By: 2020-01-01",
        "! Needed-By: this date is in the past",
        "Colour: green",
        "? 'Colour' is not a field of any template; this line is ignored",
    ]
    missing = lines[2:lines.index("Hello,")]
    assert ("! Filed-By: this field is required: self: you ask for yourself; champion: you write "
            "for someone else") in missing
    assert out.endswith('Send "help" for the list of templates, or "template NAME" for a blank '
                        'form.\n')


# --- help, blank form, acceptance ----------------------------------------------------------


def test_help_text_names_every_template() -> None:
    text = answers.help_text(CAT, SENDER.name)
    assert text.startswith("Anytown Mutual Aid Society posts requests for help")
    for name in CAT.names():
        assert f"  {name:<10} {CAT.templates[name].title}\n" in text


def test_the_blank_form_mailed_back_filled_in_is_a_valid_request() -> None:
    blank = answers.template_text(CAT.template("bail"))
    filled = {
        "Title:": "Title: Bond for Kim", "Filed-By:": "Filed-By: self",
        "Location:": "Location: Riverside, CA", "Held-At:": "Held-At: Riverside Processing Center",
        "Bail:": "Bail: 7500 USD", "Posted-By:": "Posted-By: Inland Bond Fund",
        "Bail-Return:": "Bail-Return: fund", "Goal:": "Goal: 7500 USD",
        "Needed-By:": "Needed-By: ASAP", "Donate:": "Donate: https://inlandbond.example/kim",
        "Funds-Holder:": "Funds-Holder: Inland Bond Fund pays the bond",
        "Story:": "Story:\nKim has lived here for eleven years and looks after two children while "
                  "their partner works nights and the family cannot pay.",
        "Funds-Use:": "Funds-Use:\n- 7500 USD bond",
        "How-To-Help:": "How-To-Help:\nGive at the link.",
    }
    lines = blank.split("\n")
    lines = [filled.get(line, line) for line in lines]
    lines = [line for line in lines if line != "- "]
    form = story.parse("\n".join(lines), "", CAT)
    v = validate.validate(form, CAT, TODAY)
    assert v.issues == []


def test_the_blank_form_as_is_only_lacks_required_values() -> None:
    form = story.parse(answers.template_text(CAT.template("bail")), "", CAT)
    v = validate.validate(form, CAT, TODAY)
    assert v.errors and all("this field is required" in i.message for i in v.errors)
    assert v.warnings == []


def test_accepted_answer() -> None:
    form = story.parse(
        "Template: bail\nTitle: Bond for Kim\nFiled-By: champion\nRelation: neighbour\n"
        "Consent: prior\nName-To-Publish: Kim Nguyen Tran\nLocation: Riverside, CA\n"
        "Held-At: Riverside Processing Center\nBail: 7500 USD\nGoal: 7500 USD\nNeeded-By: ASAP\n"
        "Posted-By: Inland Bond Fund\nBail-Return: fund\nFunds-Holder: Inland Bond Fund\n"
        "Donate: https://inlandbond.example/kim\nStory:\nKim has lived here for eleven years and "
        "looks after two children while their partner works nights and cannot pay.\n"
        "Funds-Use:\n- 7500 USD bond\nHow-To-Help:\nGive at the link.\n", "", CAT)
    v = validate.validate(form, CAT, TODAY)
    assert v.ok and v.warnings
    a = appeal.build(v, appeal_id="ANYTOWN-2026-0007", society=SENDER.name,
                     updates_to=SENDER.address, issued=NOW, appeal_days=30)
    subject, body = answers.accepted(a, "KEY-123", v, held=False)
    assert subject == "[ANYTOWN-2026-0007] Bond for Kim"
    assert body.startswith("Thank you. Your appeal is published as ANYTOWN-2026-0007.\n")
    assert "\nTemplate: update\nRefers-To: ANYTOWN-2026-0007\nUpdate-Key: KEY-123\nStatus:\n" in body
    assert "\n? Name-To-Publish: this looks like a full name;" in body
    assert body.endswith(a.canonical_text())
    _, held_body = answers.accepted(a, "KEY-123", v, held=True)
    assert "waits for a moderator" in held_body


def test_a_huge_junk_form_gets_a_small_answer() -> None:
    """No amplification: 100 000 bad lines give an answer of a few dozen kB, not megabytes."""
    text = "Template: bail\n" + "Title: again\nstray words\n\n" * 50_000
    form = story.parse(text, "", CAT)
    v = validate.validate(form, CAT, TODAY)
    out = answers.annotated(form, v)
    assert len(out) < answers.MAX_ECHO_CHARS + 10_000
    assert out.count("\n! ") + out.count("\n? ") <= answers.MAX_MARKS
    assert "is not repeated here]" in out
    assert "more problems not listed" in out
    assert out.endswith('"template NAME" for a blank form.\n')


def test_marks_for_lines_past_the_repeated_text_are_still_listed() -> None:
    text = "Template: bail\nStory:\n" + "filler words here\n" * 2000 + "DOB 1990-01-01\n"
    form = story.parse(text, "", CAT)
    v = validate.validate(form, CAT, TODAY)
    out = answers.annotated(form, v)
    assert "(line 2003) ! Story: remove the date of birth: it is never published" in out
