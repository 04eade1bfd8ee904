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
    r"^(?:(?P<pre>[A-Za-z]{3})\s*)?(?P<sym>[$€£₹₱₩₦])?\s*(?P<num>\d[\d,.' ]*?)\s*"
    r"(?P<sym2>[$€£₹₱₩₦])?\s*(?P<post>[A-Za-z]{3})?$"
)
# 1,234.56 / 1.234,56 / 1234.5 / 25,50: one grouping separator used consistently, then at
# most two decimals after the other separator.
_NUMBER = re.compile(
    r"^(?P<int>\d{1,3}(?:(?P<group>[.,])\d{3}(?:(?P=group)\d{3})*)?|\d+)"
    r"(?:(?P<dec>[.,])(?P<frac>\d{1,2}))?$"
)
_SYMBOLS = {"€": "EUR", "£": "GBP", "₹": "INR", "₱": "PHP", "₩": "KRW", "₦": "NGN"}
NOT_MONEY = frozenset({"XAU", "XAG", "XPD", "XPT", "XDR", "XXX", "XTS", "XBA", "XBB", "XBC",
                       "XBD", "XSU", "XUA"})
"""ISO 4217 codes that are metals, units of account or test codes, not money people give."""
_HANDLE = re.compile(r"^(?:[A-Za-z][A-Za-z ]{1,20}:?\s+)?[$@][A-Za-z0-9_.-]{2,40}$")
_LANGUAGE = re.compile(r"^[A-Za-z]{2,3}(?:-[A-Za-z0-9]{2,8})*$")
_TAG = re.compile(r"^[\w][\w -]{0,29}$")
_STREET = re.compile(
    r"\b\d{1,6}[a-z]?\s+(?:[\w.'-]+\s+){0,4}(?:street|st|avenue|ave|road|rd|boulevard|blvd|"
    r"lane|ln|drive|dr|way|court|ct|place|pl|terrace|parkway|pkwy|highway|hwy|circle|cir|"
    r"calle|avenida|strasse|straße|rue)\b\.?|\bp\.?\s?o\.?\s+box\b|\b(?:apt|apartment|unit|suite)\s*#?\s*\d",
    re.IGNORECASE,
)
_DATE_FORMATS = ("%Y-%m-%d", "%d %B %Y", "%d %b %Y", "%B %d, %Y", "%b %d, %Y", "%B %d %Y",
                 "%b %d %Y")
_ORDINAL = re.compile(r"\b(\d{1,2})(?:st|nd|rd|th)\b", re.IGNORECASE)
_UNSAFE_LINK = re.compile(r"\b(javascript|vbscript):\S|\b(data):(?:[\w.+-]+/[\w.+-]+)?[;,]",
                          re.IGNORECASE)

Result = tuple[object, list[str]]


def _decimal(number: str) -> Decimal | None:
    """``"2,500.50"``, ``"2.500,50"``, ``"1'000"`` or ``"1 000"`` as a Decimal, else None."""
    m = _NUMBER.match(re.sub(r"[' ]", "", number))
    if not m or (m.group("dec") and m.group("dec") == m.group("group")):
        return None
    digits = re.sub(r"[.,]", "", m.group("int"))
    if m.group("frac"):
        digits += "." + m.group("frac")
    try:
        return Decimal(digits)
    except InvalidOperation:  # pragma: no cover - the pattern only lets digits through
        return None


def amount(text: str) -> Result:
    """``"2,500 usd"`` -> ``"2500 USD"``; the currency must be an ISO 4217 code.

    ``€``, ``£`` (and a few other unambiguous signs) stand for their currency; ``$`` is
    used by many currencies and needs the code.
    """
    m = _AMOUNT.match(text.strip())
    if not m:
        return text, ["write an amount and its currency code, like 2500 USD"]
    if m.group("sym") and m.group("sym2"):
        return text, ["write an amount and its currency code, like 2500 USD"]
    symbol = m.group("sym") or m.group("sym2") or ""
    codes = {c.upper() for c in (m.group("pre"), m.group("post"), _SYMBOLS.get(symbol)) if c}
    if len(codes) > 1 or (m.group("pre") and m.group("post")):
        return text, ["give the currency code once, like 2500 USD"]
    value = _decimal(m.group("num"))
    if not codes:
        if symbol == "$" and value is not None and value > 0:
            shown = _shown(value)
            return text, [f"$ is used by several currencies: write the code, like {shown} USD "
                          f"or {shown} CAD"]
        return text, ["add the ISO 4217 currency code, like 2500 USD"]
    currency = codes.pop()
    if currency in NOT_MONEY or pycountry.currencies.get(alpha_3=currency) is None:
        return text, [f"{currency} is not an ISO 4217 currency code (USD, EUR, MXN, ...)"]
    if value is None:
        return text, ["write the amount with digits, like 2500 or 2500.50"]
    if value <= 0 or value >= Decimal("1e9"):
        return text, ["the amount must be above zero, with at most two decimals"]
    return f"{_shown(value)} {currency}", []


def _shown(value: Decimal) -> str:
    return f"{value:.2f}".removesuffix(".00")


def parse_date(text: str) -> date | None:
    """A calendar date written as 2026-12-18, 18 December 2026 or December 18(th), 2026."""
    text = " ".join(_ORDINAL.sub(r"\1", text).split())
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt).date()
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
        return [f"{lowered.split(':')[0]}: links are not allowed"]
    if _HANDLE.match(text):
        return []
    if any(ch.isspace() for ch in text):
        return [f"'{text}' is not one link: put each link on its own line"]
    try:
        parts = urlsplit(text)
    except ValueError:
        return [f"'{text}' is not a valid link"]
    problems = []
    scheme = parts.scheme.casefold()
    if scheme == "http":
        problems.append(f"use an https:// link, not http:// ({text})")
    elif scheme != "https" or not parts.hostname or "." not in parts.hostname:
        return [f"'{text}' is not an https link or a payment handle like @name"]
    if parts.username or parts.password:
        problems.append("links must not contain a user name or password")
    host = (parts.hostname or "").casefold().removeprefix("www.")
    if host in URL_SHORTENERS:
        problems.append(f"{host} is a link shortener: give the full link so readers can see "
                        "where it goes")
    return problems


def is_handle(text: str) -> bool:
    """True for a payment handle like ``@name``, ``$cashtag`` or ``Venmo: @name``."""
    return bool(_HANDLE.match(text.strip()))


def split_links(lines: list[str]) -> list[str]:
    """The links and handles in ``lines``: one per line, or several separated by commas or
    spaces (``https://a, https://b``). A line that reads like prose is kept whole, so that
    its error names the whole line.
    """
    out: list[str] = []
    for line in lines:
        for piece in re.split(r",(?=\s|https?:|[@$])", line):
            piece = piece.strip()
            if not piece:
                continue
            words = piece.split()
            if is_handle(piece) or len(words) == 1 \
                    or not all(re.search(r"[.:/@$]", w) for w in words):
                out.append(piece)
            else:
                out.extend(words)
    return out


def unsafe_links(text: str) -> list[tuple[str, str]]:
    """The ``javascript:``, ``vbscript:`` and ``data:`` links anywhere in ``text``: each as
    (the text found, the message for the member); empty when there are none."""
    return [(m.group(0), f"{(m.group(1) or m.group(2)).casefold()}: links are not allowed")
            for m in _UNSAFE_LINK.finditer(text)]


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
