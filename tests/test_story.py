"""The form parser (:mod:`masbot.story.form`): how a member's text becomes fields.

Every test hands plain text to ``story.parse`` and looks at the entries, notes and lines it
returns; no mail, no clock.
"""

from __future__ import annotations

import pytest

from masbot.story import templates as forms
from masbot.story import form as story

CAT = forms.builtin()


def parse(text: str, subject: str = "") -> story.Form:
    return story.parse(text, subject, CAT)


def notes(form: story.Form) -> list[tuple[int, str, str]]:
    return [(n.line, n.severity, n.message) for n in form.notes]


# --- one-line fields, sections, list items -------------------------------------------------


def test_one_line_fields_keep_their_line_numbers() -> None:
    form = parse("Template: bail\nTitle: Get Sam home\nFiled-By: self\n")
    assert form.template_name == "bail"
    assert [(e.name, e.line, e.value) for e in form.entries.values()] == [
        ("Template", 1, "bail"), ("Title", 2, "Get Sam home"), ("Filed-By", 3, "self")]
    assert form.notes == []


def test_section_runs_until_the_next_known_key_and_keeps_paragraphs() -> None:
    form = parse(
        "Story:\n"
        "Sam cooks at our food share.\n"
        "\n"
        "Remark: this line starts like a key but is no field, so it is story text.\n"
        "Since Saturday Sam is held.\n"
        "\n"
        "How-To-Help:\n"
        "Give at the link.\n"
    )
    story_entry = form.entries["Story"]
    assert story_entry.section
    assert story_entry.value == (
        "Sam cooks at our food share.\n\n"
        "Remark: this line starts like a key but is no field, so it is story text.\n"
        "Since Saturday Sam is held."
    )
    assert (story_entry.line, story_entry.end_line) == (1, 5)
    assert form.entries["How-To-Help"].value == "Give at the link."
    assert form.notes == []


def test_list_items_with_dash_star_and_bullet() -> None:
    form = parse("Funds-Use:\n- 2500 USD cash bail\n* rides home\n• a phone card\n")
    assert form.entries["Funds-Use"].items == ["2500 USD cash bail", "rides home", "a phone card"]


def test_a_value_on_the_key_line_of_a_section_field_starts_the_section() -> None:
    """``Story: first words`` followed by more lines keeps every line and paragraph."""
    form = parse("Story: Sam cooks at our food share.\nEvery week.\n\nSam is held.\nBail: 5 USD\n")
    entry = form.entries["Story"]
    assert entry.value == "Sam cooks at our food share.\nEvery week.\n\nSam is held."
    assert entry.end_line == 4
    assert form.entries["Bail"].value == "5 USD"
    assert form.notes == []


def test_a_list_with_its_first_item_on_the_key_line() -> None:
    form = parse("Funds-Use: 2500 USD bail\n- 100 USD rides\n")
    assert form.entries["Funds-Use"].items == ["2500 USD bail", "100 USD rides"]


def test_donate_links_may_follow_the_key_line() -> None:
    form = parse("Donate: https://fund.example/a\nhttps://fund.example/b\nVenmo: @fund\n")
    assert form.entries["Donate"].value.split("\n") == [
        "https://fund.example/a", "https://fund.example/b", "Venmo: @fund"]
    assert form.notes == []


# --- what is ignored -----------------------------------------------------------------------


def test_quoted_lines_are_ignored_everywhere() -> None:
    form = parse(
        "> Title: the old title from the quoted form\n"
        "Title: New title\n"
        "Story:\n"
        "first line\n"
        "> a quoted line inside the story\n"
        "  >> deeper quote\n"
        "second line\n"
    )
    assert form.value("Title") == "New title"
    assert form.entries["Title"].line == 2
    assert form.entries["Story"].value == "first line\nsecond line"


@pytest.mark.parametrize("sig", ["-- ", "--", "--   "])
def test_everything_after_a_signature_line_is_ignored(sig: str) -> None:
    form = parse(f"Title: Mine\nStory:\nwords here\n{sig}\nBail: 9 USD\nMy phone 555 0100\n")
    assert "Bail" not in form.entries
    assert form.entries["Story"].value == "words here"
    assert form.body_end == 3
    assert form.lines == ["Title: Mine", "Story:", "words here"]


def test_a_dash_item_is_not_a_signature() -> None:
    form = parse("Funds-Use:\n- bail\n---\n- rides\n")
    assert form.entries["Funds-Use"].items == ["bail", "rides"]


def test_greeting_before_the_first_key_is_ignored_silently() -> None:
    form = parse("Hi there,\n\nplease post this:\n\nTitle: Sam\n")
    assert form.value("Title") == "Sam"
    assert form.notes == []


def test_stray_text_between_fields_is_noted() -> None:
    form = parse("Title: Sam\n\nthanks so much\nFiled-By: self\n")
    assert notes(form) == [(3, "warning", "this line is not part of any field and is ignored")]
    assert form.value("Title") == "Sam"


# --- wrapped continuation lines ------------------------------------------------------------


def test_a_wrapped_value_continues_on_the_next_line() -> None:
    form = parse("Funds-Holder: Anytown Community Bail Fund posts\nthe bail directly\n\nTitle: x\n")
    entry = form.entries["Funds-Holder"]
    assert entry.value == "Anytown Community Bail Fund posts the bail directly"
    assert entry.end_line == 2


def test_a_blank_line_ends_a_continuation() -> None:
    form = parse("Title: Sam\n\nwandering words\n")
    assert form.value("Title") == "Sam"
    assert notes(form) == [(3, "warning", "this line is not part of any field and is ignored")]


def test_an_unknown_key_is_not_glued_onto_the_field_above() -> None:
    """``Phone: ...`` under a one-line field is an unknown field, never part of the title."""
    form = parse("Title: Get Sam home\nPhone: 503 555 0100\nFiled-By: self\n")
    assert form.value("Title") == "Get Sam home"
    assert notes(form) == [
        (2, "warning", "'Phone' is not a field of any template; this line is ignored")]


def test_a_link_line_is_never_taken_for_a_key() -> None:
    form = parse("Title: Sam\nhttps://example.org/page\n")
    assert form.value("Title") == "Sam https://example.org/page"


# --- duplicates and unknown keys -----------------------------------------------------------


def test_a_duplicate_key_is_an_error_and_the_first_value_wins() -> None:
    form = parse("Title: First\nBail: 1 USD\ntitle: Second\n")
    assert form.value("Title") == "First"
    assert notes(form) == [(3, "error", "Title is given twice (first on line 1); only the first is used")]


def test_a_duplicate_section_swallows_its_own_lines_quietly() -> None:
    """The second Story's lines belong to the duplicate: one error, not a warning per line."""
    form = parse("Story:\nfirst story\nStory:\nsecond story\nmore of it\nBail: 1 USD\n")
    assert form.entries["Story"].value == "first story"
    assert notes(form) == [(3, "error", "Story is given twice (first on line 1); only the first is used")]
    assert form.value("Bail") == "1 USD"


def test_unknown_key_after_the_first_field_is_a_warning() -> None:
    form = parse("Title: Sam\n\nFavourite-Colour: green\n")
    assert notes(form) == [
        (3, "warning", "'Favourite-Colour' is not a field of any template; this line is ignored")]


# --- cleaning: invisible characters, line ends, tabs ---------------------------------------


@pytest.mark.parametrize("char", ["\u202e", "\u202a", "\u202d", "\u2066", "\u2067", "\u2069",
                                  "\u200b", "\u200e", "\u200f", "\u061c", "\ufeff", "\u2060",
                                  "\u00ad", "\U000e0041", "\u180e"])
def test_invisible_and_direction_characters_are_stripped(char: str) -> None:
    form = parse(f"{char}Title: Sam{char} needs{char} bail\nBail{char}: 5 USD\n")
    assert form.value("Title") == "Sam needs bail"
    assert form.value("Bail") == "5 USD"
    assert all(char not in line for line in form.lines)


def test_trojan_source_reordering_is_undone() -> None:
    # "Donate: https://good.example" with a right-to-left override hiding the real order
    form = parse("Donate: https://\u202eelpmaxe.live\u202c.good.example\n")
    assert form.value("Donate") == "https://elpmaxe.live.good.example"


def test_control_characters_are_dropped_and_tabs_become_spaces() -> None:
    form = parse("Title:\tSam\x07 needs\x00 bail\x1b[31m\n")
    assert form.value("Title") == "Sam needs bail[31m"


@pytest.mark.parametrize("newline", ["\r\n", "\r", "\n", "\u2028"])
def test_any_line_end(newline: str) -> None:
    text = newline.join(["Title: Sam", "Story:", "one", "", "two", "Bail: 5 USD", ""])
    form = parse(text)
    assert form.value("Title") == "Sam"
    assert form.entries["Story"].value == "one\n\ntwo"
    assert form.entries["Bail"].line == 6


def test_nfc_normalisation() -> None:
    form = parse("Location: San Jose\u0301, CA\n")
    assert form.value("Location") == "San Jos\u00e9, CA"


# --- key spellings -------------------------------------------------------------------------


@pytest.mark.parametrize("key,canonical", [
    ("Filed-By", "Filed-By"), ("filed_by", "Filed-By"), ("FILED BY", "Filed-By"),
    ("Filed - By", "Filed-By"), ("  filed-by", "Filed-By"), ("Needed by", "Needed-By"),
    ("deadline", "Needed-By"), ("Amount", "Goal"), ("GOAL", "Goal"), ("funds use", "Funds-Use"),
    ("How to help", "How-To-Help"), ("name", "Name-To-Publish"), ("Alias", "Name-To-Publish"),
    ("donation link", "Donate"), ("bail_return", "Bail-Return"),
])
def test_key_spellings(key: str, canonical: str) -> None:
    form = parse(f"{key}: value\n")
    assert list(form.entries) == [canonical]
    assert form.entries[canonical].value == "value"


def test_a_key_without_a_space_after_the_colon() -> None:
    form = parse("Title:Sam\nGoal:2500 USD\nDonate:https://fund.example/sam\n")
    assert (form.value("Title"), form.value("Goal"), form.value("Donate")) == (
        "Sam", "2500 USD", "https://fund.example/sam")


def test_space_before_the_colon() -> None:
    assert parse("Title : Sam\n").value("Title") == "Sam"


# --- the template: Template line or subject tag --------------------------------------------


@pytest.mark.parametrize("subject,expected", [
    ("[bail] Get Sam home", "bail"),
    ("[BAIL] Get Sam home", "bail"),
    ("  [ bail ]  Get Sam home", "bail"),
    ("Re: [bail] Get Sam home", "bail"),
    ("RE: Fwd: [bail] Get Sam home", "bail"),
    ("Fw: re: [bail] Get Sam home", "bail"),
    ("AW: WG: [bail] x", "bail"),
    ("Re:[bail] x", "bail"),
    ("[URGENT] [bail] x", "bail"),
    ("\u202e[b\u200bail] x", "bail"),
    ("Get Sam home [bail]", None),
    ("Get Sam home", None),
    ("", None),
])
def test_subject_tag(subject: str, expected: str | None) -> None:
    assert parse("Title: x\n", subject).template_name == expected


def test_an_unknown_subject_tag_is_still_reported_as_the_template_asked_for() -> None:
    assert parse("Title: x\n", "[bial] x").template_name == "bial"


def test_the_template_line_wins_over_the_subject() -> None:
    assert parse("Template: Bail\nTitle: x\n", "[callin] x").template_name == "bail"


def test_parse_never_raises_on_odd_input() -> None:
    for text in ["", "\n\n\n", ":", "::::", "- ", "Story:", "Template:", "\x00" * 10, "a" * 10000,
                 "Title: " + "x" * 100000, "\ud800", "Key:" * 1000]:
        form = parse(text)
        assert isinstance(form, story.Form)


@pytest.mark.parametrize("text", [
    "Title: a" + " " * 100_000 + "b\n",
    "Title: x\n" + "wrapped\n" * 100_000,
    "Story:\n" + "\n" * 100_000 + "x\n",
    "Contact: " + "a." * 100_000 + "\n",
    "Story:\n" + "booking " * 20_000 + "\n",
    "Story:\nssn" + " " * 50_000 + "x\n",
    "Story:\nbirthday" + " " * 50_000 + "x\n",
    "Story:\ncase" + "\n" * 50_000 + "x\n",
])
def test_pathological_input_is_handled_in_linear_time(text: str) -> None:
    """Regression guard for quadratic regexes and string building (would take minutes)."""
    from datetime import date

    from masbot.story import validate
    form = parse(text, "[bail] x")
    validate.validate(form, CAT, date(2026, 11, 23))


# --- keys of other templates ---------------------------------------------------------------


def test_another_templates_key_inside_a_section_is_text() -> None:
    form = parse("Template: bail\nStory:\nWhy: because we care.\nNote: Sam cooks.\n"
                 "How-To-Help:\nGive.\n")
    assert form.entries["Story"].value == "Why: because we care.\nNote: Sam cooks."
    assert list(form.entries) == ["Template", "Story", "How-To-Help"]


def test_another_templates_key_outside_a_section_is_a_field_to_warn_about() -> None:
    form = parse("Template: bail\nWhere: City Hall\nTitle: x\n")
    assert list(form.entries) == ["Template", "Where", "Title"]


def test_the_subject_names_the_template_for_section_keys() -> None:
    form = parse("Story:\nWhy: because.\n", "[bail] help")
    assert form.entries["Story"].value == "Why: because."
    form = parse("Why:\nbecause.\nBring:\n- water\n", "[gathering] vigil")
    assert form.entries["Why"].value == "because." and form.entries["Bring"].items == ["water"]


def test_a_key_that_is_a_section_in_its_own_template_collects_lines() -> None:
    form = parse("Template: update\nFunds-Report: 2500 USD bail\n- 300 USD rides\nNote: thanks\n")
    assert form.entries["Funds-Report"].items == ["2500 USD bail", "300 USD rides"]
    assert form.entries["Note"].value == "thanks"


@pytest.mark.parametrize("space", ["\u00a0", "\u202f", "\u2007", "\u3000", "\u2009"])
def test_every_unicode_space_becomes_a_plain_space(space: str) -> None:
    form = parse(f"Title:{space}Get{space}Sam home\nStory:\nSam{space}cooks.\n")
    assert form.entries["Title"].value == "Get Sam home"
    assert form.entries["Story"].value == "Sam cooks."
