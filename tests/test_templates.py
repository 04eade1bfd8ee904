"""Every story template, table driven: valid samples and invalid ones with their exact errors.

Each template has a base request (valid) whose lines are numbered; a sample replaces lines in
place, drops some, or adds lines at the end, so the line numbers in the expected errors stay
true. Each invalid sample names every error it must produce as ``(field, line, message)``;
each warning sample the warnings. ``today`` and ``now`` are fixed, never read from a clock.
The ``bail`` template has its own, longer table in ``test_validate.py``.
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from pathlib import Path

import pytest

from masbot.story import templates as forms
from masbot.story import privacy
from masbot.story import form as story
from masbot.story import validate

CAT = forms.builtin()
TODAY = date(2026, 11, 23)
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)

BASES: dict[str, list[str]] = {
    "legal": [
        "Template: legal",                                                           # 1
        "Title: Help Ana pay her lawyer before the trial",                           # 2
        "Filed-By: self",                                                            # 3
        "Location: Salem, OR",                                                       # 4
        "Case-Stage: pre-trial",                                                     # 5
        "Lawyer-Reviewed: yes",                                                      # 6
        "Goal: 4000 USD",                                                            # 7
        "Needed-By: 2027-01-15",                                                     # 8
        "Donate: https://defence.example/ana",                                       # 9
        "Funds-Holder: Salem Defence Committee pays the lawyer directly",            # 10
        "Story:",                                                                    # 11
        "Ana has organised with her neighbours for ten years. She faces a trial next",  # 12
        "spring and the public defender has no time to prepare it well. A lawyer who",  # 13
        "knows protest work has agreed to take it on for a reduced fee.",            # 14
        "Funds-Use:",                                                                # 15
        "- 3500 USD lawyer's fee",                                                   # 16
        "- 500 USD court transcripts",                                               # 17
        "How-To-Help:",                                                              # 18
        "Give at the link and come to the hearings when we post the dates.",         # 19
    ],
    "hardship": [
        "Template: hardship",                                                        # 1
        "Title: Help Lee cover rent after losing their job",                         # 2
        "Filed-By: self",                                                            # 3
        "Location: Tacoma, WA",                                                      # 4
        "Category: job-loss",                                                        # 5
        "Goal: 1800 USD",                                                            # 6
        "Needed-By: 2026-12-20",                                                     # 7
        "Donate: https://pay.example/lee",                                           # 8
        "Funds-Holder: Lee receives the money directly",                             # 9
        "Story:",                                                                    # 10
        "I lost my job at the warehouse when it closed without notice last month. The",  # 11
        "last paycheck never came and rent is due on the first. I look for work daily.",  # 12
        "Funds-Use:",                                                                # 13
        "- 1400 USD rent for December",                                              # 14
        "- 400 USD groceries and bus fare",                                          # 15
        "How-To-Help:",                                                              # 16
        "Give at the link or share this with anyone hiring in Tacoma.",              # 17
    ],
    "housing": [
        "Template: housing",                                                         # 1
        "Title: Keep Maria and her family housed this winter",                       # 2
        "Filed-By: self",                                                            # 3
        "Location: Oakland, CA",                                                     # 4
        "Category: eviction",                                                        # 5
        "Hard-Deadline: 2026-12-10",                                                 # 6
        "Paid-To: landlord-direct",                                                  # 7
        "Goal: 3200 USD",                                                            # 8
        "Needed-By: 2026-12-08",                                                     # 9
        "Donate: https://housingfund.example/maria",                                 # 10
        "Funds-Holder: The tenants union pays the landlord directly",                # 11
        "Story:",                                                                    # 12
        "We fell two months behind on rent after my hours were cut. The landlord",   # 13
        "filed for eviction and the court date is set. Paying it all stops it.",     # 14
        "Funds-Use:",                                                                # 15
        "- 3200 USD two months of rent paid to the landlord",                        # 16
        "How-To-Help:",                                                              # 17
        "Give at the link and share with the tenants union list.",                   # 18
    ],
    "disaster": [
        "Template: disaster",                                                        # 1
        "Title: Flood relief for the Riverside neighbourhoods",                      # 2
        "Filed-By: self",                                                            # 3
        "Location: Riverside, CA",                                                   # 4
        "Event: the Santa Ana River flood of 21 November",                           # 5
        "Area: Riverside and Jurupa Valley",                                         # 6
        "Needs:",                                                                    # 7
        "- 40 tarps",                                                                # 8
        "- 200 litres of drinking water",                                            # 9
        "- 12 volunteers with trucks",                                               # 10
        "Drop-Off:",                                                                 # 11
        "- Riverside Main Library, side door",                                       # 12
        "- Fairmount Park boathouse",                                                # 13
        "Organizer: Riverside Mutual Aid",                                           # 14
        "Valid-Until: 2026-12-15",                                                   # 15
        "How-To-Help:",                                                              # 16
        "Bring what you can to a drop-off point between 9 and 5, or sign up to drive.",  # 17
    ],
    "callin": [
        "Template: callin",                                                          # 1
        "Title: Call the sheriff: stop the transfer to ICE",                         # 2
        "Filed-By: self",                                                            # 3
        "Location: Portland, OR",                                                    # 4
        "Target: Multnomah County Sheriff's Office",                                 # 5
        "Target-Phone: (503) 988-4300",                                              # 6
        "Window: 2026-12-01 09:00–17:00 America/Los_Angeles",                        # 7
        "Demand: Do not hand our neighbour over to ICE; release them to their family.",  # 8
        "Script:",                                                                   # 9
        "Hello, I am calling about a person held at the county jail. I ask the",     # 10
        "sheriff to follow county policy and not transfer them to ICE. Please",      # 11
        "release them to their family. Thank you.",                                  # 12
    ],
    "gathering": [
        "Template: gathering",                                                       # 1
        "Title: Jail support outside the county jail this Saturday",                 # 2
        "Filed-By: self",                                                            # 3
        "Location: Anytown, OR",                                                     # 4
        "Kind: jail-support",                                                        # 5
        "Where: the public plaza across from the county jail",                       # 6
        "Start: 2026-11-28 18:00 America/Los_Angeles",                               # 7
        "End: 23:00",                                                                # 8
        "Why:",                                                                      # 9
        "Friends were arrested at the march on Friday. We wait outside with food",  # 10
        "so that everyone released tonight is met by friendly faces and a ride.",    # 11
        "Bring:",                                                                    # 12
        "- warm clothes",                                                            # 13
        "- snacks and water",                                                        # 14
        "Safety:",                                                                   # 15
        "Stay on the public sidewalk, bring a buddy, and do not talk to police.",    # 16
    ],
    "press": [
        "Template: press",                                                           # 1
        "Title: Tenants win a pause on the Elm Court evictions",                     # 2
        "Filed-By: self",                                                            # 3
        "Location: Anytown, OR",                                                     # 4
        "Kind: release",                                                             # 5
        "Release: immediate",                                                        # 6
        "Dateline: ANYTOWN, Ore., Nov. 23",                                          # 7
        "Headline: Tenants win a pause on the Elm Court evictions",                  # 8
        "Lede:",                                                                     # 9
        "Tenants of the Elm Court apartments won a pause on evictions on Monday",    # 10
        "after a week of protests outside the management office.",                   # 11
        "Body:",                                                                     # 12
        "The pause covers all households. The tenants union will keep meeting",     # 13
        "weekly and asks the city council to make the pause permanent.",             # 14
        "About:",                                                                    # 15
        "The Anytown Tenants Union organises renters across the county.",            # 16
        "Media-Contact: press@tenants.example, +1 503 555 0100",                     # 17
    ],
    "update": [
        "Template: update",                                                          # 1
        "Refers-To: ANYTOWN-2026-0001",                                              # 2
        "Update-Key: k3y-abcdefghijklmnop",                                          # 3
        "Status: funded",                                                            # 4
        "Stop-Sharing: yes",                                                         # 5
        "Note:",                                                                     # 6
        "Thank you all: the bail is paid and Sam is home.",                          # 7
    ],
}


MEDICAL_SELF = ("is medical detail. As you file for yourself, leave it out, or add "
                "Medical-Details-OK: yes when the person agreed to publish it. Why: health "
                "details are the person's own to share; publish them only when they agreed")

def form_text(template: str, replace: dict[int, str] | None = None, add: list[str] = (),
              drop: tuple[int, ...] = ()) -> str:
    """The template's base request with lines replaced (by number), dropped, and added."""
    lines = list(BASES[template])
    for number, text in (replace or {}).items():
        lines[number - 1] = text
    lines = [line for number, line in enumerate(lines, start=1) if number not in drop]
    return "\n".join([*lines, *add]) + "\n"


def check(text: str) -> validate.Validation:
    return validate.validate(story.parse(text, "", CAT), CAT, TODAY, NOW)


def issues(v: validate.Validation, severity: str) -> list[tuple[str | None, int | None, str]]:
    return [(i.field, i.line, i.message) for i in v.issues if i.severity == severity]


def case(template: str, replace: dict | None = None, add: list[str] = (), drop: tuple = (),
         expected: object = None, id: str = "") -> object:
    return pytest.param(template, replace or {}, list(add), drop, expected, id=f"{template}-{id}")


DISASTER_STORY = ("The river rose overnight and flooded more than two hundred homes in the "
                  "low streets; families are staying with neighbours and in the school gym.")
REQUIRED = "this field is required: "
PRIVATE_NUMBER = "remove the booking, docket, case or alien number: it is never published"
BIRTH_DATE = "remove the date of birth: it is never published"
SSN = "remove what looks like a social security number: it is never published"

# --- valid samples: (template, replace, add, drop, expected public values) -----------------

VALID = [
    case("legal", expected={"Case-Stage": "pre-trial", "Lawyer-Reviewed": "yes",
                            "Goal": "4000 USD"}, id="self"),
    case("legal", {3: "Filed-By: champion", 5: "Case-Stage: Pre Trial"},
         ["Relation: defence committee", "Consent: lawyer"],
         expected={"Case-Stage": "pre-trial", "Consent": "lawyer"}, id="champion-lawyer"),
    case("legal", {5: "Case-Stage: immigration", 6: "Lawyer-Reviewed: no", 7: "Goal: 3.000 EUR"},
         ["Charges: blocking a road at a climate march"],
         expected={"Case-Stage": "immigration", "Goal": "3000 EUR",
                   "Charges": "blocking a road at a climate march"}, id="self-charges-euro"),
    case("hardship", expected={"Category": "job-loss", "Goal": "1800 USD"}, id="job-loss"),
    case("hardship", {5: "Category: medical",
                      12: "last paycheck never came and my chemotherapy starts next week."},
         ["Medical-Details-OK: yes"],
         expected={"Category": "medical", "Medical-Details-OK": "yes"}, id="medical-with-ok"),
    case("hardship", {5: "Category: Funeral", 8: "Donate: Venmo: @lee-family"},
         expected={"Category": "funeral", "Donate": ("Venmo: @lee-family",)}, id="funeral"),
    case("housing", expected={"Hard-Deadline": "2026-12-10", "Paid-To": "landlord-direct"},
         id="eviction"),
    case("housing", {5: "Category: utility shutoff", 6: "Court-Date: December 2nd, 2026",
                     7: "Paid-To: utility"},
         expected={"Category": "utility-shutoff", "Hard-Deadline": "2026-12-02",
                   "Paid-To": "utility"}, id="utility-synonym-date"),
    case("housing", {7: "Paid-To: tenant"}, drop=(5,), expected={"Paid-To": "tenant"},
         id="no-category-tenant"),
    case("disaster", expected={
        "Needs": ("40 tarps", "200 litres of drinking water", "12 volunteers with trucks"),
        "Drop-Off": ("Riverside Main Library, side door", "Fairmount Park boathouse"),
        "Valid-Until": "2026-12-15"}, id="goods-only"),
    case("disaster", add=["Goal: 5000 USD", "Donate: https://riversideaid.example/flood",
                          "Funds-Holder: Riverside Mutual Aid buys supplies in bulk"],
         expected={"Goal": "5000 USD", "Donate": ("https://riversideaid.example/flood",)},
         id="with-money"),
    case("disaster", {8: "- ten generators"}, ["Story:", DISASTER_STORY],
         drop=(11, 12, 13), expected={"Needs": ("ten generators", "200 litres of drinking water",
                                                "12 volunteers with trucks")},
         id="number-word-no-drop-off"),
    case("callin", expected={"Target-Phone": "+15039884300",
                             "Window": "2026-12-01 09:00–17:00 America/Los_Angeles"}, id="base"),
    case("callin", {6: "Target-Phone: +1 503 988 4300",
                    7: "Window: 1 December 2026 9am to 5pm America/Los_Angeles"},
         ["Target-Email: sheriff@county.example"],
         expected={"Window": "2026-12-01 09:00–17:00 America/Los_Angeles",
                   "Target-Email": "sheriff@county.example"}, id="words-email"),
    case("callin", {5: "Target: Mayor Jane Doe", 7: "Window: 2026-11-30 22:00 - 2026-12-01 02:00 UTC"},
         expected={"Target": "Mayor Jane Doe",
                   "Window": "2026-11-30 22:00–2026-12-01 02:00 UTC"}, id="overnight-utc"),
    case("gathering", expected={"Kind": "jail-support",
                                "Start": "2026-11-28 18:00 America/Los_Angeles",
                                "End": "2026-11-28 23:00 America/Los_Angeles",
                                "Bring": ("warm clothes", "snacks and water")}, id="jail-support"),
    case("gathering", {5: "Kind: sign wave", 6: "Where: City Hall steps",
                       7: "When: 5 December 2026 5:30pm America/Los_Angeles",
                       8: "End: 2026-12-05 19:00 America/Los_Angeles"},
         expected={"Kind": "sign-wave", "Where": "City Hall steps",
                   "Start": "2026-12-05 17:30 America/Los_Angeles"}, id="sign-wave-synonym"),
    case("gathering", {5: "Kind: vigil", 7: "Start: 2026-12-24 17:00 Europe/Berlin"}, drop=(8,),
         expected={"Kind": "vigil", "Start": "2026-12-24 17:00 Europe/Berlin"}, id="vigil-no-end"),
    case("press", expected={"Kind": "release", "Release": "immediate"}, id="release"),
    case("press", {5: "Kind: advisory",
                   6: "Release: embargoed until 2026-11-25 09:00 America/New_York"},
         expected={"Release": "embargoed until 2026-11-25 09:00 America/New_York"},
         id="advisory-embargo"),
    case("press", {14: 'weekly. "We will not be moved," said a union steward.'},
         ["Quote-Consent: yes"], expected={"Quote-Consent": "yes"}, id="quote-with-consent"),
    case("update", expected={"Refers-To": "ANYTOWN-2026-0001", "Status": "funded",
                             "Stop-Sharing": "yes"}, id="funded"),
    case("update", {2: "Appeal-ID: anytown-2026-0001", 4: "Status: closed"},
         ["Funds-Report:", "- 2500 USD bail, returned to the fund after the case"], drop=(5,),
         expected={"Refers-To": "ANYTOWN-2026-0001", "Status": "closed"}, id="closed"),
    case("update", {4: "Status: extended", 5: "Goal: 3000 USD"},
         ["Needed-By: 2026-12-24"], expected={"Goal": "3000 USD", "Needed-By": "2026-12-24"},
         id="extended"),
    case("update", {4: "Status: redirect", 5: "Redirect-To: https://bailfund.example/next"},
         expected={"Redirect-To": "https://bailfund.example/next"}, id="redirect"),
    case("update", {4: "Status: withdrawn"}, drop=(5, 6, 7), expected={"Status": "withdrawn"},
         id="withdrawn"),
]


@pytest.mark.parametrize("template,replace,add,drop,expected", VALID)
def test_valid_samples(template: str, replace: dict, add: list, drop: tuple,
                       expected: dict) -> None:
    v = check(form_text(template, replace, add, drop))
    assert issues(v, "error") == []
    assert issues(v, "warning") == []
    assert v.template.name == template
    for name, value in expected.items():
        assert v.values[name] == value, name


# --- invalid samples: (template, replace, add, drop, exact errors) -------------------------

INVALID = [
    # legal
    case("legal", {5: "Case-Stage: arrested"}, expected=[
        ("Case-Stage", 5, "'arrested' is not one of: arraigned, pre-trial, trial, sentencing, "
                          "appeal, immigration")], id="bad-stage"),
    case("legal", drop=(6,), expected=[
        ("Lawyer-Reviewed", None, REQUIRED + "yes: the lawyer has read this appeal; no: not yet "
                                             "(anything published can be used in court)")],
         id="no-lawyer-reviewed"),
    case("legal", {13: "spring (docket no. 26CR01234) and the public defender has no time. A lawyer who"},
         expected=[("Story", 13, PRIVATE_NUMBER)], id="docket-number"),
    case("legal", {12: "Ana (DOB 1990-03-04) has organised with her neighbours. She faces a trial next"},
         expected=[("Story", 12, BIRTH_DATE)], id="birth-date"),
    case("legal", {3: "Filed-By: champion"}, ["Relation: friend", "Consent: prior",
                                              "Charges: trespass"], expected=[
        ("Charges", 22, "only published with Consent: direct (the person approved this exact "
                        "text); remove it or get consent")], id="charges-without-consent"),
    case("legal", {8: "Needed-By: 2026-11-01"}, expected=[
        ("Needed-By", 8, "this date is in the past")], id="past-date"),
    # hardship
    case("hardship", {5: "Category: rent"}, expected=[
        ("Category", 5, "'rent' is not one of: medical, crash, job-loss, family-emergency, "
                        "funeral, other")], id="bad-category"),
    case("hardship", {5: "Category: medical",
                      12: "last paycheck never came, and after the surgery I cannot lift."},
         expected=[("Story", 12, "'surgery' " + MEDICAL_SELF)],
         id="medical-without-ok"),
    case("hardship", {5: "Category: medical", 2: "Title: Help Lee after a stroke"},
         ["Medical-Details-OK: no"], expected=[
        ("Title", 2, "'stroke' " + MEDICAL_SELF)], id="medical-ok-no"),
    case("hardship", {12: "paycheck never came. My SSN is 123-45-6789 if the bank asks."},
         expected=[("Story", 12, SSN)], id="ssn"),
    case("hardship", {6: "Goal: 1800"}, expected=[
        ("Goal", 6, "add the ISO 4217 currency code, like 2500 USD")], id="no-currency"),
    case("hardship", {8: "Donate: https://tinyurl.com/lee-rent"}, expected=[
        ("Donate", 8, "tinyurl.com is a link shortener: give the full link so readers can see "
                      "where it goes")], id="shortener"),
    # housing
    case("housing", {14: "filed for eviction at 1412 Elm Street, unit 3. Paying it all stops it."},
         expected=[("Story", 14, "remove the street address ('1412 Elm Street'): give the town "
                                 "only")], id="street-address"),
    case("housing", {6: "Hard-Deadline: 2026-11-20"}, expected=[
        ("Hard-Deadline", 6, "this date is in the past")], id="past-deadline"),
    case("housing", {6: "Hard-Deadline: ASAP"}, expected=[
        ("Hard-Deadline", 6, "write the date, like 2026-12-18")], id="deadline-asap"),
    case("housing", {7: "Paid-To: cash"}, expected=[
        ("Paid-To", 7, "'cash' is not one of: landlord-direct, tenant, utility")], id="bad-paid-to"),
    case("housing", {14: "filed eviction case no. 26-UD-01234 and the date is set. Paying stops it."},
         expected=[("Story", 14, PRIVATE_NUMBER)], id="eviction-case-number"),
    case("housing", drop=(6,), expected=[
        ("Hard-Deadline", None, REQUIRED + "the date on the notice, or the court date, like "
                                           "2026-12-18")], id="no-deadline"),
    # disaster
    case("disaster", {9: "- drinking water"}, expected=[
        ("Needs", 9, "say how many for 'drinking water', like '- 40 tarps'")], id="no-quantity"),
    case("disaster", {13: "- 1412 Elm Street"}, expected=[
        ("Drop-Off", 13, "give a public place like 'City Hall steps', never a street address")],
         id="drop-off-address"),
    case("disaster", {12: "- my garage on the hill"}, expected=[
        ("Drop-Off", 12, "meet at a public place like 'City Hall steps', never at someone's home")],
         id="drop-off-home"),
    case("disaster", {15: "Valid-Until: 2026-11-01"}, expected=[
        ("Valid-Until", 15, "this date is in the past")], id="past-valid-until"),
    case("disaster", add=["Goal: 5000 USD"], expected=[
        ("Donate", None, "this field is required when Goal is given: 1 to 3 https links or "
                         "payment handles, no link shorteners"),
        ("Funds-Holder", None, "this field is required when Goal is given: who receives the "
                               "money and how it reaches the person")], id="goal-without-donate"),
    case("disaster", add=["Story:", DISASTER_STORY + " One family's A-number is A123456789."],
         expected=[
        ("Story", 19, PRIVATE_NUMBER)], id="alien-number"),
    case("disaster", {6: "Area: 20 Main Street, Riverside"}, expected=[
        ("Area", 6, "give only the town or city and region, never a street address")],
         id="area-address"),
    # callin
    case("callin", {5: "Target: Jane Doe"}, expected=[
        ("Target", 5, "name an office or institution (like 'Office of Mayor Jane Doe' or "
                      "'Anytown City Council'), never a private person")], id="private-person"),
    case("callin", {6: "Target-Phone: 555-12"}, expected=[
        ("Target-Phone", 6, "'555-12' is not a valid phone number; write it with its country "
                            "code, like +1 503 555 0100")], id="bad-phone"),
    case("callin", {7: "Window: 2026-12-01 09:00–17:00 PST"}, expected=[
        ("Window", 7, "'PST' is not a time zone name: write a region name like "
                      "America/Los_Angeles or Europe/Berlin")], id="zone-abbreviation"),
    case("callin", {7: "Window: 2026-12-01 09:00–17:00"}, expected=[
        ("Window", 7, "write the window like 2026-12-01 09:00–17:00 America/Los_Angeles")],
         id="no-zone"),
    case("callin", {7: "Window: 2026-12-01 17:00–09:00 America/Los_Angeles"}, expected=[
        ("Window", 7, "the window must end after it starts")], id="end-before-start"),
    case("callin", {7: "Window: 2026-11-20 09:00–17:00 America/Los_Angeles"}, expected=[
        ("Window", 7, "this window is already over")], id="past-window"),
    case("callin", {7: "Window: 2026-12-20 09:00–17:00 America/Los_Angeles"}, expected=[
        ("Window", 7, "the window must lie within the next 14 days")], id="too-far"),
    case("callin", {12: "release them to their family. " + "Thank you so much. " * 35}, expected=[
        ("Script", 9, "at most 150 words (172 given)")], id="script-too-long"),
    case("callin", {8: "Demand: Release the person held on booking #2026-114532."}, expected=[
        ("Demand", 8, PRIVATE_NUMBER)], id="booking-number"),
    # gathering
    case("gathering", {5: "Kind: party"}, expected=[
        ("Kind", 5, "'party' is not one of: rally, march, sign-wave, vigil, picket, "
                    "court-support, jail-support, other")], id="bad-kind"),
    case("gathering", {6: "Where: 1412 Elm Street"}, expected=[
        ("Where", 6, "give a public place like 'City Hall steps', never a street address")],
         id="street-address"),
    case("gathering", {6: "Where: our house on the hill"}, expected=[
        ("Where", 6, "meet at a public place like 'City Hall steps', never at someone's home")],
         id="home"),
    case("gathering", {7: "Start: 2026-11-20 18:00 America/Los_Angeles"}, expected=[
        ("Start", 7, "this time is in the past")], id="past-start"),
    case("gathering", {8: "End: 17:00"}, expected=[
        ("End", 8, "the end must be after the start")], id="end-before-start"),
    case("gathering", {7: "Start: 2026-11-28 18:00"}, expected=[
        ("Start", 7, "write a date, time and time zone, like 2026-12-05 17:30 "
                     "America/Los_Angeles")], id="no-zone"),
    case("gathering", {10: "Jordan Lee was arrested at the march on Friday. We wait with food"},
         expected=[("Why", 10, "do not name arrestees in a support post ('Jordan Lee'): write "
                               "'our friend' or leave the name out")], id="arrestee-name"),
    case("gathering", {2: "Title: Jail support for arrestee Sam"}, expected=[
        ("Title", 2, "do not name arrestees in a support post ('Sam'): write 'our friend' or "
                     "leave the name out")], id="arrestee-name-title"),
    case("gathering", {5: "Kind: court-support",
                       11: "so that the defendant, Alex Kim, sees friendly faces (docket 26-CR-1234)."},
         expected=[("Why", 11, PRIVATE_NUMBER),
                   ("Why", 11, "do not name arrestees in a support post ('Alex Kim'): write "
                               "'our friend' or leave the name out")],
         id="court-support-name-docket"),
    case("gathering", drop=(15, 16), expected=[
        ("Safety", None, REQUIRED + "safety plan, accessibility, what to do if police come")],
         id="no-safety"),
    # press
    case("press", {5: "Kind: statement"}, expected=[
        ("Kind", 5, "'statement' is not one of: release, advisory")], id="bad-kind"),
    case("press", {6: "Release: tomorrow morning"}, expected=[
        ("Release", 6, "write immediate, or embargoed until 2026-12-05 17:30 "
                       "America/Los_Angeles")], id="bad-release"),
    case("press", {6: "Release: embargoed until 2026-11-20 09:00 America/New_York"}, expected=[
        ("Release", 6, "this time is in the past")], id="past-embargo"),
    case("press", {14: 'weekly. "We will not be moved," said a union steward.'}, expected=[
        ("Body", 14, "a quote is only published with Quote-Consent: yes (the person quoted "
                     "approved these words)")], id="quote-without-consent"),
    case("press", {8: "Headline: " + "Tenants win " * 12}, expected=[
        ("Headline", 8, "at most 120 characters (143 given)")], id="long-headline"),
    case("press", drop=(9, 10, 11), expected=[
        ("Lede", None, REQUIRED + "the first paragraph, who, what, when, where")], id="no-lede"),
    case("press", {16: "Our spokesperson (born 4 March 1980) organises renters in the county."},
         expected=[("About", 16, BIRTH_DATE)], id="birth-date"),
    # update
    case("update", {2: "Refers-To: the bail appeal for Sam"}, expected=[
        ("Refers-To", 2, "write the Appeal-ID from your answer, like ANYTOWN-2026-0001")],
         id="bad-appeal-id"),
    case("update", {4: "Status: done"}, expected=[
        ("Status", 4, "'done' is not one of: update, extended, funded, redirect, closed, "
                      "withdrawn, cancelled, postponed, corrected")], id="bad-status"),
    case("update", drop=(5,), expected=[
        ("Stop-Sharing", None, "this field is required when Status is funded: funded: yes when "
                               "readers should stop sharing the appeal")], id="funded-no-stop"),
    case("update", {4: "Status: redirect", 5: "Redirect-To: http://bailfund.example/next"},
         expected=[("Redirect-To", 5, "use an https:// link, not http:// "
                                      "(http://bailfund.example/next)")], id="redirect-http"),
    case("update", {4: "Status: closed"}, drop=(5,), expected=[
        ("Funds-Report", None, "this field is required when Status is closed: closed: how the "
                               "money was used")], id="closed-no-report"),
    case("update", {4: "Status: extended"}, drop=(5,), expected=[
        ("Status", 4, "an extended appeal needs a new Goal or Needed-By")], id="extended-no-goal"),
    case("update", drop=(3,), expected=[
        ("Update-Key", None, REQUIRED + "the Update-Key from your answer")], id="no-key"),
    case("update", {7: "Thank you all: the bail is paid (booking no. 2026-114532 is closed)."},
         expected=[("Note", 7, PRIVATE_NUMBER)], id="booking-number"),
]


@pytest.mark.parametrize("template,replace,add,drop,expected", INVALID)
def test_invalid_samples(template: str, replace: dict, add: list, drop: tuple,
                         expected: list) -> None:
    v = check(form_text(template, replace, add, drop))
    assert issues(v, "error") == expected
    assert not v.ok


# --- warnings: published, but the member is asked to look again ----------------------------

WARNINGS = [
    case("legal", {13: "spring. The police say she threw a bottle, which she denies. A lawyer who"},
         expected=[("Story", 13, "this seems to tell the alleged events ('The police say'): "
                                 "anything published can be used in court; describe the person "
                                 "and the need, and ask the lawyer")], id="police-say"),
    case("legal", {14: "knows protest work agreed to help. We broke no law that day."}, expected=[
        ("Story", 14, "this seems to tell the alleged events ('We broke'): anything published "
                      "can be used in court; describe the person and the need, and ask the "
                      "lawyer")], id="we-broke"),
    case("hardship", {12: "last paycheck never came and my two kids need winter coats."},
         expected=[("Story", 12, "'my two kids' mentions a child. As you file for yourself, "
                                 "check that no child's name, age or school is given. Why: "
                                 "children cannot agree to be published; never give a child's "
                                 "name, age or school")], id="minor"),
    case("housing", {13: "We fell behind on rent after my hours were cut; our 9-year-old is"},
         expected=[("Story", 13, "'9-year-old' gives a child's age. As you file for yourself, "
                                 "leave the age out unless the parent agreed to it. Why: a "
                                 "child's age with a town and a first name is enough to find "
                                 "the child")], id="minor-age"),
    case("gathering", {7: "Start: 2028-01-10 18:00 America/Los_Angeles"}, drop=(8,), expected=[
        ("Start", 7, "this date is more than a year ahead")], id="far-start"),
    case("update", add=["Title: ignored"], drop=(6, 7), expected=[
        ("Title", 6, "the update template has no such field; it is ignored")], id="common-field"),
]


@pytest.mark.parametrize("template,replace,add,drop,expected", WARNINGS)
def test_warnings_do_not_block(template: str, replace: dict, add: list, drop: tuple,
                               expected: list) -> None:
    v = check(form_text(template, replace, add, drop))
    assert issues(v, "error") == []
    assert issues(v, "warning") == expected
    assert v.ok


def test_every_template_has_three_valid_and_five_invalid_samples() -> None:
    for name in CAT.names():
        if name == "bail":
            continue  # tests/test_validate.py
        assert sum(1 for p in VALID if p.values[0] == name) >= 3, name
        assert sum(1 for p in INVALID if p.values[0] == name) >= 5, name


# --- cross-field and parser behaviour that templates rely on -------------------------------


def test_a_key_of_another_template_inside_a_section_is_text() -> None:
    v = check(form_text("legal", {14: "Why: because the case is weak, the lawyer says."}))
    assert "Why: because" in v.values["Story"]
    assert issues(v, "warning") == []


def test_the_update_message_has_no_common_or_money_fields() -> None:
    names = [f.name for f in CAT.template("update").fields]
    assert names == ["Template", "Refers-To", "Update-Key", "Status", "Stop-Sharing",
                     "Redirect-To", "Funds-Report", "Goal", "Needed-By", "Note"]


def test_a_date_as_today_is_used_with_midnight_utc_as_now() -> None:
    v = validate.validate(story.parse(form_text("callin"), "", CAT), CAT, TODAY)
    assert v.ok
    v = validate.validate(story.parse(form_text("callin"), "", CAT), CAT, NOW)
    assert v.ok


def test_a_window_in_a_daylight_saving_gap_is_refused() -> None:
    v = validate.validate(story.parse(form_text(
        "callin", {7: "Window: 2027-03-14 02:30–04:00 America/Los_Angeles"}), "", CAT), CAT,
        date(2027, 3, 10))
    assert issues(v, "error") == [
        ("Window", 7, "this time does not exist in America/Los_Angeles (the clocks change)")]


def test_blank_forms_list_conditional_fields() -> None:
    form = forms.blank_form(CAT.template("update"))
    assert "\nFunds-Report (required when Status is closed): closed: how the money was used\n" in form
    assert "Private" not in form
    assert form.startswith("Template: update\nRefers-To:\n")


# --- operator templates ---------------------------------------------------------------------

FOODBANK = """\
name: foodbank
title: Food bank restock
fields:
  Needs:
    kind: list
    required: true
    item: quantity
    help: what to bring, with how many
  Drop-Off:
    kind: public-place
    required: true
    help: a public place
checks: [no-ssn]
"""


def test_an_operator_template_is_added_and_a_builtin_overridden(tmp_path) -> None:
    (tmp_path / "foodbank.yaml").write_text(FOODBANK)
    (tmp_path / "bail.yaml").write_text(
        (Path(forms.__file__).parent.parent / "templates" / "bail.yaml").read_text()
        .replace("title: Bail or immigration bond", "title: Bail (our wording)"))
    assert forms.check_directory(tmp_path) == []
    catalogue = forms.load(tmp_path)
    assert catalogue.names() == sorted([*CAT.names(), "foodbank"])
    assert catalogue.template("bail").title == "Bail (our wording)"
    text = ("Template: foodbank\nTitle: Restock the Elm food bank\nFiled-By: self\n"
            "Location: Anytown, OR\nNeeds:\n- 40 tins of beans\n- rice\n"
            "Drop-Off: my garage\n")
    v = validate.validate(story.parse(text, "", catalogue), catalogue, TODAY, NOW)
    assert issues(v, "error") == [
        ("Needs", 7, "say how many for 'rice', like '- 40 tarps'"),
        ("Drop-Off", 8, "meet at a public place like 'City Hall steps', never at someone's home")]


@pytest.mark.parametrize("files,expected", [
    pytest.param({"a.yaml": "name: broken\ntitle: [unclosed\n"}, [
        ("a.yaml", 3, "invalid YAML: a [ list opened on line 2 is not closed with ]")],
        id="bad-yaml"),
    pytest.param({"a.yaml": "title: Nameless\n"}, [
        ("a.yaml", 1, "missing required key 'name'")], id="missing-name"),
    pytest.param({"a.yaml": "name: a\nfields:\n  Size:\n    kind: number\n"}, [
        ("a.yaml", 4, "Size.kind: 'number' is not one of: " + ", ".join(sorted(forms.KINDS)))],
        id="unknown-kind"),
    pytest.param({"a.yaml": "name: a\nfields:\n  Mood:\n    requird: true\n"}, [
        ("a.yaml", 4, "unknown key 'requird' in Mood (did you mean 'required'?)")],
        id="unknown-field-key"),
    pytest.param({"a.yaml": "name: a\ncolour: red\n"}, [
        ("a.yaml", 2, "unknown key 'colour' at the top level (known keys: name, title, money, "
                      "common, fields, checks, privacy, example)")], id="unknown-top-key"),
    pytest.param({"a.yaml": "name: a\nfields:\n  Colour:\n    kind: choice\n"}, [
        ("a.yaml", 3, "Colour: a choice field needs 'values', the words members may write")],
        id="choice-without-values"),
    pytest.param({"a.yaml": "name: a\nchecks: [no-ssn, no-such-check]\n"}, [
        ("a.yaml", 2, "checks[2]: 'no-such-check' is not one of: "
                      + ", ".join(sorted(privacy.KNOWN_CHECKS)))],
        id="unknown-check"),
    pytest.param({"a.yaml": "name: a\ncommon: false\n"}, [
        ("a.yaml", 2, "common: only the update message may leave out the common fields")],
        id="common-false"),
    pytest.param({"a.yaml": "name: a\n", "b.yaml": "name: a\n"}, [
        ("b.yaml", 1, "template 'a' is also defined in {dir}/a.yaml")], id="duplicate-name"),
    pytest.param({"a.yaml": "name: update\nfields:\n  Note:\n    kind: section\n"}, [
        ("a.yaml", 2, "fields: the update template needs the fields Refers-To, Update-Key, "
                      "Status")], id="update-without-its-fields"),
    pytest.param({"a.yaml": "name: a\nfields:\n  Rate:\n    kind: text\n    max: yes\n"}, [
        ("a.yaml", 5, "Rate.max: expected an integer, found a boolean ('yes')")], id="bad-max"),
    pytest.param({"a.yaml": "name: a\nfields:\n  Images:\n    kind: list\n"}, [
        ("a.yaml", 2, "fields: Images is written by the society itself and cannot be a "
                      "template field")], id="system-field"),
])
def test_broken_operator_templates_are_reported_with_file_and_line(
        tmp_path, files: dict[str, str], expected: list) -> None:
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    problems = forms.check_directory(tmp_path)
    assert [(Path(p.file).name, p.line, p.message) for p in problems] == [
        (f, line, m.format(dir=tmp_path)) for f, line, m in expected]
    assert all(p.file.startswith(str(tmp_path)) for p in problems)
    with pytest.raises(forms.TemplateError):
        forms.load(tmp_path)


def test_a_missing_templates_directory_is_a_problem(tmp_path) -> None:
    assert [p.message for p in forms.check_directory(tmp_path / "nope")] == [
        "the templates directory does not exist"]
