"""The privacy lint: things that must never be published in an appeal.

Each check takes the public text of the appeal field by field and returns the fields and
messages it objects to. The lint errs on the side of caution: a false alarm costs the member
one edit, a leaked booking number can cost them much more.
"""

from __future__ import annotations

import re
from typing import Callable, Iterable

Finding = tuple[str, str]  # (field name, message)

_BIRTH = re.compile(
    r"\b(?:d\.?o\.?b\.?|date\s+of\s+birth|birth\s*date|birthday|born\s+(?:on|in)?\s*"
    r"(?:\d|jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec))",
    re.IGNORECASE,
)
_CASE_NUMBER = re.compile(
    r"\b(?:booking|docket|case|inmate|jail|prisoner|alien|a-?file|permanent\s+resident)"
    r"\s*(?:no\.?|num(?:ber)?|#|id)?\s*[:#]?\s*[A-Z]{0,3}-?\d[\d-]{3,}"
    r"|\bA[- ]?\d{3}[- ]?\d{3}[- ]?\d{3}\b|\bA\d{8}\b",
    re.IGNORECASE,
)
_SSN = re.compile(r"\b\d{3}[- .]\d{2}[- .]\d{4}\b|\bssn\b|\bsocial\s+security\b", re.IGNORECASE)


def _scan(pattern: re.Pattern, message: str) -> Callable[[Iterable[tuple[str, str]]], list[Finding]]:
    def check(texts: Iterable[tuple[str, str]]) -> list[Finding]:
        return [(name, message) for name, text in texts if pattern.search(text)]

    return check


CHECKS: dict[str, Callable[[Iterable[tuple[str, str]]], list[Finding]]] = {
    "no-birth-dates": _scan(_BIRTH, "remove the date of birth: it is never published"),
    "no-case-numbers": _scan(
        _CASE_NUMBER,
        "remove the booking, docket, case or alien number: it is never published",
    ),
    "no-ssn": _scan(_SSN, "remove what looks like a social security number: it is never published"),
}


def lint(check_names: Iterable[str], texts: list[tuple[str, str]]) -> list[Finding]:
    """Run the named checks over ``(field, text)`` pairs; unknown check names are skipped."""
    findings: list[Finding] = []
    for name in check_names:
        check = CHECKS.get(name)
        if check:
            findings.extend(check(texts))
    return findings
