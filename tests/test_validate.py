"""Validation of ``bail`` requests (:mod:`masbot.story.validate`, :mod:`masbot.story.checks`, :mod:`masbot.story.privacy`).

Table driven: each invalid case names the exact errors it must produce as
``(field, line, message)``; each valid case names the public values it must produce.
``today`` is always handed in (``TODAY``), never read from a clock.
"""

from __future__ import annotations

from datetime import date

import pytest

from masbot.story import checks
from masbot.story import templates as forms
from masbot.story import form as story
from masbot.story import validate

CAT = forms.builtin()
TODAY = date(2026, 11, 23)

# The base request (valid, filed by the person themselves). Line numbers matter: the
# invalid cases below replace a line in place, so these numbers stay true.
BASE = [
    "Template: bail",                                                            # 1
    "Title: Help Dana get home from Riverside County Jail",                      # 2
    "Filed-By: self",                                                            # 3
    "Location: Riverside, CA",                                                   # 4
    "Held-At: Riverside County Jail",                                            # 5
    "Bail: 1500 USD",                                                            # 6
    "Goal: 1500 USD",                                                            # 7
    "Needed-By: 2026-12-01",                                                     # 8
    "Posted-By: Inland Bail Fund",                                               # 9
    "Bail-Return: fund",                                                         # 10
    "Funds-Holder: Inland Bail Fund posts the bail directly",                    # 11
    "Donate: https://inlandbail.example/dana",                                   # 12
    "Story:",                                                                    # 13
    "I was arrested at the tenants' rally on Friday and cannot pay the bail. I need",  # 14
    "to be out by Monday to keep my job at the warehouse and to look after my cat.",   # 15
    "Funds-Use:",                                                                # 16
    "- 1500 USD cash bail posted by the fund",                                   # 17
    "How-To-Help:",                                                              # 18
    "Give at the link and share this appeal with friends and neighbours.",       # 19
]
CHAMPION = {3: "Filed-By: champion"}
CHAMPION_ADD = ["Relation: housemate", "Consent: prior"]  # lines 20, 21


def form_text(replace: dict[int, str] | None = None, add: list[str] = (),
              drop: tuple[int, ...] = (), base: list[str] = BASE) -> str:
    """The base request with lines replaced (by number), dropped, and added at the end."""
    lines = list(base)
    for number, text in (replace or {}).items():
        lines[number - 1] = text
    lines = [line for number, line in enumerate(lines, start=1) if number not in drop]
    return "\n".join([*lines, *add]) + "\n"


def check(text: str, subject: str = "") -> validate.Validation:
    return validate.validate(story.parse(text, subject, CAT), CAT, TODAY)


def errors(v: validate.Validation) -> list[tuple[str | None, int | None, str]]:
    return [(i.field, i.line, i.message) for i in v.errors]


def warnings(v: validate.Validation) -> list[tuple[str | None, int | None, str]]:
    return [(i.field, i.line, i.message) for i in v.warnings]


# --- valid requests ------------------------------------------------------------------------

SPEC_EXAMPLE = """\
Template: bail
Title: Get Sam home from Anytown County Jail before Monday
Filed-By: champion
Relation: housemate
Consent: prior
Name-To-Publish: Sam R.
Location: Anytown, OR
Held-At: Anytown County Jail
Bail: 2500 USD
Goal: 2500 USD
Needed-By: 2026-12-18
Posted-By: Anytown Community Bail Fund
Bail-Return: fund
Funds-Holder: Anytown Community Bail Fund posts the bail directly
Donate: https://bailfund.example/give/sam
Story:
Sam cooks at our food share every week. Since Saturday Sam has been held on a bail
they cannot pay, and may lose their job and room if they are not out by Monday.
Sam filled in a support form before the march asking us to raise bail if needed.
Funds-Use:
- 2500 USD cash bail posted by the fund
- anything over the goal stays with the fund for the next person
How-To-Help:
Give at the link, share this appeal, and reply if you can drive on release day.
"""

LOWERCASE_PHONE_STYLE = """\
hi, please post this

template: BAIL
title: Bond for K.
filed by: champion
relation: neighbour
consent: lawyer
name: K.
location: Riverside, CA
held_at: Riverside Processing Center
bail: usd 7,500
amount: 7500usd
needed by: asap
posted by: Inland Bond Fund
bail return: donors
funds holder: Inland Bond Fund pays the bond to the agency
donate:
- Venmo: @inland-bond
- $InlandBond
- https://inlandbond.example/kim
story:
K. has lived here for eleven years and looks after two children while their
partner works nights. K. was detained at a check-in and the family cannot pay.
funds_use:
- 7500 USD immigration bond
how to help:
Give what you can and share this appeal.
-- 
sent from my phone
"""

SUBJECT_TAG_DIRECT = """\
Title: Free Jordan Reyes
Filed-By: champion
Relation: defence committee
Consent: direct
Name-To-Publish: Jordan Reyes
Location: Portland, OR
Held-At: Multnomah County Detention Center
Bail: 10,000 USD
Deadline: 18 December 2026
Amount: 2.500,50 EUR
Raised: 300 EUR
Posted-By: Jordan's mother
Bail-Return: person
Charges: disorderly conduct at a peaceful sit-in
Funds-Holder: Jordan's mother receives the money and pays the court
Donate: https://fund.example/jordan, https://other.example/jordan
Contact: +1 503 555 0142
Contact-Public: yes
Language: es-MX
Tags: Bail, Portland,  sit-in
Story:
Jordan was arrested at the sit-in for housing justice on Tuesday. Jordan agreed to this
text and asked us to publish it with their name so people know who to support.
Funds-Use: 10000 USD bail
- anything left goes back to donors through the fund
How-To-Help:
Give at the links.
Private:
Booking number 2026-114532, DOB 1999-02-03, call me on 503 555 0199.
"""


@pytest.mark.parametrize("text,subject,expected", [
    pytest.param(form_text(), "", {
        "Filed-By": "self", "Goal": "1500 USD", "Needed-By": "2026-12-01",
        "Donate": ("https://inlandbail.example/dana",),
        "Funds-Use": ("1500 USD cash bail posted by the fund",)}, id="self"),
    pytest.param(SPEC_EXAMPLE, "", {
        "Consent": "prior", "Name-To-Publish": "Sam R.", "Bail": "2500 USD",
        "Needed-By": "2026-12-18",
        "Funds-Use": ("2500 USD cash bail posted by the fund",
                      "anything over the goal stays with the fund for the next person")},
        id="spec-example-champion-prior"),
    pytest.param(LOWERCASE_PHONE_STYLE, "", {
        "Template": "bail", "Filed-By": "champion", "Consent": "lawyer",
        "Name-To-Publish": "K.", "Held-At": "Riverside Processing Center", "Bail": "7500 USD",
        "Goal": "7500 USD", "Needed-By": "ASAP", "Bail-Return": "donors",
        "Donate": ("Venmo: @inland-bond", "$InlandBond", "https://inlandbond.example/kim"),
        "How-To-Help": "Give what you can and share this appeal."},
        id="lawyer-asap-handles-lowercase-synonyms"),
    pytest.param(SUBJECT_TAG_DIRECT, "Re: [bail] Free Jordan", {
        "Template": "bail", "Consent": "direct", "Name-To-Publish": "Jordan Reyes",
        "Bail": "10000 USD", "Goal": "2500.50 EUR", "Raised": "300 EUR",
        "Needed-By": "2026-12-18", "Charges": "disorderly conduct at a peaceful sit-in",
        "Donate": ("https://fund.example/jordan", "https://other.example/jordan"),
        "Contact": "+1 503 555 0142", "Language": "es-MX", "Tags": ("bail", "portland", "sit-in"),
        "Funds-Use": ("10000 USD bail", "anything left goes back to donors through the fund")},
        id="subject-tag-direct-charges-contact-public"),
    pytest.param(form_text({7: "GOAL: €1.500", 8: "Needed-By: December 1st, 2026",
                            12: "Donate: $dana-bail"}), "", {
        "Goal": "1500 EUR", "Needed-By": "2026-12-01", "Donate": ("$dana-bail",)},
        id="euro-sign-ordinal-date-cashtag"),
    pytest.param(form_text({7: "Goal: 1500 USD", 8: "Needed-By: Now"},
                           ["Raised: 250.5 USD", "Other-Needs:", "rides to court on the 3rd"]), "",
                 {"Raised": "250.50 USD", "Needed-By": "ASAP",
                  "Other-Needs": "rides to court on the 3rd"}, id="raised-other-needs"),
])
def test_valid_requests(text: str, subject: str, expected: dict) -> None:
    v = check(text, subject)
    assert errors(v) == []
    # The spec's own example asks readers to "reply if you can drive" and gives no Contact:
    # replies would reach the society's robot, which the member is warned about.
    assert [w for w in warnings(v) if w[0] != "How-To-Help"] == []
    assert v.ok
    for name, value in expected.items():
        assert v.values[name] == value, name


def test_values_are_in_template_order_and_private_is_kept_apart() -> None:
    v = check(SUBJECT_TAG_DIRECT, "[bail] x")
    assert list(v.values)[:4] == ["Template", "Title", "Filed-By", "Relation"]
    assert "Private" not in v.values
    assert v.private == ("Booking number 2026-114532, DOB 1999-02-03, call me on "
                         "503 555 0199.")


# --- invalid requests: the exact errors ----------------------------------------------------

INVALID = [
    # privacy lint
    pytest.param({15: "to be out by Monday to keep my job. My DOB is 03/04/1990."}, (), [
        ("Story", 15, "remove the date of birth: it is never published")], id="dob"),
    pytest.param({14: "I was born on 4 March 1990 and arrested on Friday and cannot pay bail."}, (), [
        ("Story", 14, "remove the date of birth: it is never published")], id="born-on"),
    pytest.param({5: "Held-At: Riverside County Jail, booking #2026-114532"}, (), [
        ("Held-At", 5, "remove the booking, docket, case or alien number: it is never published")],
        id="booking-number"),
    pytest.param({14: "I was arrested on Friday (docket 26-CR-1234) and cannot pay the bail. I"}, (), [
        ("Story", 14, "remove the booking, docket, case or alien number: it is never published")],
        id="docket-number"),
    pytest.param({15: "to be out by Monday. My A-number is A 212-345-678, please help."}, (), [
        ("Story", 15, "remove the booking, docket, case or alien number: it is never published")],
        id="alien-number-spaced"),
    pytest.param({19: "Give at the link; mention A212345678 when you call the centre."}, (), [
        ("How-To-Help", 19,
         "remove the booking, docket, case or alien number: it is never published")],
        id="alien-number-compact"),
    pytest.param({15: "to be out by Monday. SSN 123-45-6789 for the paperwork."}, (), [
        ("Story", 15, "remove what looks like a social security number: it is never published")],
        id="ssn"),
    pytest.param({4: "Location: 1412 Elm Street, Riverside, CA"}, (), [
        ("Location", 4, "give only the town or city and region, never a street address")],
        id="street-address"),
    pytest.param({4: "Location: Apt 4, Riverside, CA"}, (), [
        ("Location", 4, "give only the town or city and region, never a street address")],
        id="apartment"),
    # consent
    pytest.param(CHAMPION, [*CHAMPION_ADD, "Charges: trespass"], [
        ("Charges", 22, "only published with Consent: direct (the person approved this exact "
                        "text); remove it or get consent")], id="charges-without-direct"),
    pytest.param(CHAMPION, ["Relation: friend", "Consent: pending", "Name-To-Publish: Dana Whitfield"], [
        ("Name-To-Publish", 22, "with Consent: pending publish an alias or initials only")],
        id="full-name-pending"),
    pytest.param(CHAMPION, [], [
        ("Relation", None, "this field is required (you are filing as a champion): champions "
                           "only: how you know the person, like housemate or defence committee"),
        ("Consent", None, "this field is required (you are filing as a champion): champions "
                          "only. direct: the person approved this exact text; prior: they left "
                          "standing instructions (an arrestee support form); lawyer: their "
                          "lawyer approved it; pending: not asked yet, so only an alias is "
                          "published, no charges, and the appeal ends after 7 days")],
        id="champion-fields-missing"),
    pytest.param({**CHAMPION}, ["Relation: friend", "Consent: maybe"], [
        ("Consent", 21, "'maybe' is not one of: direct, prior, lawyer, pending")],
        id="bad-consent"),
    pytest.param({}, ["Contact: 503-555-0142"], [
        ("Contact", 20, "a personal phone or email is only published with Contact-Public: yes; "
                        "leave Contact empty to use the society's address")], id="personal-phone"),
    pytest.param({}, ["Contact: dana.w@example.org", "Contact-Public: no"], [
        ("Contact", 20, "a personal phone or email is only published with Contact-Public: yes; "
                        "leave Contact empty to use the society's address")], id="personal-email"),
    # dates
    pytest.param({8: "Needed-By: 2026-11-01"}, (), [
        ("Needed-By", 8, "this date is in the past")], id="past-date"),
    pytest.param({8: "Needed-By: 12/01/2026"}, (), [
        ("Needed-By", 8, "write a date like 2026-12-18, or ASAP")], id="ambiguous-date"),
    # links
    pytest.param({12: "Donate: http://inlandbail.example/dana"}, (), [
        ("Donate", 12, "use an https:// link, not http:// (http://inlandbail.example/dana)")],
        id="http-link"),
    pytest.param({12: "Donate: https://bit.ly/dana-bail"}, (), [
        ("Donate", 12, "bit.ly is a link shortener: give the full link so readers can see "
                       "where it goes")], id="shortener"),
    pytest.param({12: "Donate: https://www.TinyURL.com/abc"}, (), [
        ("Donate", 12, "tinyurl.com is a link shortener: give the full link so readers can see "
                       "where it goes")], id="shortener-www-case"),
    pytest.param({12: "Donate: javascript:alert(document.cookie)"}, (), [
        ("Donate", 12, "javascript: links are not allowed")], id="javascript-donate"),
    pytest.param({12: "Donate: data:text/html;base64,PHNjcmlwdD4="}, (), [
        ("Donate", 12, "data: links are not allowed")], id="data-donate"),
    pytest.param({19: "Give at the link or click javascript:alert(1) to help."}, (), [
        ("How-To-Help", 19, "javascript: links are not allowed")], id="javascript-in-section"),
    pytest.param({12: "Donate: https://a.example/1 https://b.example/2, https://c.example/3 "
                      "https://d.example/4"}, (), [
        ("Donate", 12, "give at most 3 links (4 given)")], id="four-links"),
    pytest.param({12: "Donate: paypal.me/dana"}, (), [
        ("Donate", 12, "'paypal.me/dana' is not an https link or a payment handle like @name")],
        id="bare-domain"),
    pytest.param({12: "Donate: https://user:pw@inlandbail.example/"}, (), [
        ("Donate", 12, "links must not contain a user name or password")], id="userinfo"),
    pytest.param({15: "Status: funded, thanks to everyone who gave already last week."}, (), [
        ("Story", 15, "a line starting 'Status:' would look like part of what the society adds "
                      "to the appeal; reword it")], id="system-field-in-story"),
    # money
    pytest.param({7: "Goal: 1500"}, (), [
        ("Goal", 7, "add the ISO 4217 currency code, like 2500 USD")], id="no-currency"),
    pytest.param({7: "Goal: $1500"}, (), [
        ("Goal", 7, "$ is used by several currencies: write the code, like 1500 USD or "
                    "1500 CAD")], id="dollar-sign-only"),
    pytest.param({7: "Goal: 1500 DOL"}, (), [
        ("Goal", 7, "DOL is not an ISO 4217 currency code (USD, EUR, MXN, ...)")],
        id="unknown-currency"),
    pytest.param({7: "Goal: 1500 XAU"}, (), [
        ("Goal", 7, "XAU is not an ISO 4217 currency code (USD, EUR, MXN, ...)")],
        id="gold-is-no-currency"),
    pytest.param({7: "Goal: 0 USD"}, (), [
        ("Goal", 7, "the amount must be above zero, with at most two decimals")], id="zero"),
    pytest.param({7: "Goal: 1,50,0 USD"}, (), [
        ("Goal", 7, "write the amount with digits, like 2500 or 2500.50")], id="garbled-number"),
    pytest.param({7: "Goal: fifteen hundred dollars"}, (), [
        ("Goal", 7, "write an amount and its currency code, like 2500 USD")], id="words"),
    pytest.param({}, ["Raised: 100 EUR"], [
        ("Raised", 20, "give Raised in the same currency as Goal")], id="raised-other-currency"),
    # sections and choices
    pytest.param({14: "Please help me.", 15: ""}, (), [
        ("Story", 13, "write at least 20 words (3 so far)")], id="short-story"),
    pytest.param({10: "Bail-Return: lawyer"}, (), [
        ("Bail-Return", 10, "'lawyer' is not one of: fund, donors, person")], id="bad-bail-return"),
    pytest.param({2: "Title: " + "x" * 91}, (), [
        ("Title", 2, "at most 90 characters (91 given)")], id="long-title"),
    pytest.param({3: "Filed-By: friend"}, (), [
        ("Filed-By", 3, "'friend' is not one of: self, champion")], id="bad-filed-by"),
    pytest.param({17: ""}, (), [
        ("Funds-Use", 16, "this field is required: one \"- \" line per item")], id="empty-list"),
    pytest.param({1: "Template: bial"}, (), [
        ("Template", 1, "'bial' is not a template; write Template: followed by one of "
                      + ", ".join(CAT.names()))],
        id="unknown-template"),
    pytest.param({}, ["Title: Another title"], [
        (None, 20, "Title is given twice (first on line 2); only the first is used")],
        id="duplicate-key"),
    pytest.param({}, ["Language: english please"], [
        ("Language", 20, "write a language tag like en, es or pt-BR")], id="bad-language"),
]


@pytest.mark.parametrize("replace,add,expected", INVALID)
def test_invalid_requests(replace: dict[int, str], add: list[str], expected: list) -> None:
    v = check(form_text(replace, list(add)))
    assert errors(v) == expected
    assert not v.ok


@pytest.mark.parametrize("drop,field_name,help_text", [
    (5, "Held-At", "the jail or detention facility"),
    (6, "Bail", "the bail or bond amount, like 2500 USD"),
    (9, "Posted-By", "the bail fund or person who will post it"),
    (10, "Bail-Return", "where returned bail goes. fund: the fund keeps it for the next person; "
                        "donors: it is given back to the donors; person: it goes to the person "
                        "who was held"),
    (12, "Donate", "1 to 3 https links or payment handles, no link shorteners"),
    (4, "Location", "town or city and region, never a street address"),
])
def test_missing_required_fields(drop: int, field_name: str, help_text: str) -> None:
    v = check(form_text(drop=(drop,)))
    assert errors(v) == [(field_name, None, f"this field is required: {help_text}")]


def test_no_template_anywhere_is_read_as_the_template_its_fields_tell() -> None:
    v = check(form_text(drop=(1,)))
    assert errors(v) == []
    assert v.template is not None and v.template.name == "bail"
    assert [i.field for i in v.warnings] == ["Template"]


def test_the_invalid_sample_reports_every_problem_at_once() -> None:
    text = """\
Title: Alex needs bail
Filed-By: champion
Relation: friend
Consent: prior
Name-To-Publish: Alex Marquez Rivera
Location: 1412 Elm Street, Anytown, OR
Held-At: Anytown County Jail, booking #2026-114532
Bail: 5000
Goal: 5000 USD
Needed-By: 2020-01-15
Donate: http://bit.ly/alex-bail
Funds-Holder: me
Charges: trespass
Bail-Return: lawyer
Story:
Alex is held. Please help.
"""
    v = check(text, "[bail] please help Alex")
    assert sorted(errors(v), key=lambda e: (e[1] or 0, e[0])) == [
        ("Funds-Use", None, 'this field is required: one "- " line per item'),
        ("How-To-Help", None, "this field is required: exactly what readers can do"),
        ("Posted-By", None, "this field is required: the bail fund or person who will post it"),
        ("Location", 6, "give only the town or city and region, never a street address"),
        ("Held-At", 7, "remove the booking, docket, case or alien number: it is never published"),
        ("Bail", 8, "add the ISO 4217 currency code, like 2500 USD"),
        ("Needed-By", 10, "this date is in the past"),
        ("Donate", 11, "use an https:// link, not http:// (http://bit.ly/alex-bail)"),
        ("Donate", 11, "bit.ly is a link shortener: give the full link so readers can see where "
                       "it goes"),
        ("Charges", 13, "only published with Consent: direct (the person approved this exact "
                        "text); remove it or get consent"),
        ("Bail-Return", 14, "'lawyer' is not one of: fund, donors, person"),
        ("Story", 15, "write at least 20 words (5 so far)"),
    ]
    assert warnings(v) == [("Name-To-Publish", 5, "this looks like a full name; without "
                            "Consent: direct use a first name, alias or initials")]


# --- warnings (publication goes ahead) -----------------------------------------------------


@pytest.mark.parametrize("replace,add,expected", [
    pytest.param(CHAMPION, [*CHAMPION_ADD, "Name-To-Publish: Dana Whitfield"], [
        ("Name-To-Publish", 22, "this looks like a full name; without Consent: direct use a "
                                "first name, alias or initials")], id="full-name-prior"),
    pytest.param({8: "Needed-By: 2028-01-01"}, (), [
        ("Needed-By", 8, "this date is more than a year ahead")], id="far-future"),
    pytest.param({}, ["Tags: bail", "Favourite-Colour: green"], [
        (None, 21, "'Favourite-Colour' is not a field of any template; this line is ignored")],
        id="unknown-key"),
])
def test_warnings_do_not_block(replace: dict, add: list, expected: list) -> None:
    v = check(form_text(replace, list(add)))
    assert errors(v) == []
    assert warnings(v) == expected
    assert v.ok


def test_a_full_name_with_direct_consent_is_fine() -> None:
    v = check(form_text(CHAMPION, ["Relation: friend", "Consent: direct",
                                   "Name-To-Publish: Dana Whitfield"]))
    assert v.issues == []


def test_self_filers_may_publish_charges() -> None:
    v = check(form_text(add=["Charges: trespass"]))
    assert v.issues == []


# --- the privacy lint must not flag legitimate content ------------------------------------

CLEAN_STORIES = [
    "Dana was born in Marseille and has lived in Riverside since 2019 with their family.",
    "Dana was born in Decatur and moved here for work at the docks in 2021.",
    "Mr Dobbs from the tenants' union will drive Dana home on release day.",
    "Dana lost their social security benefits last year and cannot pay 1,500 USD.",
    "In case 1000 people share this, we will raise the bail by Monday night.",
    "Dana has spent 12 days in jail 2 times this year; the jail 2500 USD bail is unfair.",
    "The bail of $2,500.00 was set on 2026-11-20 at 10:30 by the court in room 101.",
    "Call the fund at the number on their site; the case is weak and the hearing is soon.",
    "The fund has posted bail for 120 people since 2020, returning 98 percent of it.",
    "Dana's alien status is not anyone's business; Dana is a neighbour and a friend.",
]


@pytest.mark.parametrize("sentence", [
    "Dana missed their daughter's birthday party on Saturday because of the arrest.",
    "Dana cares for 3 kids aged 4, 7 and 11 and works 40 hours a week at the depot.",
])
def test_children_are_a_warning_for_self_filers(sentence: str) -> None:
    v = check(form_text({15: sentence}))
    assert v.ok and [i.field for i in v.issues] == ["Story"], v.issues


@pytest.mark.parametrize("sentence", CLEAN_STORIES)
def test_no_false_alarm_in_ordinary_stories(sentence: str) -> None:
    v = check(form_text({15: sentence}))
    assert v.issues == [], sentence


@pytest.mark.parametrize("line", [
    "Location: St. Paul, MN", "Location: 29 Palms, CA", "Location: Fort Worth, TX",
    "Location: 100 Mile House, BC", "Location: Ciudad Juárez, Chihuahua",
])
def test_no_false_alarm_in_place_names(line: str) -> None:
    assert check(form_text({4: line})).issues == []


@pytest.mark.parametrize("line", [
    "Donate: https://inlandbail.example/give/2026-114532",
    "Donate: https://inlandbail.example/case/12345",
    "Donate: https://inlandbail.example/booking",
])
def test_no_false_alarm_in_donation_links(line: str) -> None:
    assert check(form_text({12: line})).issues == []


def test_private_section_is_never_linted() -> None:
    v = check(form_text(add=["Private:", "booking #2026-114532, DOB 1990-03-04, SSN 123-45-6789",
                             "A212345678, 1412 Elm Street"]))
    assert v.issues == []
    assert "2026-114532" in v.private


# --- the value checks on their own ---------------------------------------------------------


@pytest.mark.parametrize("text,value", [
    ("2500 USD", "2500 USD"), ("2,500 usd", "2500 USD"), ("USD 2500", "2500 USD"),
    ("2500USD", "2500 USD"), ("2500.5 USD", "2500.50 USD"), ("2.500 EUR", "2500 EUR"),
    ("2.500,75 EUR", "2500.75 EUR"), ("25,50 EUR", "25.50 EUR"), ("1'000 CHF", "1000 CHF"),
    ("1 000 000 MXN", "1000000 MXN"), ("€ 300", "300 EUR"), ("£300", "300 GBP"),
    ("$300 USD", "300 USD"), ("12000 mxn", "12000 MXN"),
])
def test_amounts(text: str, value: str) -> None:
    assert checks.amount(text) == (value, [])


@pytest.mark.parametrize("text,value", [
    ("2026-12-18", "2026-12-18"), ("18 December 2026", "2026-12-18"), ("18 Dec 2026", "2026-12-18"),
    ("December 18, 2026", "2026-12-18"), ("Dec 18 2026", "2026-12-18"), ("18th December 2026",
                                                                          "2026-12-18"),
    ("asap", "ASAP"), ("As soon as possible", "ASAP"), (TODAY.isoformat(), TODAY.isoformat()),
])
def test_dates(text: str, value: str) -> None:
    assert checks.date_or_asap(text, TODAY) == (value, [])


@pytest.mark.parametrize("name,full", [
    ("Samuel Rivera", True), ("María José Ortiz", True), ("Sam R.", False), ("S.R.", False),
    ("Sam", False), ("sam rivera", False), ("Sam (they/them)", False),
])
def test_full_names(name: str, full: bool) -> None:
    assert checks.looks_like_full_name(name) is full


# --- the privacy lint on its own -----------------------------------------------------------

BAIL_CHECKS = ("no-birth-dates", "no-case-numbers", "no-ssn")


@pytest.mark.parametrize("text", [
    "Booking No. 12345678", "inmate id 4455667", "case no. 3:26-cr-00123", "A# 212345678",
    "a-file 212-345-678", "Born: 03/04/1990", "born 4/3/1990", "birthday is on March 3",
    "D.O.B. 1/2/1990", "date of birth 1990-01-02", "booking number is 2026114532",
    "Prisoner #A12-345", "SSN: 123 45 6789", "social security number 123456789",
    "alien registration number 212345678", "Case CR-2026-0012", "green card 123-456-789",
    "A-12345678", "docket: 2026-CV-0042",
])
def test_privacy_lint_finds(text: str) -> None:
    from masbot.story import privacy
    assert privacy.lint(BAIL_CHECKS, [("Story", text)]), text


@pytest.mark.parametrize("text", [
    "born and raised here", "the court 2026-11-20 hearing", "2500 USD", "call 503-555-0142",
    "Dec 2026", "in jail 2026-11-20", "jail time of 120 days", "the case is 100% weak",
    "A 2500 USD bond", "a 100 200 300 plan", "Room 1412, 3rd floor of the courthouse",
    "Sam turns 30 next week", "held 2026-11-20 to 2026-11-23", "https://fund.example/case/12345",
])
def test_privacy_lint_leaves_alone(text: str) -> None:
    from masbot.story import privacy
    assert privacy.lint(BAIL_CHECKS, [("Story", text)]) == [], text


@pytest.mark.parametrize("how, contact, warned", [
    ("Give at the link, and reply to this email if you can drive.", None, True),
    ("Reply here with what you can bring.", None, True),
    ("Responde a este correo si puedes manejar.", None, True),
    ("Give at the link, and reply to this email if you can drive.",
     "Contact: rides@bailfund.example\nContact-Public: yes", False),
    ("Give at the link and share this appeal.", None, False),
    ("Call the fund's hotline if you can drive on release day.", None, False),
])
def test_a_how_to_help_that_asks_for_replies_needs_a_contact(how: str, contact: str | None,
                                                             warned: bool) -> None:
    text = SPEC_EXAMPLE.replace(
        "Give at the link, share this appeal, and reply if you can drive on release day.", how)
    v = check(text + (contact + "\n" if contact else ""))
    assert v.ok
    assert any(i.field == "How-To-Help" and "reaches the society's robot" in i.message
               for i in v.warnings) == warned
