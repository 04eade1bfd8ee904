"""What members send back is read as they meant it (issue 16, item 2).

The bot's own marks and answer sentences, phone signatures and quoted replies never end up
in a published field; a form written only inside a quote is read; an HTML link gives its
address. Real parser, real validation, the real answer text of the bot; no mail server.
"""

from __future__ import annotations

from datetime import date

import pytest

from masbot.intake import message as intake
from masbot.story import answers
from masbot.story import form as story
from masbot.story import templates as forms
from masbot.story.validate import validate

CAT = forms.builtin()
TODAY = date(2026, 11, 29)
FORM = """\
Template: bail
Title: Get Sam home from Anytown County Jail
Filed-By: champion
Relation: housemate
Consent: prior
Name-To-Publish: Sam R.
Location: Anytown, OR
Held-At: Anytown County Jail
Bail: 2500 USD
Goal: 2500 USD
Needed-By: ASAP
Posted-By: Anytown Community Bail Fund
Bail-Return: fund
Funds-Holder: Anytown Community Bail Fund posts the bail directly
Donate: https://bailfund.example/give/sam
Story:
Sam cooks at our food share every week. Since Saturday Sam has been held on a bail
they cannot pay, and may lose their job and room if they are not out by Monday.
Funds-Use:
- 2500 USD cash bail posted by the fund
How-To-Help:
Give at the link and share this appeal.
"""


def check(text: str, subject: str = "") -> tuple[story.Form, object]:
    form = story.parse(text, subject, CAT)
    return form, validate(form, CAT, TODAY)


def published(v) -> str:
    return "\n".join(v if isinstance(v, str) else "\n".join(v) for v in v.values.values())


def test_a_form_sent_back_with_the_bots_marks_and_sentences_publishes_none_of_them() -> None:
    broken = FORM.replace("Title: Get Sam home from Anytown County Jail", "Title:")
    broken = broken.replace("Needed-By: ASAP", "Needed-By: 2020-01-01")
    form, v = check(broken)
    assert not v.ok
    answer = answers.annotated(form, v)
    assert "! Needed-By:" in answer and "! Title:" in answer
    # The member fixes the two fields and sends the whole answer back, marks and all.
    fixed = answer.replace("Needed-By: 2020-01-01", "Needed-By: ASAP").replace(
        "\nTitle:\n", "\nTitle: Get Sam home from Anytown County Jail\n")
    form2, v2 = check(fixed)
    assert v2.ok, v2.errors
    text = published(v2)
    assert "!" not in text and "Correct your text" not in text and "Send \"help\"" not in text
    assert v2.values["Title"] == "Get Sam home from Anytown County Jail"
    assert v2.values["Story"].startswith("Sam cooks at our food share")
    # ... and the next answer does not repeat the old marks.
    assert "! " not in "\n".join(form2.lines[n - 1] for n in range(1, len(form2.lines) + 1)
                                 if n not in form2.skipped)


def test_a_lone_story_mark_left_in_is_not_published_as_the_first_line() -> None:
    text = FORM.replace("Story:\n", "Story:\n! Story: write at least 20 words (9 so far)\n")
    _, v = check(text)
    assert v.ok and v.values["Story"].startswith("Sam cooks")


@pytest.mark.parametrize("signature", [
    "Sent from my iPhone", "Sent from Outlook for Android", "Get Outlook for iOS",
    "Enviado desde mi iPhone", "Enviado desde mi Samsung Galaxy", "Sent from my Galaxy",
    "Sent from Yahoo Mail for iPhone", "Sent with Proton Mail secure email.",
    "Obtener Outlook para Android", "Von meinem iPhone gesendet", "Envoyé de mon iPhone",
    "Sent from Mail for Windows", "Sent from my T-Mobile 4G LTE Device",
    "Sent from my Android device with K-9 Mail. Please excuse my brevity.",
    "Enviado desde mi celular", "Get https://aka.ms/o0ukef",
])
def test_phone_and_client_signatures_are_never_published(signature: str) -> None:
    _, v = check(FORM + "\n" + signature + "\n")
    assert v.ok, v.errors
    assert signature.split()[0] not in v.values["How-To-Help"]
    assert v.values["How-To-Help"] == "Give at the link and share this appeal."


def test_a_sentence_that_merely_mentions_a_phone_is_kept() -> None:
    text = FORM.replace("Give at the link and share this appeal.",
                        "Give at the link and send a phone card to the jail.")
    _, v = check(text)
    assert v.values["How-To-Help"] == "Give at the link and send a phone card to the jail."


def test_a_form_filled_in_inside_a_quoted_reply_is_read() -> None:
    quoted = "".join(f"> {line}\n" for line in FORM.splitlines())
    reply = ("here it is, sorry i am on my phone\n\nSent from my iPhone\n\n"
             "On Mon, 23 Nov 2026 at 10:01, Anytown MAS <mas@anytown.example> wrote:\n"
             + quoted)
    form, v = check(reply)
    assert form.quoted
    assert v.ok, v.errors
    assert v.values["How-To-Help"] == "Give at the link and share this appeal."


def test_quoted_fields_beside_a_written_form_are_not_read_and_the_answer_says_so() -> None:
    reply = ("Template: bail\nTitle: Get Sam home\n\nOn Monday the society wrote:\n"
             "> Story:\n> Sam cooks at our food share every week.\n")
    form, v = check(reply)
    assert "Story" not in form.entries
    assert any("quoted message) were not read" in str(i) for i in v.issues)


def test_the_published_appeal_quoted_below_an_update_is_not_read() -> None:
    reply = ("> Template: update\n> Refers-To: ANYTOWN-2026-0001\n> Update-Key: k3y-k3y-k3y-k3y\n"
             "> Status: funded\n> Stop-Sharing: yes\n>\n> " + answers.ANSWER_STOP + "\n>\n"
             "> Appeal-ID: ANYTOWN-2026-0001\n> Status: open\n> Title: Get Sam home\n")
    form, v = check(reply)
    assert v.ok, v.errors
    assert v.values["Status"] == "funded" and "Title" not in form.entries


def test_an_html_link_gives_its_address_not_its_words() -> None:
    html = FORM.replace("Donate: https://bailfund.example/give/sam",
                        'Donate: <a href="https://bailfund.example/give/sam">give here</a>')
    html = "".join(f"<div>{line}</div>" for line in html.splitlines())
    raw = ("From: a@example.org\r\nTo: mas@anytown.example\r\nSubject: [bail] Sam\r\n"
           "Content-Type: text/html; charset=utf-8\r\n\r\n" + html).encode()
    msg = intake.read(raw)
    _, v = check(msg.body, msg.subject)
    assert v.ok, v.errors
    assert v.values["Donate"] == ("https://bailfund.example/give/sam",)


def test_an_unsafe_html_link_keeps_its_words() -> None:
    assert intake.html_to_text('<p>see <a href="javascript:alert(1)">this</a></p>') == "see this\n"
