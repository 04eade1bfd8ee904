"""Value checks for story fields: each returns a cleaned value and what is wrong with it.

Pure functions over strings; the date of "today" is always handed in.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from urllib.parse import urlsplit

import pycountry

URL_SHORTENERS = frozenset(
    """bit.ly tinyurl.com t.co goo.gl ow.ly is.gd buff.ly rebrand.ly cutt.ly shorturl.at
    tiny.cc rb.gy bl.ink t.ly s.id v.gd lnkd.in trib.al shorte.st adf.ly bitly.com x.co
    soo.gd qr.ae po.st db.tt""".split()
)
_AMOUNT = re.compile(
    r"^(?:(?P<pre>[A-Za-z]{3})\s*)?[$€£]?\s*(?P<num>\d[\d,.' ]*?)\s*(?P<post>[A-Za-z]{3})?$"
)
_HANDLE = re.compile(r"^(?:[A-Za-z][A-Za-z ]{1,20}:?\s+)?[$@][A-Za-z0-9_.-]{2,40}$")
_LANGUAGE = re.compile(r"^[A-Za-z]{2,3}(?:-[A-Za-z0-9]{2,8})*$")
_TAG = re.compile(r"^[\w][\w -]{0,29}$")
_STREET = re.compile(
    r"\b\d{1,6}[a-z]?\s+(?:[\w.'-]+\s+){0,4}(?:street|st|avenue|ave|road|rd|boulevard|blvd|"
    r"lane|ln|drive|dr|way|court|ct|place|pl|terrace|parkway|pkwy|highway|hwy|circle|cir|"
    r"calle|avenida|strasse|straße|rue)\b\.?|\bp\.?\s?o\.?\s+box\b|\b(?:apt|apartment|unit|suite)\s*#?\s*\d",
    re.IGNORECASE,
)
_DATE_FORMATS = ("%Y-%m-%d", "%d %B %Y", "%d %b %Y", "%B %d, %Y", "%b %d, %Y", "%B %d %Y")

Result = tuple[object, list[str]]


def amount(text: str) -> Result:
    """``"2,500 usd"`` -> ``"2500 USD"``; the currency must be an ISO 4217 code."""
    m = _AMOUNT.match(text.strip())
    if not m:
        return text, ["write an amount and its currency code, like 2500 USD"]
    currency = (m.group("pre") or m.group("post") or "").upper()
    if not currency:
        return text, ["add the ISO 4217 currency code, like 2500 USD"]
    if m.group("pre") and m.group("post"):
        return text, ["give the currency code once, like 2500 USD"]
    if pycountry.currencies.get(alpha_3=currency) is None:
        return text, [f"{currency} is not an ISO 4217 currency code (USD, EUR, MXN, ...)"]
    digits = re.sub(r"[,' ]", "", m.group("num"))
    try:
        value = Decimal(digits)
    except InvalidOperation:
        return text, ["write the amount with digits, like 2500 or 2500.50"]
    if value <= 0 or value >= Decimal("1e9") or value.as_tuple().exponent < -2:
        return text, ["the amount must be above zero, with at most two decimals"]
    shown = f"{value:.2f}".removesuffix(".00")
    return f"{shown} {currency}", []


def parse_date(text: str) -> date | None:
    """A calendar date written as 2026-12-18, 18 December 2026 or December 18, 2026."""
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(text.strip(), fmt).date()
        except ValueError:
            continue
    return None


def date_or_asap(text: str, today: date) -> Result:
    """``ASAP`` or a date that is not in the past, as ``YYYY-MM-DD``."""
    if text.strip().casefold() in ("asap", "as soon as possible", "now"):
        return "ASAP", []
    when = parse_date(text)
    if when is None:
        return text, ["write a date like 2026-12-18, or ASAP"]
    if when < today:
        return text, ["this date is in the past"]
    if (when - today).days > 366:
        return when.isoformat(), ["this date is more than a year ahead"]
    return when.isoformat(), []


def link(text: str) -> list[str]:
    """What is wrong with one donation link or payment handle (empty when fine)."""
    text = text.strip()
    lowered = text.casefold()
    if lowered.startswith(("javascript:", "data:", "vbscript:", "file:")):
        return [f"{text.split(':')[0]}: links are not allowed"]
    if _HANDLE.match(text):
        return []
    if any(ch.isspace() for ch in text):
        return [f"'{text}' is not one link: put each link on its own line"]
    try:
        parts = urlsplit(text)
    except ValueError:
        return [f"'{text}' is not a valid link"]
    if parts.scheme.casefold() == "http":
        return [f"use an https:// link, not http:// ({text})"]
    if parts.scheme.casefold() != "https" or not parts.hostname or "." not in parts.hostname:
        return [f"'{text}' is not an https link or a payment handle like @name"]
    if parts.username or parts.password:
        return ["links must not contain a user name or password"]
    host = parts.hostname.casefold().removeprefix("www.")
    if host in URL_SHORTENERS:
        return [f"{host} is a link shortener: give the full link so readers can see where it goes"]
    return []


def links(values: list[str]) -> Result:
    """1 to 3 https links or payment handles."""
    values = [v.strip() for v in values if v.strip()]
    problems = [p for v in values for p in link(v)]
    if not values:
        problems.append("give at least one https link or payment handle")
    elif len(values) > 3:
        problems.append(f"give at most 3 links ({len(values)} given)")
    return values, problems


def language(text: str) -> Result:
    """A BCP 47 language tag like ``en`` or ``es-MX``."""
    text = text.strip()
    if not _LANGUAGE.match(text):
        return text, ["write a language tag like en, es or pt-BR"]
    head, *rest = text.split("-")
    return "-".join([head.lower(), *rest]), []


def tags(text: str) -> Result:
    """Comma separated tags, lower case, at most 10."""
    values = [t.strip().casefold() for t in text.split(",") if t.strip()]
    problems = [f"'{t}' is not a tag (letters, digits, spaces and - only)"
                for t in values if not _TAG.match(t)]
    if len(values) > 10:
        problems.append("give at most 10 tags")
    return values, problems


def location(text: str) -> list[str]:
    """What is wrong with a location (it must never be a street address)."""
    if _STREET.search(text):
        return ["give only the town or city and region, never a street address"]
    return []


def looks_like_full_name(text: str) -> bool:
    """True for "Samuel Rivera", False for "Sam R.", "S.R." or "Sam"."""
    words = text.split()
    return len(words) >= 2 and all(
        w[0].isupper() and len(w.rstrip(".")) >= 2 and not w.endswith(".") for w in words
    )
