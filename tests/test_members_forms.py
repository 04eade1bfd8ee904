"""Forms that forgive how members write (issue 16, items 3, 4, 5, 6 and 7).

Real parser, validation, answers and CLI; the clock is handed in.
"""

from __future__ import annotations

from datetime import date

import pytest

from masbot.story import form as story
from masbot.story import templates as forms
from masbot.story.validate import choice_value, validate

CAT = forms.builtin()
TODAY = date(2026, 11, 29)


def check(text: str, subject: str = ""):
    return validate(story.parse(text, subject, CAT), CAT, TODAY)


# --- 3. all errors in one pass ---------------------------------------------------------------

NO_TEMPLATE_HTML_STYLE = """\
Title: Bond for K.
Filed-By: champion
Relation: neighbour
Consent: lawyer
Name-To-Publish: K.
Location: Riverside, CA
Held-At: Riverside Processing Center
Bail: 7500 USD
Goal: 7500
Needed-By: 2020-01-01
Posted-By: Inland Bond Fund
Bail-Return: fund
Funds-Holder: Inland Bond Fund pays the bond to the agency directly
Donate: https://inlandbond.example/give
Story:
K. has lived here for eleven years and looks after the family while their partner works
nights. K. was detained at a check-in and the family cannot pay the bond on their own.
Funds-Use:
- 7500 USD immigration bond
How-To-Help:
Give what you can and share this appeal.
"""


def test_no_template_named_is_guessed_from_the_fields_and_everything_is_checked_at_once() -> None:
    v = check(NO_TEMPLATE_HTML_STYLE)
    assert v.template is not None and v.template.name == "bail"
    said = {(i.field, i.severity): str(i) for i in v.issues}
    assert "read as the bail form (it has Held-At, Bail" in said[("Template", "warning")]
    assert {i.field for i in v.errors} == {"Goal", "Needed-By"}


def test_a_guessed_template_with_nothing_else_wrong_is_published() -> None:
    v = check(NO_TEMPLATE_HTML_STYLE.replace("Goal: 7500\n", "Goal: 7500 USD\n")
              .replace("2020-01-01", "ASAP"))
    assert v.ok and v.values["Template"] == "bail"
    assert [i.field for i in v.warnings] == ["Template"]


def test_fields_that_fit_no_one_template_still_ask_for_the_template() -> None:
    v = check("Title: help\nStory:\nplease help us\n")
    assert v.template is None
    assert v.errors[0].message.startswith("name the template")


def test_a_choice_value_only_one_template_takes_decides() -> None:
    assert check("Title: x\nCategory: eviction\n").template.name == "housing"
    assert check("Title: x\nCategory: job loss\n").template.name == "hardship"


# --- 4. forgiving values --------------------------------------------------------------------


@pytest.mark.parametrize("typed, meant", [
    ("Tittle", "Title"), ("Bail Retrun", "Bail-Return"), ("Held At", None), ("Stroy", "Story"),
    ("Funds Hodler", "Funds-Holder"), ("Colour", None),
])
def test_a_misspelt_field_name_gets_did_you_mean(typed: str, meant: str | None) -> None:
    form = story.parse(f"Template: bail\n{typed}: something\n", "", CAT)
    said = " ".join(n.message for n in form.notes)
    if meant is None:
        assert "did you mean" not in said
    else:
        assert f"(did you mean {meant}?)" in said


def test_a_misspelt_first_line_is_not_silently_dropped() -> None:
    form = story.parse("Tittle: Get Sam home\nTemplate: bail\n", "", CAT)
    assert [(n.line, "did you mean Title?" in n.message) for n in form.notes] == [(1, True)]


@pytest.mark.parametrize("text, values, meant", [
    ("car crash", ("medical", "crash", "job-loss"), "crash"),
    ("Job Loss", ("medical", "crash", "job-loss"), "job-loss"),
    ("job_loss.", ("medical", "crash", "job-loss"), "job-loss"),
    ("Family emergency", ("family-emergency", "funeral"), "family-emergency"),
    ("the fund", ("fund", "donors", "person"), "fund"),
    ("Pre trial", ("arraigned", "pre-trial", "trial"), "pre-trial"),
    ("YES", ("yes", "no"), "yes"),
    ("medical crash", ("medical", "crash"), None),  # two fit: ask
    ("rent", ("medical", "crash"), None),
    ("self javascript:alert(1)", ("self", "champion"), None),  # not plain words
    ("fund 2", ("fund", "donors"), None),
])
def test_choice_values_are_matched_by_their_words(text: str, values: tuple[str, ...],
                                                  meant: str | None) -> None:
    assert choice_value(text, values) == meant


def test_car_crash_publishes_as_crash() -> None:
    v = check("Template: hardship\nCategory: car crash\n")
    assert v.values["Category"] == "crash"
    assert "Category" not in {i.field for i in v.errors}


# --- 5. forms a person can fill in on a phone ---------------------------------------------

from datetime import datetime, timezone  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402

from masbot.appeal import canonical as appeal  # noqa: E402
from masbot.intake import classify  # noqa: E402
from masbot.intake import message as intake  # noqa: E402
from masbot.story import answers  # noqa: E402

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=timezone.utc)


def test_the_blank_form_puts_required_fields_first_and_marks_the_optional_ones() -> None:
    blank = forms.blank_form(CAT.template("bail"))
    form_part, notes = blank.split("\n-- \n")
    keys = form_part.split("\n" + forms.OPTIONAL_HEADING + "\n")
    assert len(keys) == 2
    required, optional = keys
    assert "Held-At:" in required and "Bail-Return:" in required and "Consent:" in required
    assert "Name-To-Publish:" in optional and "Charges:" in optional and "Held-At:" not in optional
    lines = notes.split("\n")
    for field_ in ("Consent", "Filed-By", "Bail-Return"):
        line = next(ln for ln in lines if ln.startswith(field_ + " ("))
        spec = CAT.template("bail").field(field_)
        assert all(f"{v}:" in line for v in spec.values), line
    assert "7 days" in next(ln for ln in lines if ln.startswith("Consent ("))


def test_pending_consent_days_in_the_form_are_the_days_the_appeal_runs() -> None:
    assert f"ends after {appeal.PENDING_CONSENT_DAYS} days" in CAT.template("bail").field("Consent").help


def test_the_blank_form_sent_back_with_its_heading_reads_cleanly() -> None:
    blank = answers.template_text(CAT.template("bail"))
    form = story.parse(blank.replace("Title:\n", "Title: Bond for K.\n"), "", CAT)
    assert form.entries["Title"].value == "Bond for K."
    assert form.value("How-To-Help") == ""  # the optional heading is not its text
    assert not [n for n in form.notes if "not part of any field" in n.message]


@pytest.mark.parametrize("name", CAT.names())
def test_every_template_has_a_filled_in_example_that_is_valid(name: str) -> None:
    text = forms.example_form(CAT.template(name), TODAY)
    assert "@IN_" not in text
    v = validate(story.parse(text, "", CAT), CAT, NOW)
    assert v.ok, v.errors
    assert [str(i) for i in v.warnings] == []


def test_masbot_template_example_on_the_command_line() -> None:
    out = subprocess.run([sys.executable, "-m", "masbot", "template", "bail", "--example"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("Template: bail\nTitle: ")
    assert "Needed-By: 20" in out.stdout


def test_template_bail_example_by_mail() -> None:
    raw = (b"From: a@example.org\r\nTo: mas@anytown.example\r\nSubject: x\r\n\r\n"
           b"template bail example\r\n")
    verdict = classify.run(intake.read(raw), classify.Context(CAT, "Anytown MAS", NOW))
    assert verdict.kind == "template"
    assert "Template: bail\nTitle: Get Sam home" in verdict.answer_body
    # ... and what the member gets is itself a valid request when sent back as it is.
    v = validate(story.parse(verdict.answer_body, "", CAT), CAT, NOW)
    assert v.ok, v.errors


def test_the_help_answer_says_the_address_is_not_kept_and_gives_key_and_contact() -> None:
    text = answers.help_text(CAT, "Anytown MAS", fingerprint="ABCD 1234",
                             contact="ask for Jo at the Tuesday meeting")
    assert "Your address is not kept" in text
    assert "ABCD 1234" in text and "ask for Jo at the Tuesday meeting" in text
    assert "ABCD" not in answers.help_text(CAT, "Anytown MAS")


def test_answers_are_paragraphs_a_phone_can_reflow() -> None:
    body = answers.help_text(CAT, "Anytown MAS")
    paragraph = next(p for p in body.split("\n\n") if p.startswith("Your address"))
    assert "\n" not in paragraph.strip()  # one line per paragraph, not wrapped at 80
    msg = answers.build(answers.Sender("Anytown MAS", "mas@anytown.example"), "a@example.org",
                        "Re: x", body, in_reply_to=None, now=NOW, message_id="<m@x>")
    wire = msg.as_bytes()
    assert max(len(line) for line in wire.split(b"\r\n")) <= 78  # quoted-printable soft breaks
    assert msg.get_content() == body  # ... that the member's phone joins again


# --- 6. updates by reply --------------------------------------------------------------------


def _published():
    form = story.parse(forms.example_form(CAT.template("bail"), TODAY), "", CAT)
    v = validate(form, CAT, NOW)
    a = appeal.build(v, appeal_id="ANYTOWN-2026-0001", society="Anytown MAS",
                     updates_to="mas@anytown.example", issued=NOW, appeal_days=30)
    return answers.accepted(a, "k3y-abcdefghijklmnop", v, held=False)


def test_the_published_answer_carries_a_filled_in_update_form_with_every_status() -> None:
    _, body = _published()
    assert "Template: update\nRefers-To: ANYTOWN-2026-0001\nUpdate-Key: k3y-abcdefghijklmnop\n" in body
    for value in CAT.template("update").field("Status").values:
        assert f"\n{value} = " in body


def _reply(text: str, subject: str) -> object:
    raw = (f"From: a@example.org\r\nTo: mas@anytown.example\r\nSubject: {subject}\r\n"
           f"Content-Type: text/plain; charset=utf-8\r\n\r\n{text}").encode()
    return classify.run(intake.read(raw), classify.Context(CAT, "Anytown MAS", NOW))


def test_a_reply_with_status_on_top_and_the_answer_quoted_is_an_update() -> None:
    subject, body = _published()
    quoted = "".join(f"> {line}\n" for line in body.splitlines())
    verdict = _reply("Status: funded\nStop-Sharing: yes\n\nSent from my iPhone\n\n"
                     "On Sun, Nov 29, 2026 at 12:00 Anytown MAS wrote:\n" + quoted,
                     "Re: " + subject)
    assert verdict.kind == "update", verdict.answer_body
    assert verdict.validation.values == {
        "Template": "update", "Refers-To": "ANYTOWN-2026-0001",
        "Update-Key": "k3y-abcdefghijklmnop", "Status": "funded", "Stop-Sharing": "yes"}


def test_a_reply_filled_in_inside_the_quote_is_an_update() -> None:
    subject, body = _published()
    edited = body.replace("Status:\nNote:\n", "Status: update\nNote:\nSam is home, thank you all!\n")
    quoted = "".join(f"> {line}\n" for line in edited.splitlines())
    verdict = _reply(quoted, "Re: " + subject)
    assert verdict.kind == "update", verdict.answer_body
    assert verdict.validation.values["Note"] == "Sam is home, thank you all!"


def test_a_reply_with_just_the_key_and_a_status_is_an_update() -> None:
    verdict = _reply("Update-Key: k3y-abcdefghijklmnop\nStatus: withdrawn\n",
                     "Re: [ANYTOWN-2026-0001] Get Sam home")
    assert verdict.kind == "update"
    assert verdict.validation.values["Refers-To"] == "ANYTOWN-2026-0001"


def test_a_thank_you_reply_is_no_update_but_a_readers_reply() -> None:
    assert _reply("Thank you so much!\n", "Re: [ANYTOWN-2026-0001] Get Sam home").kind == \
        "reader-reply"
