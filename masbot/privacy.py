"""The privacy lint: things that must never be published in an appeal.

Each check takes the public text of the appeal field by field and returns what it objects
to: the field, a message for the member, and the text that triggered it (so the answer can
point at the very line). The lint errs on the side of caution where the words leave little
doubt (``booking #2026-114532``, ``DOB``), but ordinary words that merely *could* introduce a
number (``case``, ``jail``, ``birthday``, ``social security``) are only objected to when an
identifying number or date really follows, so that a story about a missed birthday party or
lost benefits is not refused.
"""

from __future__ import annotations

import re
from typing import Callable, Iterable, Iterator, NamedTuple


class Finding(NamedTuple):
    """One objection: ``field`` holds ``match``, which must not be published."""

    field: str
    message: str
    match: str


_MONTH = (r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
          r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\b")
_BIRTH = re.compile(
    r"\bd\.?o\.?b\b\.?"
    r"|\bdate\s+of\s+birth\b|\bbirth\s*date\b"
    r"|\bbirth\s*day\s*(?:is|was|[:=-])?\s*(?:on\s+)?(?:the\s+)?(?:\d|" + _MONTH + r")"
    r"|\bborn(?:\s*:)?\s+(?:on\s+|in\s+)?(?:the\s+)?(?:\d|" + _MONTH + r")",
    re.IGNORECASE,
)

# Words after which any number is an identifier of the person.
_STRONG = (r"booking|docket|inmate|prisoner|detainee|alien(?:\s+registration)?|a-?file"
           r"|a-number|a\s*#|permanent\s+resident(?:\s+card)?|green\s+card|uscis|subject\s+id")
# Words that are also ordinary words: a number must be marked as one (no., #) or look like a
# reference (letters or separators in it), so "in case 1000 people share" passes.
_WEAK = r"case|jail|court|file"
_QUALIFIER = r"(?:\s*(?:no\b\.?|nr\b\.?|num(?:ber)?\b\.?|n°|#|id\b))"
_NUMBER = r"[A-Za-z]{0,4}[-:/.]?\d[A-Za-z0-9:/.-]*"
_CASE_NUMBER = re.compile(
    rf"\b(?P<kw>{_STRONG}|{_WEAK})(?P<q>{_QUALIFIER}?)(?:\s+(?:is|was))?\s*[:#]?\s*"
    rf"(?P<num>{_NUMBER})",
    re.IGNORECASE,
)
_WEAK_WORD = re.compile(rf"^(?:{_WEAK})$", re.IGNORECASE)
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# An alien number written on its own: A followed by 8 or 9 digits (upper-case A only).
_A_NUMBER = re.compile(r"\bA\s*#?\s*-?\s*\d{3}[- ]?\d{3}[- ]?\d{3}\b|\bA-?\d{8}\b")
_SSN = re.compile(
    r"\b\d{3}(?P<sep>[- .])\d{2}(?P=sep)\d{4}\b"
    r"|\b(?:ssn|social security (?:number|no\b\.?|#))(?: (?:is|was))? ?[:#]? ?\d[\d -]{7,}",
    re.IGNORECASE,
)


def _birth_dates(text: str) -> Iterator[str]:
    for m in _BIRTH.finditer(text):
        yield m.group(0)


def _case_numbers(text: str) -> Iterator[str]:
    for m in _CASE_NUMBER.finditer(text):
        number = m.group("num").rstrip(".:/-")
        if sum(ch.isdigit() for ch in number) < 3:
            continue
        if _WEAK_WORD.match(m.group("kw")) and not m.group("q").strip():
            # "case 2026" or "jail 2500": only a reference-looking number counts, and a
            # link path like ".../case/12345" is the fund's page, not a court case.
            if number.isdigit() or _ISO_DATE.match(number) or number.startswith("/"):
                continue
        yield m.group(0)
    for m in _A_NUMBER.finditer(text):
        yield m.group(0)


def _ssns(text: str) -> Iterator[str]:
    for m in _SSN.finditer(text):
        yield m.group(0)


def _scan(find: Callable[[str], Iterator[str]], message: str
          ) -> Callable[[Iterable[tuple[str, str]]], list[Finding]]:
    def check(texts: Iterable[tuple[str, str]]) -> list[Finding]:
        # Runs of spaces and line breaks become one space first: the patterns then never
        # backtrack over long whitespace, and a number split over two lines is still found.
        return [Finding(name, message, match) for name, text in texts
                for match in find(" ".join(text.split()))]

    return check


CHECKS: dict[str, Callable[[Iterable[tuple[str, str]]], list[Finding]]] = {
    "no-birth-dates": _scan(_birth_dates, "remove the date of birth: it is never published"),
    "no-case-numbers": _scan(
        _case_numbers,
        "remove the booking, docket, case or alien number: it is never published",
    ),
    "no-ssn": _scan(_ssns, "remove what looks like a social security number: it is never published"),
}


def lint(check_names: Iterable[str], texts: list[tuple[str, str]]) -> list[Finding]:
    """Run the named checks over ``(field, text)`` pairs; unknown check names are skipped.

    Returns every finding, in check order, then field order, then position.
    """
    findings: list[Finding] = []
    for name in check_names:
        check = CHECKS.get(name)
        if check:
            findings.extend(check(texts))
    return findings
