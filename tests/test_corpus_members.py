"""The privacy lint measured on a corpus of member-written requests, both ways.

Each file of ``tests/corpus/members/`` is a request as a member writes it, after a first line
``#: privacy clean|warn|refuse [rules...]``: what the lint should say about it. Required
fields a file leaves out (Goal, Donate, ...) are filled in with neutral values, so every
request is judged on its own free text. Run as a script for the counts::

    .venv/bin/python tests/test_corpus_members.py

Files named ``*-blind-*`` and ``*-blind2-*`` were written before the lint was run on them
(batch 1: 1 false positive in 10, "Boyle Heights" after Spanish "de"; batch 2: 1 false
negative in 12, "lo acusan de"); both were fixed afterwards, so the counts below are on a
corpus the lint has seen.

A *false positive* is a request the lint says more about than it should (a warning or a
refusal on a clean text, a refusal where a warning is right); a *false negative* one it says
less about. The test fails when the counts grow beyond what was measured when the corpus was
written, so a change to the lint that makes it worse does not go unnoticed.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest

from masbot.story import form as story
from masbot.story import templates as forms
from masbot.story.privacy import RULE_NAMES as RULES
from masbot.story.validate import validate

CORPUS = Path(__file__).parent / "corpus" / "members"
TODAY = date(2026, 11, 29)
CAT = forms.builtin()
RANK = {"clean": 0, "warn": 1, "refuse": 2}
RULE_NAMES = frozenset(RULES) | {"narrated-events", "no-arrestee-names"}
"""What counts as the privacy lint: its rules, and the two template checks that overlap them."""
SAME = {"narrated-events": "police-claims", "no-arrestee-names": "full-names"}
FILLERS = {
    "Filed-By": "self", "Location": "Anytown, OR", "Held-At": "Anytown County Jail",
    "Bail": "2000 USD", "Posted-By": "Anytown Community Bail Fund", "Bail-Return": "fund",
    "Goal": "2000 USD", "Needed-By": "ASAP", "Donate": "https://fund.example/give",
    "Funds-Holder": "the fund receives gifts and pays directly",
    "Funds-Use:": "- the whole goal as described", "How-To-Help": "Give at the link and share.",
    "Start": "2026-12-05 17:30 America/Los_Angeles", "Safety": "\nMarshals at each corner.",
    "Bring:": "- warm clothes", "Target-Phone": "+1 503 555 0100",
    "Window": "2026-12-01 09:00-17:00 America/Los_Angeles", "Valid-Until": "2026-12-20",
    "Drop-Off:": "- Riverside Library, side door",
}
MEASURED = {"false_positives": 1, "false_negatives": 0}
"""The counts when the corpus was written (see the module docstring for the command)."""


@dataclass
class Outcome:
    name: str
    expected: str
    expected_rules: set[str]
    actual: str
    actual_rules: set[str]
    other_errors: list[str]


def _filled(text: str) -> str:
    form = story.parse(text, "", CAT)
    tpl = CAT.template(form.template_name or "")
    extra = []
    for key, value in FILLERS.items():
        name = key.rstrip(":")
        spec = tpl.field(name) if tpl else None
        if spec is not None and name not in form.entries and spec.required:
            extra.append(f"{name}:{'' if key.endswith(':') else ' '}{value}".replace(":\n", ":\n"))
    return text.rstrip("\n") + "\n" + "\n".join(extra) + "\n"


def judge(path: Path) -> Outcome:
    """What the lint says about one corpus file, beside what it should say."""
    head, text = path.read_text(encoding="utf-8").split("\n", 1)
    words = head.removeprefix("#:").split()
    assert words[0] == "privacy", path
    form = story.parse(_filled(text), "", CAT)
    v = validate(form, CAT, TODAY)
    found = [i for i in v.issues if i.check in RULE_NAMES]
    actual = "refuse" if any(i.severity == "error" for i in found) else (
        "warn" if found else "clean")
    return Outcome(path.stem, words[1], set(words[2:]), actual,
                   {SAME.get(i.check, i.check) for i in found},
                   [str(i) for i in v.errors if i.check not in RULE_NAMES])


def outcomes() -> list[Outcome]:
    return [judge(p) for p in sorted(CORPUS.glob("*.txt"))]


def counts(results: list[Outcome]) -> dict[str, int]:
    fp = sum(RANK[o.actual] > RANK[o.expected] for o in results)
    fn = sum(RANK[o.actual] < RANK[o.expected] for o in results)
    return {"false_positives": fp, "false_negatives": fn}


def test_the_corpus_is_large_enough_and_otherwise_valid() -> None:
    results = outcomes()
    assert len(results) >= 60
    assert [(o.name, o.other_errors) for o in results if o.other_errors] == []


def test_false_positives_and_negatives_do_not_grow() -> None:
    got = counts(outcomes())
    assert got["false_positives"] <= MEASURED["false_positives"], got
    assert got["false_negatives"] <= MEASURED["false_negatives"], got


@pytest.mark.parametrize("sample", ["01-bail-self", "02-bail-champion", "07-bail-html-only"])
def test_the_demo_samples_pass_the_lint(sample: str) -> None:
    from masbot.intake import message as intake
    raw = (Path(__file__).parent.parent / "masbot" / "samples" / f"{sample}.eml").read_bytes()
    msg = intake.read(raw.replace(b"@IN_20_DAYS@", b"2026-12-19"))
    v = validate(story.parse(msg.body, msg.subject, CAT), CAT, TODAY)
    assert v.ok, v.errors
    assert [str(i) for i in v.issues if i.check in RULE_NAMES] == []


def main() -> int:
    results = outcomes()
    for o in results:
        mark = "ok " if o.actual == o.expected else ("FP " if RANK[o.actual] > RANK[o.expected]
                                                      else "FN ")
        rules = "" if o.expected == "clean" or o.expected_rules <= o.actual_rules else \
            f"  (rules: expected {sorted(o.expected_rules)}, got {sorted(o.actual_rules)})"
        print(f"{mark} {o.name:<40} expected {o.expected:<6} got {o.actual:<6}{rules}")
        for e in o.other_errors:
            print(f"      other error: {e}")
    got = counts(results)
    print(f"{len(results)} requests: {got['false_positives']} false positives, "
          f"{got['false_negatives']} false negatives")
    return 0


if __name__ == "__main__":
    sys.exit(main())
