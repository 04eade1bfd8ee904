"""The pipeline (:func:`masbot.intake.classify.run`): from an inbound mail to a verdict.

Drives real mail bytes (the shipped samples and hand-written ones) through
``intake.read`` and ``pipeline.run`` with a fixed ``today``.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest

import masbot
from masbot.story import templates as forms
from masbot.intake import message as intake
from masbot.intake import classify as pipeline

TODAY = date(2026, 11, 23)
SOCIETY = "Anytown Mutual Aid Society"
CTX = pipeline.Context(forms.builtin(), SOCIETY, TODAY)
SAMPLES = Path(masbot.__file__).parent / "samples"


def sample(name: str) -> bytes:
    raw = next(SAMPLES.glob(f"{name}*.eml")).read_bytes()
    return raw.replace(b"@IN_20_DAYS@", (TODAY + timedelta(days=20)).isoformat().encode())


def run(raw: bytes, limits: intake.Limits = intake.Limits()) -> pipeline.Verdict:
    return pipeline.run(intake.read(raw, limits), CTX)


def mail(body: str, subject: str = "x", headers: str = "",
         content_type: str = "text/plain; charset=utf-8") -> bytes:
    head = ["From: Jo <jo.q.2024@example.com>", "To: mas@anytown.example", f"Subject: {subject}",
            "Message-ID: <p1@example.com>", "MIME-Version: 1.0", f"Content-Type: {content_type}",
            *[h for h in headers.split("\n") if h]]
    return ("\n".join(head) + "\n\n" + body).encode("utf-8")


# --- commands ------------------------------------------------------------------------------


@pytest.mark.parametrize("raw", [
    sample("04"), mail("help\n"), mail("  Help.\n\nthanks\n"), mail("", subject="help"),
    mail("\n\n", subject="HELP"), mail("templates\n"), mail("template\n"),
])
def test_help(raw: bytes) -> None:
    v = run(raw)
    assert (v.kind, v.reason) == ("help", "help sent")
    assert v.answer_subject == f"How to ask {SOCIETY} for help"
    assert "  bail       Bail or immigration bond\n" in v.answer_body
    assert v.trace == ["partner-post", "automatic", "unreadable", "moderation", "command"]


@pytest.mark.parametrize("body", ["template bail\n", "Template BAIL\n", "templates bail!\n"])
def test_template_name_sends_the_blank_form(body: str) -> None:
    v = run(mail(body))
    assert (v.kind, v.reason) == ("template", "blank bail form sent")
    assert v.answer_subject == "The bail form"
    assert "\nTemplate: bail\nTitle:\n" in v.answer_body
    assert "\n-- \n" in v.answer_body


def test_unknown_template_name() -> None:
    v = run(mail("template rent\n"))
    assert (v.kind, v.reason) == ("help", "unknown template asked for")
    assert v.answer_subject == "There is no template called rent"
    assert v.answer_body.startswith("There is no template called 'rent'.\n\n")
    assert "bail" in v.answer_body


def test_a_form_starting_with_help_is_a_request_not_a_command() -> None:
    body = sample("01").split(b"\n\n", 1)[1].decode()
    v = run(mail("Help!\n\n" + body, subject="[bail] Bond for River"))
    assert v.kind == "request", v.reason


# --- requests ------------------------------------------------------------------------------


@pytest.mark.parametrize("name,template", [("01", "bail"), ("02", "bail"), ("07", "bail")])
def test_valid_samples(name: str, template: str) -> None:
    v = run(sample(name))
    assert (v.kind, v.reason) == ("request", f"valid {template} request")
    assert v.answer_body is None  # the acceptance answer is built once the appeal exists
    assert v.validation.ok and v.validation.template.name == template
    assert v.trace == ["partner-post", "automatic", "unreadable", "moderation", "command", "form"]


def test_champion_sample_keeps_private_apart() -> None:
    v = run(sample("02"))
    assert v.validation.private == ("Sam's lawyer is in touch with the fund; call me if you "
                                    "need details.")
    assert v.validation.values["Story"].startswith(
        "Sam cooks at our food share every week. Since Saturday Sam has been held on a bail "
        "they cannot pay")  # format=flowed lines joined


def test_html_only_sample_reads_like_the_plain_one() -> None:
    v = run(sample("07"))
    assert v.validation.values["Funds-Use"] == ("7500 USD immigration bond",)
    assert v.validation.values["How-To-Help"] == "Give what you can and share this appeal \u2013 thank you."


def test_invalid_sample_gets_its_own_text_annotated() -> None:
    v = run(sample("03"))
    assert (v.kind, v.reason) == ("invalid", "form has 12 errors")
    assert v.answer_subject == "Re: [bail] please help Alex"
    lines = v.answer_body.split("\n")
    # each mark sits right under the line it is about
    assert lines[lines.index("Needed-By: 2020-01-15") + 1] == "! Needed-By: this date is in the past"
    assert lines[lines.index("Location: 1412 Elm Street, Anytown, OR") + 1] == (
        "! Location: give only the town or city and region, never a street address")
    assert lines[lines.index("Held-At: Anytown County Jail, booking #2026-114532") + 1] == (
        "! Held-At: remove the booking, docket, case or alien number: it is never published")
    assert lines[lines.index("Name-To-Publish: Alex Marquez Rivera") + 1] == (
        "? Name-To-Publish: this looks like a full name; without Consent: direct use a first "
        "name, alias or initials")
    assert lines[lines.index("Donate: http://bit.ly/alex-bail") + 1:][:2] == [
        "! Donate: use an https:// link, not http:// (http://bit.ly/alex-bail)",
        "! Donate: bit.ly is a link shortener: give the full link so readers can see where it goes"]
    assert lines[lines.index("Bail: 5000") + 1] == "! Bail: add the ISO 4217 currency code, like 2500 USD"
    # fields that are missing altogether come first
    head = v.answer_body.split("Title: Alex needs bail")[0]
    assert "! Posted-By: this field is required: the bail fund or person who will post it" in head
    assert "! How-To-Help: this field is required: exactly what readers can do" in head


def test_a_privacy_hit_in_a_section_is_marked_under_its_own_line() -> None:
    body = sample("01").split(b"\n\n", 1)[1].decode().replace(
        "miss my exams next week if I am still held.",
        "miss my exams next week if I am still held. My DOB is 1998-02-03.")
    v = run(mail(body, subject="[bail] River"))
    assert v.kind == "invalid"
    lines = v.answer_body.split("\n")
    at = next(i for i, line in enumerate(lines) if "My DOB is" in line)
    assert lines[at + 1] == "! Story: remove the date of birth: it is never published"


def test_a_subject_tag_with_prose_gets_the_form_explained() -> None:
    v = run(mail("My friend was arrested, what do I do?\n", subject="[bail] help my friend"))
    assert v.kind == "invalid"
    assert "! Title: this field is required" in v.answer_body
    assert "My friend was arrested, what do I do?" in v.answer_body


def test_unknown_template_line() -> None:
    v = run(mail("Template: rent\nTitle: Rent for Kim\n"))
    assert (v.kind, v.reason) == ("invalid", "form has 1 error")
    assert "Template: rent\n! Template: 'rent' is not a template; write Template: followed by " \
           "one of " in v.answer_body


# --- not a request -------------------------------------------------------------------------


@pytest.mark.parametrize("raw,subject", [
    (sample("05"), "Re: how does this work?"),
    (mail("cheap pills\n", subject="[SPAM] offer"), "Re: [SPAM] offer"),
    (mail("", subject=""), "How to ask for help"),
])
def test_not_a_request(raw: bytes, subject: str) -> None:
    v = run(raw)
    assert (v.kind, v.reason) == ("not-a-request", "no form fields found")
    assert v.answer_subject == subject
    assert v.answer_body.startswith("Thank you for writing.")
    assert "template bail" in v.answer_body


@pytest.mark.parametrize("body", [
    "Thank you so much!\n",
    "I can drive on release day, call me.\n\n> Title: Bond for River\n> Story:\n> River was...\n",
])
def test_a_readers_reply_to_a_post_is_told_how_to_reach_people(body: str) -> None:
    ctx = pipeline.Context(forms.builtin(), SOCIETY, TODAY, society_id="ANYTOWN",
                           contact="people@anytown.example",
                           site_url="https://anytown.example/appeals-site/")
    v = pipeline.run(intake.read(mail(body, subject="Re: [ANYTOWN-2026-0001] Bond for River")),
                     ctx)
    assert v.kind == "reader-reply" and v.answer_body is not None
    assert "not posted" not in v.answer_body
    assert "write to people@anytown.example" in v.answer_body
    assert "https://anytown.example/appeals-site/appeals/ANYTOWN-2026-0001/" in v.answer_body


# --- no answer at all, or a problem answer -------------------------------------------------


def test_automatic_mail_gets_no_answer() -> None:
    v = run(sample("06"))
    assert v.kind == "automatic"
    assert v.reason == "automatic mail, not answered (Auto-Submitted: auto-replied)"
    assert v.answer_body is None and v.answer_subject is None
    assert v.trace == ["partner-post", "automatic"]


def test_a_bounce_with_a_form_in_it_is_still_automatic() -> None:
    body = sample("01").split(b"\n\n", 1)[1].decode()
    v = run(mail(body, subject="[bail] x",
                 headers="From: MAILER-DAEMON@mx.example\nReturn-Path: <>").replace(
        b"From: Jo <jo.q.2024@example.com>\n", b""))
    assert v.kind == "automatic" and v.answer_body is None


def test_unreadable_mail_is_told_why() -> None:
    v = run(mail("Story:\n" + "word " * 5000), intake.Limits(max_message_bytes=10_000))
    assert (v.kind, v.reason) == ("unreadable", "the message is larger than 10 kB")
    assert v.answer_subject == "Your message could not be read"
    assert v.answer_body == (f"{SOCIETY} could not read your message: the message is larger "
                             "than 10 kB.\nPlease send your request as plain text in the body "
                             "of a mail.\n")


SIGNED = ('--B\nContent-Type: text/plain\n\nAppeal-ID: X\nMasbot-Relay: 1\n--B\nContent-Type: '
          'application/pgp-signature\n\nsig\n--B--\n')
SIGNED_TYPE = ('multipart/signed; boundary="B"; protocol="application/pgp-signature"; '
               'micalg=pgp-sha256')


@pytest.mark.parametrize("headers", ["", "List-Id: <master.riverside.example>\nPrecedence: list"])
def test_a_signed_partner_post_is_never_answered(headers: str) -> None:
    v = run(mail(SIGNED, headers=headers, content_type=SIGNED_TYPE))
    assert v.kind == "partner-post"
    assert v.answer_body is None
    assert v.trace == ["partner-post"]


def test_mail_from_a_partner_list_goes_to_verification_even_unsigned() -> None:
    ctx = pipeline.Context(forms.builtin(), SOCIETY, TODAY,
                           frozenset({"master@lists.riverside.example"}))
    raw = mail("Template: bail\nTitle: forged\n",
               headers="List-Id: Riverside <master.lists.riverside.example>")
    assert pipeline.run(intake.read(raw), ctx).kind == "automatic", "no partner configured"
    ctx = pipeline.Context(forms.builtin(), SOCIETY, TODAY,
                           frozenset({"master@lists.riverside.example",
                                      "master.lists.riverside.example"}))
    assert pipeline.run(intake.read(raw), ctx).kind == "partner-post"


def test_a_members_own_pgp_signed_request_is_read_as_a_request() -> None:
    signed = SIGNED.replace("Masbot-Relay: 1\n", "")
    v = run(mail(signed, content_type=SIGNED_TYPE))
    assert v.kind != "partner-post" and v.answer_body is not None


def test_every_verdict_has_a_reason_and_the_trace_ends_at_its_step() -> None:
    for path in sorted(SAMPLES.glob("*.eml")):
        v = run(sample(path.name[:2]))
        assert v.reason, path.name
        assert v.trace[-1] in dict(pipeline.STEPS)
