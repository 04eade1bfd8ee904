"""Value checks for story fields: each returns a cleaned value and what is wrong with it.

Pure functions over strings; the date of "today" is always handed in.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from urllib.parse import urlsplit

import phonenumbers
import pycountry
from masbot.addresses import ADDRESS_IN_TEXT, looks_like_address

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
STREET = re.compile(
    r"\b\d{1,6}[a-z]?\s+(?:[\w.'-]+\s+){0,4}(?:street|st|avenue|ave|road|rd|boulevard|blvd|"
    r"lane|ln|drive|dr|way|court|ct|place|pl|terrace|parkway|pkwy|highway|hwy|circle|cir|"
    r"calle|avenida|strasse|straße|rue)\b\.?|\bp\.?\s?o\.?\s+box\b|\b(?:apt|apartment|unit|suite)\s*#?\s*\d",
    re.IGNORECASE,
)
_APPEAL_ID = re.compile(r"^[A-Z][A-Z0-9]*(?:-[A-Z0-9]+)*-\d{4}-\d{4,}$")
_HOME = re.compile(r"\b(?:my|our|his|her|their|someone's|a friend's)\s+(?:\w+\s+)?(?:house|home"
                   r"|apartment|flat|place|garage|yard|backyard|driveway|porch|room)\b"
                   r"|\w's\s+(?:house|home|apartment|flat|place)\b", re.IGNORECASE)
_INSTITUTION = re.compile(
    r"\b(?:office|department|dept|ministry|agency|authority|council|commission|committee|board"
    r"|city|county|state|federal|government|senate|senator|sen|representative|rep|congress"
    r"|congressman|congresswoman|congressmember|assembly|assemblymember|parliament|mp|mayor"
    r"|governor|gov|councillor|councilor|councilmember|alderman|alderperson|commissioner"
    r"|secretary|minister|president|chancellor|director|sheriff|police|jail|prison|detention"
    r"|court|judge|prosecutor|attorney|immigration|customs|embassy|consulate|company|co|inc"
    r"|llc|ltd|corp|corporation|management|properties|property|realty|bank|group|holdings"
    r"|foundation|association|union|university|college|school|district|hospital|clinic"
    r"|services|center|centre|institute|museum|library)\b\.?", re.IGNORECASE)
_NUMBER_WORD = re.compile(
    r"\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty"
    r"|thirty|forty|fifty|hundreds?|thousands?|dozens?|a dozen)\b", re.IGNORECASE)
_DATE_FORMATS = ("%Y-%m-%d", "%d %B %Y", "%d %b %Y", "%B %d, %Y", "%b %d, %Y", "%B %d %Y",
                 "%b %d %Y")
_WEEKDAY = re.compile(r"^(?:mon|tue|wed|thu|fri|sat|sun)[a-z]*\.?,?\s+", re.IGNORECASE)
_ORDINAL = re.compile(r"\b(\d{1,2})(?:st|nd|rd|th)\b", re.IGNORECASE)
_UNSAFE_LINK = re.compile(r"\b(javascript|vbscript):\S|\b(data):(?:[\w.+-]+/[\w.+-]+)?[;,]",
                          re.IGNORECASE)



class Message(str):
    """What is wrong with a value, for the member. A plain ``str`` is an error; ``warning``
    does not block publication; ``fragment`` is the text it is about, to find its line."""

    warning: bool = False
    fragment: str | None = None


def warn(text: str, fragment: str | None = None) -> Message:
    """A message that does not block publication."""
    message = Message(text)
    message.warning, message.fragment = True, fragment
    return message


def at(text: str, fragment: str) -> Message:
    """An error about ``fragment`` of the value (so the answer marks the line it is on)."""
    message = Message(text)
    message.fragment = fragment
    return message


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


def _strptime(text: str) -> date | None:
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    return None


def parse_date(text: str, today: date | None = None) -> date | None:
    """A calendar date written as 2026-12-18, 18 December 2026, December 18(th), 2026 or
    Friday, 18 Dec 2026. With ``today`` a date without its year ("Dec 18") is taken in the
    year that puts it closest to today (so a date just gone stays in the past)."""
    text = _WEEKDAY.sub("", " ".join(_ORDINAL.sub(r"\1", text).split()).rstrip(","))
    found = _strptime(text)
    if found is not None or today is None or re.search(r"\d{4}", text):
        return found
    candidates = [d for year in (today.year - 1, today.year, today.year + 1)
                  if (d := _strptime(f"{text.rstrip(',')} {year}")) is not None]
    return min(candidates, key=lambda d: abs((d - today).days), default=None)


def date_or_asap(text: str, today: date) -> Result:
    """``ASAP`` or a date that is not in the past, as ``YYYY-MM-DD``."""
    if text.strip().casefold() in ("asap", "as soon as possible", "now"):
        return "ASAP", []
    when = parse_date(text, today)
    if when is None:
        return text, ["write a date like 2026-12-18, or ASAP"]
    if when < today:
        return text, ["this date is in the past"]
    if (when - today).days > 366:
        return when.isoformat(), [warn("this date is more than a year ahead")]
    return when.isoformat(), []


def future_date(text: str, today: date) -> Result:
    """A date that is not in the past, as ``YYYY-MM-DD`` (``ASAP`` is no date)."""
    if text.strip().casefold() in ("asap", "as soon as possible", "now"):
        return text, ["write the date, like 2026-12-18"]
    return date_or_asap(text, today)


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
    if STREET.search(text):
        return ["give only the town or city and region, never a street address"]
    return []


def looks_like_full_name(text: str) -> bool:
    """True for "Samuel Rivera", False for "Sam R.", "S.R." or "Sam"."""
    words = text.split()
    return len(words) >= 2 and all(
        w[0].isupper() and len(w.rstrip(".")) >= 2 and not w.endswith(".") for w in words
    )


def https_link(text: str) -> Result:
    """One https link (no payment handle, no shortener)."""
    text = text.strip()
    if is_handle(text):
        return text, [f"'{text}' is not an https link"]
    return text, link(text)


def phone(text: str, region: str | None) -> Result:
    """A phone number, parsed and checked with ``phonenumbers``, in E.164 form
    (``+15035550100``, with `` ext. 12`` when there is an extension).

    ``region`` is the country assumed for a number written without ``+``.
    """
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return text, ["write a phone number with its country code, like +1 503 555 0100"]
    if not phonenumbers.is_valid_number(number):
        return text, [f"'{text.strip()}' is not a valid phone number; write it with its "
                      "country code, like +1 503 555 0100"]
    value = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return value + (f" ext. {number.extension}" if number.extension else ""), []


def email(text: str) -> Result:
    """An email address (an office's, published as it is)."""
    text = text.strip()
    if not looks_like_address(text):
        return text, ["write one email address, like office@council.example"]
    local, domain = text.rsplit("@", 1)
    return f"{local}@{domain.casefold()}", []


def appeal_id(text: str) -> Result:
    """An Appeal-ID like ``ANYTOWN-2026-0001`` (any case), upper-cased."""
    value = text.strip().upper()
    if not _APPEAL_ID.match(value):
        return text, ["write the Appeal-ID from your answer, like ANYTOWN-2026-0001"]
    return value, []


def public_place(text: str) -> list[str]:
    """What is wrong with a meeting or drop-off point: it must be a public place, never a
    street address with a house number, never someone's home. "City Hall steps" is fine."""
    if STREET.search(text):
        return ["give a public place like 'City Hall steps', never a street address"]
    if _HOME.search(text):
        return ["meet at a public place like 'City Hall steps', never at someone's home"]
    return []


def public_target(text: str) -> list[str]:
    """What is wrong with a call-in target: it must be an office or institution.

    Pragmatic rule: a target that looks like a person's full name ("Jane Doe") must carry an
    office or institution word ("Mayor Jane Doe", "Acme Property Management") or an acronym
    ("ICE Field Office"); phone numbers and addresses belong in their own fields.
    """
    if ADDRESS_IN_TEXT.search(text) or re.search(r"\d{3}", text):
        return ["give only the office or institution here; the phone goes in Target-Phone"]
    if looks_like_full_name(text) and not _INSTITUTION.search(text) \
            and not re.search(r"\b[A-Z]{2,}\b", text):
        return ["name an office or institution (like 'Office of Mayor Jane Doe' or 'Anytown "
                "City Council'), never a private person"]
    return []


def has_quantity(item: str) -> bool:
    """True when a needs item says how many: ``40 tarps``, ``water (200 litres)``, ``ten``."""
    return bool(re.search(r"\d", item) or _NUMBER_WORD.search(item))


def word_count(text: str) -> int:
    """Words as readers count them: runs of letters or digits."""
    return len(re.findall(r"[\w'’-]+", text))
