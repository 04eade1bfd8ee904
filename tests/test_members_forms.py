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
])
def test_choice_values_are_matched_by_their_words(text: str, values: tuple[str, ...],
                                                  meant: str | None) -> None:
    assert choice_value(text, values) == meant


def test_car_crash_publishes_as_crash() -> None:
    v = check("Template: hardship\nCategory: car crash\n")
    assert v.values["Category"] == "crash"
    assert "Category" not in {i.field for i in v.errors}
