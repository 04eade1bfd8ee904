"""The repost kit (:mod:`masbot.appeal.render`): golden files for every rendering of every template.

Each sample request is validated, built into an appeal with a fixed Appeal-ID and ``Issued``
time, and rendered; every rendering is compared byte for byte with
``tests/golden/<template>/<name>.{md,html,txt,ics}``. The ``update`` samples are appeals
after an update (funded, cancelled, closed, redirected). To regenerate the files after an
intended change, run::

    MASBOT_UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/test_render.py

and read the diff before committing it.
"""

from __future__ import annotations

import os
import re
from datetime import datetime, timezone
from pathlib import Path

import pytest

from masbot.appeal import canonical as appeals
from masbot.story import templates as forms
from masbot.appeal import ics
from masbot.appeal import render
from masbot.story import form as story
from masbot.story import validate
from test_templates import BASES, NOW, form_text
from test_validate import SPEC_EXAMPLE, form_text as bail_text

CAT = forms.builtin()
GOLDEN = Path(__file__).resolve().parent / "golden"
UPDATE_GOLDEN = os.environ.get("MASBOT_UPDATE_GOLDEN") == "1"
ISSUED = datetime(2026, 11, 23, 13, 0, tzinfo=timezone.utc)
LATER = datetime(2026, 11, 27, 9, 30, tzinfo=timezone.utc)
URL = "https://anytown.example/appeals/ANYTOWN-2026-0001"
SOCIETY = "Anytown Mutual Aid"


def build(text: str, number: int = 1) -> appeals.Appeal:
    v = validate.validate(story.parse(text, "", CAT), CAT, NOW)
    assert v.ok, v.issues
    return appeals.build(v, appeal_id=appeals.appeal_id("ANYTOWN", 2026, number),
                         society=SOCIETY, updates_to="help@anytown.example", issued=ISSUED,
                         appeal_days=30)


def revised(text: str, update: list[str]) -> appeals.Appeal:
    previous = build(text)
    form = "\n".join(["Template: update", "Refers-To: ANYTOWN-2026-0001",
                      "Update-Key: k3y-abcdefghijklmnop", *update]) + "\n"
    v = validate.validate(story.parse(form, "", CAT), CAT, NOW)
    assert v.ok, v.issues
    return appeals.revise(previous, v.values, issued=LATER, appeal_days=30)


SAMPLES: dict[str, dict[str, tuple[appeals.Appeal, str | None]]] = {
    "bail": {
        "spec-example": (build(SPEC_EXAMPLE), None),
        "self": (build(bail_text(add=["Tags: bail, riverside", "Language: en"])), URL),
    },
    "legal": {
        "base": (build(form_text("legal")), URL),
        "champion": (build(form_text("legal", {3: "Filed-By: champion"},
                                     ["Relation: defence committee", "Consent: lawyer",
                                      "Raised: 750 USD", "Other-Needs:",
                                      "Rides to the courthouse on hearing days."])), None),
    },
    "hardship": {
        "base": (build(form_text("hardship")), URL),
        "handles": (build(form_text("hardship", {8: "Donate: Venmo: @lee-family, $LeeFamily"},
                                    ["Share-Text: Lee lost their job; rent is due on the first. "
                                     "Venmo @lee-family"])), None),
    },
    "housing": {
        "base": (build(form_text("housing")), URL),
    },
    "disaster": {
        "base": (build(form_text("disaster")), None),
        "with-money": (build(form_text("disaster", add=[
            "Goal: 5000 USD", "Donate: https://riversideaid.example/flood",
            "Funds-Holder: Riverside Mutual Aid buys supplies in bulk"])), URL),
    },
    "callin": {
        "base": (build(form_text("callin")), URL),
        "email-zap": (build(form_text("callin", {6: "Target-Phone: +1 503 988 4300 ext. 12"},
                                      ["Target-Email: sheriff@county.example"])), None),
    },
    "gathering": {
        "base": (build(form_text("gathering")), URL),
        "sign-wave": (build(form_text("gathering", {5: "Kind: sign-wave",
                                                    6: "Where: City Hall steps"},
                                      drop=(8,))), None),
    },
    "press": {
        "base": (build(form_text("press")), URL),
        "embargo-quote": (build(form_text(
            "press", {6: "Release: embargoed until 2026-11-25 09:00 America/New_York",
                      14: 'weekly. "We will not be moved," said a union steward.'},
            ["Quote-Consent: yes"])), None),
    },
    "update": {
        "bail-funded": (revised(SPEC_EXAMPLE, ["Status: funded", "Stop-Sharing: yes", "Note:",
                                               "Sam is home. Thank you all!"]), URL),
        "gathering-cancelled": (revised(form_text("gathering"), [
            "Status: cancelled", "Note:", "The jail moved everyone to another county."]), URL),
        "legal-closed": (revised(form_text("legal"), [
            "Status: closed", "Funds-Report:", "- 3500 USD paid to the lawyer",
            "- 500 USD for transcripts"]), None),
        "hardship-redirect": (revised(form_text("hardship"), [
            "Status: redirect", "Redirect-To: https://pay.example/next-family"]), None),
        "housing-extended": (revised(form_text("housing"), [
            "Status: extended", "Goal: 4000 USD", "Needed-By: 2026-12-20"]), None),
    },
}
CASES = [(template, name) for template, names in SAMPLES.items() for name in names]
EXTENSIONS = {"md": render.markdown, "html": render.html, "txt": render.share_text,
              "ics": render.ics}


def test_every_template_has_golden_samples() -> None:
    assert set(SAMPLES) == set(CAT.names()) == set(BASES) | {"bail", "update"}


@pytest.mark.parametrize("template,name", CASES)
@pytest.mark.parametrize("ext", sorted(EXTENSIONS))
def test_golden(template: str, name: str, ext: str) -> None:
    appeal, url = SAMPLES[template][name]
    output = EXTENSIONS[ext](appeal, url=url)
    path = GOLDEN / template / f"{name}.{ext}"
    if output is None:
        assert ext == "ics" and appeal.template not in ("gathering", "callin")
        assert not path.exists(), f"{path} is left over"
        return
    data = output.encode("utf-8")
    if UPDATE_GOLDEN:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    assert path.exists(), f"no golden file {path}: run with MASBOT_UPDATE_GOLDEN=1"
    assert data == path.read_bytes()


# --- properties of every rendering ---------------------------------------------------------


@pytest.mark.parametrize("template,name", CASES)
def test_renderings_keep_their_promises(template: str, name: str) -> None:
    appeal, url = SAMPLES[template][name]
    share = render.share_text(appeal, url=url)
    assert len(share) <= render.SHARE_MAX and "\n" not in share
    page = render.html(appeal, url=url)
    assert render.sanitise(page) == page  # nothing the sanitiser would remove
    for cls in ("h-entry", "p-name", "e-content", "dt-published", "p-location"):
        assert f'class="{cls}' in page or f' {cls}"' in page or f" {cls} " in page, cls
    assert ('class="u-url"' in page) == (url is not None)
    assert ('itemtype="https://schema.org/Event"' in page) == (appeal.template == "gathering")
    text = render.markdown(appeal, url=url)
    assert re.search(r"(?<!\\)<", text) is None, "raw < in Markdown"
    event = render.ics(appeal, url=url)
    if event is not None:
        assert_valid_ics(event)


def assert_valid_ics(event: str) -> None:
    data = event.encode("utf-8")
    assert data.endswith(b"\r\n") and b"\n" not in data.replace(b"\r\n", b"")
    assert b"\r" not in data.replace(b"\r\n", b"")
    for line in data.split(b"\r\n")[:-1]:
        assert len(line) <= ics.MAX_OCTETS
        line.decode("utf-8")  # no character split by folding
    props = unfold(event)
    assert props[0] == ("BEGIN", "VCALENDAR") and props[-1] == ("END", "VCALENDAR")
    names = [name for name, _ in props]
    for required in ("UID", "DTSTAMP", "DTSTART", "SUMMARY"):
        assert names.count(required) == 1, required


def unfold(event: str) -> list[tuple[str, str]]:
    """Content lines of an iCalendar text as (name, value), folding undone."""
    text = event.replace("\r\n ", "")
    return [tuple(line.split(":", 1)) for line in text.split("\r\n") if line]


def test_the_ics_of_a_gathering() -> None:
    appeal, url = SAMPLES["gathering"]["base"]
    props = dict(unfold(render.ics(appeal, url=url)))
    assert props["UID"] == "ANYTOWN-2026-0001@anytown.example"
    assert props["DTSTAMP"] == "20261123T130000Z"
    assert props["DTSTART"] == "20261129T020000Z" and props["DTEND"] == "20261129T070000Z"
    assert props["LOCATION"] == "the public plaza across from the county jail\\, Anytown\\, OR"
    assert props["URL"] == url and props["STATUS"] == "CONFIRMED" and props["SEQUENCE"] == "0"


def test_a_cancelled_gathering_cancels_the_calendar_event() -> None:
    appeal, url = SAMPLES["update"]["gathering-cancelled"]
    props = dict(unfold(render.ics(appeal, url=url)))
    assert props["STATUS"] == "CANCELLED" and props["SEQUENCE"] == "1"
    assert props["UID"] == "ANYTOWN-2026-0001@anytown.example"


def test_ics_text_escaping_and_folding() -> None:
    assert ics.escape_text("a,b;c\\d\r\ne\rf\ng\x00h") == "a\\,b\\;c\\\\d\\ne\\nf\\ng" + "h"
    folded = ics.fold("DESCRIPTION:" + "é" * 80)
    lines = folded.encode("utf-8").split(b"\r\n")
    assert all(len(line) <= 75 for line in lines)
    assert folded.replace("\r\n ", "") == "DESCRIPTION:" + "é" * 80 + "\r\n"


def test_share_text_is_cut_on_a_word_boundary_and_keeps_the_link() -> None:
    long_help = "Give at the link and " + "tell every neighbour you know about it " * 12
    appeal = build(form_text("hardship", {17: long_help.strip()}))
    share = render.share_text(appeal, url=URL)
    assert len(share) <= 280 and share.endswith("… " + URL)
    body = share.removesuffix("… " + URL)
    assert long_help.startswith(body.split(". ", 1)[1])  # whole words only
    assert not body.endswith(" ")


def test_share_text_uses_the_members_share_text() -> None:
    appeal, _ = SAMPLES["hardship"]["handles"]
    assert render.share_text(appeal) == ("Lee lost their job; rent is due on the first. "
                                         "Venmo @lee-family")


def test_share_text_says_when_an_appeal_ended() -> None:
    appeal, url = SAMPLES["update"]["bail-funded"]
    assert render.share_text(appeal, url=url).startswith("FUNDED: Get Sam home")


def test_only_https_urls_are_accepted() -> None:
    appeal, _ = SAMPLES["bail"]["self"]
    for bad in ("javascript:alert(1)", "http://anytown.example/a", "https://a.example/\r\nX: y"):
        for fn in (render.markdown, render.html, render.share_text, render.ics):
            with pytest.raises(ValueError):
                fn(SAMPLES["gathering"]["base"][0] if fn is render.ics else appeal, url=bad)


def test_kit_names_every_file() -> None:
    appeal, url = SAMPLES["gathering"]["base"]
    assert sorted(render.kit(appeal, url=url)) == ["appeal.html", "appeal.ics", "appeal.md",
                                                   "share.txt"]
    appeal, url = SAMPLES["bail"]["self"]
    assert sorted(render.kit(appeal, url=url)) == ["appeal.html", "appeal.md", "share.txt"]


@pytest.mark.parametrize("text,escaped", [
    ("<b>x</b>", "&lt;b\\>x&lt;/b\\>"),
    ("[click](https://evil.example)", "\\[click\\](https://evil.example)"),
    ("![img](x)", "!\\[img\\](x)"),
    ("# not a heading", "\\# not a heading"),
    ("- not a list", "\\- not a list"),
    ("1. not a list", "1\\. not a list"),
    ("2500.50 USD", "2500.50 USD"),
    ("*bold* _em_ `code` ~strike~ a|b &amp;",
     "\\*bold\\* \\_em\\_ \\`code\\` &#126;strike&#126; a&#124;b &amp;amp;"),
    ("== not a heading underline", "&#61;= not a heading underline"),
])
def test_markdown_escaping(text: str, escaped: str) -> None:
    assert render.escape_markdown(text) == escaped


def test_no_stale_golden_files() -> None:
    expected = {f"{t}/{n}.{ext}" for t, n in CASES for ext in EXTENSIONS
                if ext != "ics" or SAMPLES[t][n][0].template in ("gathering", "callin")}
    found = {str(p.relative_to(GOLDEN)) for p in GOLDEN.rglob("*") if p.is_file()}
    assert found == expected
