"""Value checks for story fields: each returns a cleaned value and what is wrong with it.

Pure functions over strings; the date of "today" is always handed in. The values are read in
every language masbot speaks (a Spanish "5 de diciembre" or "2.500 dólares estadounidenses"
in any society, see :mod:`masbot.story.localwords`); what is wrong is said in the member's
language, ``tr`` (English unless handed in).
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from urllib.parse import urlsplit

import phonenumbers
import pycountry
from masbot import lang
from masbot.addresses import ADDRESS_IN_TEXT, looks_like_address
from masbot.lang import Lang
from masbot.story import localwords
from masbot.story.localwords import fold

EN = lang.get()

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
    r"calle|avenida|strasse|straße|rue)\b\.?|\bp\.?\s?o\.?\s+box\b|\b(?:apt|apartment|unit|suite)\s*#?\s*\d"
    # Spanish writes the number after the street: "Calle Falsa 123", "Av. Juárez #45",
    # "Avenida 5 de Mayo 120" (a number followed by "de" is part of the street's name).
    r"|\b(?:calle|c/|avenida|avda|av|paseo|calzada|carrera|cra|callej[oó]n|camino|bulevar"
    r"|privada|cerrada|pasaje|diagonal|transversal|carretera)\.?\s+(?:[\w.'-]+\s+){0,4}?"
    r"(?:#\s?|n[uú]m(?:ero)?\.?\s?|no\.\s?|n\.?\s?º\s?)?\d{1,5}[a-z]?\b(?!\s+de\b)(?![/:.,]\d)"
    r"|\b(?:depto|dpto|apto|apartamento|departamento)\.?\s*#?\s*\d|\bapartado\s+postal\b",
    re.IGNORECASE,
)
_APPEAL_ID = re.compile(r"^[A-Z][A-Z0-9]*(?:-[A-Z0-9]+)*-\d{4}-\d{4,}$")
_HOME = re.compile(r"\b(?:my|our|his|her|their|someone's|a friend's)\s+(?:\w+\s+)?(?:house|home"
                   r"|apartment|flat|place|garage|yard|backyard|driveway|porch|room)\b"
                   r"|\w's\s+(?:house|home|apartment|flat|place)\b"
                   r"|\b(?:mi|mis|nuestr[oa]s?|su|sus|tu)\s+(?:\w+\s+)?(?:casa|hogar|departamento"
                   r"|apartamento|depa|patio|cochera|garaje|cuarto|habitaci[oó]n|domicilio)\b"
                   r"|\bcasa\s+de\s+(?:mi|mis|un|una|su|sus|nuestr[oa]|alguien|una?\s+amig[oa])\b",
                   re.IGNORECASE)
_INSTITUTION = re.compile(
    r"\b(?:office|department|dept|ministry|agency|authority|council|commission|committee|board"
    r"|city|county|state|federal|government|senate|senator|sen|representative|rep|congress"
    r"|congressman|congresswoman|congressmember|assembly|assemblymember|parliament|mp|mayor"
    r"|governor|gov|councillor|councilor|councilmember|alderman|alderperson|commissioner"
    r"|secretary|minister|president|chancellor|director|sheriff|police|jail|prison|detention"
    r"|court|judge|prosecutor|attorney|immigration|customs|embassy|consulate|company|co|inc"
    r"|llc|ltd|corp|corporation|management|properties|property|realty|bank|group|holdings"
    r"|foundation|association|union|university|college|school|district|hospital|clinic"
    r"|services|center|centre|institute|museum|library"
    r"|oficina|departamento|ministerio|secretar[ií]a|agencia|autoridad|consejo|concejo"
    r"|comisi[oó]n|comit[eé]|junta|ciudad|condado|estado|gobierno|senado|senador|senadora"
    r"|diputad[oa]|congreso|asamblea|parlamento|alcalde|alcaldesa|alcald[ií]a|gobernador"
    r"|gobernadora|concejal|concejala|presidente|presidenta|directora|polic[ií]a|c[aá]rcel"
    r"|prisi[oó]n|tribunal|juzgado|juez|jueza|fiscal|fiscal[ií]a|abogad[oa]|migraci[oó]n"
    r"|inmigraci[oó]n|aduana|embajada|consulado|empresa|compa[nñ][ií]a|banco|grupo"
    r"|fundaci[oó]n|asociaci[oó]n|sindicato|universidad|escuela|distrito|cl[ií]nica|servicios"
    r"|centro|instituto|museo|biblioteca|municipio|municipalidad|ayuntamiento|inmobiliaria"
    r"|administraci[oó]n)\b\.?", re.IGNORECASE)
_NUMBER_WORD = re.compile(
    r"\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty"
    r"|thirty|forty|fifty|hundreds?|thousands?|dozens?|a dozen"
    r"|uno|dos|tres|cuatro|cinco|seis|siete|ocho|nueve|diez|once|doce|quince|veinte|treinta"
    r"|cuarenta|cincuenta|cien|ciento|cientos|mil|miles|docenas?|una docena)\b", re.IGNORECASE)
_ISO_DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
# "18th", "1st"; "1º", "1ro", "1°" (Spanish); "primero de" is the first of the month.
_ORDINAL = re.compile(r"\b(\d{1,2})(?:st|nd|rd|th|ro|º|°)(?!\w)|\bprimero\b", re.IGNORECASE)
_DATE_FILLERS = frozenset({"de", "del", "of", "the", "el"})
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


_CURRENCY_WORDS = re.compile(r"^(?P<pre>[^\d]*?)\s*(?P<num>\d(?:[\d,.' ]*\d)?)\s*(?P<post>[^\d]*?)$")


def _currency_words(text: str) -> tuple[str, str | None]:
    """``text`` with a currency written in words or a sign that names one currency replaced
    by its code ("US$ 2.500" -> "USD 2.500", "2500 euros" -> "2500 EUR"), and the word the
    member wrote that many currencies share ("dólares", "pesos"), if there is one."""
    m = _CURRENCY_WORDS.match(text)
    if not m:
        return text, None
    parts, shared = [], None
    for name in ("pre", "num", "post"):
        part = m.group(name).strip()
        key = fold(part).rstrip(".")
        if name != "num" and key:
            code = localwords.currencies().get(key)
            if code is not None:
                part = code
            elif key in localwords.AMBIGUOUS_CURRENCIES - {"$"}:
                shared = part
        parts.append(part)
    return " ".join(p for p in parts if p), shared


def amount(text: str, *, tr: Lang = EN) -> Result:
    """``"2,500 usd"`` -> ``"2500 USD"``; the currency must be an ISO 4217 code.

    ``€``, ``£`` (and a few other unambiguous signs) stand for their currency; so do the
    currency's name in any language and a sign only it uses (``euros``, ``dólares
    estadounidenses``, ``US$``). ``$``, "dollars" or "pesos" are used by many currencies
    and need the code.
    """
    original = text.strip()
    text, shared = _currency_words(original)
    if shared is not None:
        found = _CURRENCY_WORDS.match(text)
        value = _decimal(found.group("num")) if found else None
        if value is not None and value > 0:
            return original, [tr._("'{word}' is used by several currencies: write the code, like "
                                   "{amount} USD or {amount} CAD", word=shared,
                                   amount=_shown(value))]
        return original, [tr._("add the ISO 4217 currency code, like 2500 USD")]
    m = _AMOUNT.match(text)
    if not m:
        return original, [tr._("write an amount and its currency code, like 2500 USD")]
    if m.group("sym") and m.group("sym2"):
        return original, [tr._("write an amount and its currency code, like 2500 USD")]
    symbol = m.group("sym") or m.group("sym2") or ""
    codes = {c.upper() for c in (m.group("pre"), m.group("post"), _SYMBOLS.get(symbol)) if c}
    if len(codes) > 1 or (m.group("pre") and m.group("post")):
        return original, [tr._("give the currency code once, like 2500 USD")]
    value = _decimal(m.group("num"))
    if not codes:
        if symbol == "$" and value is not None and value > 0:
            return original, [tr._("$ is used by several currencies: write the code, like "
                                   "{amount} USD or {amount} CAD", amount=_shown(value))]
        return original, [tr._("add the ISO 4217 currency code, like 2500 USD")]
    currency = codes.pop()
    if currency in NOT_MONEY or pycountry.currencies.get(alpha_3=currency) is None:
        return original, [tr._("{currency} is not an ISO 4217 currency code (USD, EUR, MXN, "
                               "...)", currency=currency)]
    if value is None:
        return original, [tr._("write the amount with digits, like 2500 or 2500.50")]
    if value <= 0 or value >= Decimal("1e9"):
        return original, [tr._("the amount must be above zero, with at most two decimals")]
    return f"{_shown(value)} {currency}", []


def _shown(value: Decimal) -> str:
    return f"{value:.2f}".removesuffix(".00")


def _calendar_date(words: list[str]) -> tuple[int | None, int, int] | None:
    """(year or None, month, day) of words like ``18 december 2026``, ``dic 18`` (folded,
    the fillers "de", "of" left out), else None."""
    months = localwords.months()
    named = [i for i, w in enumerate(words) if w in months]
    numbers = [w for w in words if w.isdigit()]
    if len(named) != 1 or len(numbers) + 1 != len(words) or not 1 <= len(numbers) <= 2:
        return None
    month, where = months[words[named[0]]], named[0]
    if len(numbers) == 2 and where == 1:  # "18 december 2026"
        day, year = words[0], words[2]
    elif len(numbers) == 2 and where == 0:  # "december 18 2026"
        day, year = words[1], words[2]
    elif len(numbers) == 1 and where in (0, 1):  # "18 december", "december 18"
        day, year = words[1 - where], ""
    else:
        return None
    if len(day) > 2 or year and len(year) != 4:
        return None
    return (int(year) if year else None), month, int(day)


def _date_words(text: str) -> list[str]:
    text = _ORDINAL.sub(lambda m: m.group(1) or "1", fold(text))
    words = [w for w in re.split(r"[\s,./-]+", text) if w]
    return [w for w in words if w not in _DATE_FILLERS]


def parse_date(text: str, today: date | None = None) -> date | None:
    """A calendar date written as 2026-12-18, 18 December 2026, December 18(th), 2026,
    Friday, 18 Dec 2026 or in another language masbot speaks (viernes 18 de diciembre de
    2026, 5 dic.). With ``today``, a date without its year ("Dec 18") is taken in the year
    that puts it closest to today (so a date just gone stays in the past), and "today",
    "tomorrow", "hoy", "mañana" are read. Numbers alone (12/01/2026) are no date: the
    order of day and month differs between countries."""
    text = " ".join(text.split()).strip(" ,")
    iso = _ISO_DATE.match(text)
    if iso:
        try:
            return date(int(iso.group(1)), int(iso.group(2)), int(iso.group(3)))
        except ValueError:
            return None
    if today is not None and (ahead := localwords.RELATIVE_DAYS.get(fold(text))) is not None:
        return today + timedelta(days=ahead)
    words = _date_words(text)
    found = _calendar_date(words)
    if found is None and len(words) > 2 and words[0] in localwords.weekdays():
        found = _calendar_date(words[1:])  # "Friday, 18 Dec 2026"; "mar 5 2026" is March
    if found is None:
        return None
    year, month, day = found
    if year is not None:
        return _day(year, month, day)
    if today is None:
        return None
    candidates = [d for y in (today.year - 1, today.year, today.year + 1)
                  if (d := _day(y, month, day)) is not None]
    return min(candidates, key=lambda d: abs((d - today).days), default=None)


def _day(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def is_asap(text: str) -> bool:
    """True for "ASAP", "as soon as possible", "lo antes posible", "cuanto antes", "urgente"
    and the like."""
    return fold(text).strip(" .!") in localwords.ASAP_WORDS


def date_or_asap(text: str, today: date, *, tr: Lang = EN) -> Result:
    """``ASAP`` or a date that is not in the past, as ``YYYY-MM-DD``."""
    if is_asap(text):
        return "ASAP", []
    when = parse_date(text, today)
    if when is None:
        return text, [tr._("write a date like 2026-12-18, or ASAP")]
    if when < today:
        return text, [tr._("this date is in the past")]
    if (when - today).days > 366:
        return when.isoformat(), [warn(tr._("this date is more than a year ahead"))]
    return when.isoformat(), []


def future_date(text: str, today: date, *, tr: Lang = EN) -> Result:
    """A date that is not in the past, as ``YYYY-MM-DD`` (``ASAP`` is no date)."""
    if is_asap(text):
        return text, [tr._("write the date, like 2026-12-18")]
    return date_or_asap(text, today, tr=tr)


def link(text: str, *, tr: Lang = EN) -> list[str]:
    """What is wrong with one donation link or payment handle (empty when fine)."""
    text = text.strip()
    lowered = text.casefold()
    if lowered.startswith(("javascript:", "data:", "vbscript:", "file:")):
        return [tr._("{scheme}: links are not allowed", scheme=lowered.split(':')[0])]
    if _HANDLE.match(text):
        return []
    if any(ch.isspace() for ch in text):
        return [tr._("'{text}' is not one link: put each link on its own line", text=text)]
    try:
        parts = urlsplit(text)
    except ValueError:
        return [tr._("'{text}' is not a valid link", text=text)]
    problems = []
    scheme = parts.scheme.casefold()
    if scheme == "http":
        problems.append(tr._("use an https:// link, not http:// ({text})", text=text))
    elif scheme != "https" or not parts.hostname or "." not in parts.hostname:
        return [tr._("'{text}' is not an https link or a payment handle like @name", text=text)]
    if parts.username or parts.password:
        problems.append(tr._("links must not contain a user name or password"))
    host = (parts.hostname or "").casefold().removeprefix("www.")
    if host in URL_SHORTENERS:
        problems.append(tr._("{host} is a link shortener: give the full link so readers can "
                             "see where it goes", host=host))
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


def unsafe_links(text: str, *, tr: Lang = EN) -> list[tuple[str, str]]:
    """The ``javascript:``, ``vbscript:`` and ``data:`` links anywhere in ``text``: each as
    (the text found, the message for the member); empty when there are none."""
    return [(m.group(0), tr._("{scheme}: links are not allowed",
                              scheme=(m.group(1) or m.group(2)).casefold()))
            for m in _UNSAFE_LINK.finditer(text)]


def links(values: list[str], *, tr: Lang = EN) -> Result:
    """1 to 3 https links or payment handles."""
    values = [v.strip() for v in values if v.strip()]
    problems = [p for v in values for p in link(v, tr=tr)]
    if not values:
        problems.append(tr._("give at least one https link or payment handle"))
    elif len(values) > 3:
        problems.append(tr._("give at most 3 links ({count} given)", count=len(values)))
    return values, problems


def language(text: str, *, tr: Lang = EN) -> Result:
    """A BCP 47 language tag like ``en`` or ``es-MX``; a language's name in a language
    masbot speaks ("Spanish", "español") is taken for its tag."""
    text = text.strip()
    if not _LANGUAGE.match(text):
        named = localwords.languages().get(fold(text).rstrip("."))
        if named is None:
            return text, [tr._("write a language tag like en, es or pt-BR")]
        text = named
    head, *rest = text.split("-")
    return "-".join([head.lower(), *rest]), []


def tags(text: str, *, tr: Lang = EN) -> Result:
    """Comma separated tags, lower case, at most 10."""
    values = [t.strip().casefold() for t in text.split(",") if t.strip()]
    problems = [tr._("'{tag}' is not a tag (letters, digits, spaces and - only)", tag=t)
                for t in values if not _TAG.match(t)]
    if len(values) > 10:
        problems.append(tr._("give at most 10 tags"))
    return values, problems


def location(text: str, *, tr: Lang = EN) -> list[str]:
    """What is wrong with a location (it must never be a street address)."""
    if STREET.search(text):
        return [tr._("give only the town or city and region, never a street address")]
    return []


def looks_like_full_name(text: str) -> bool:
    """True for "Samuel Rivera", False for "Sam R.", "S.R." or "Sam"."""
    words = text.split()
    return len(words) >= 2 and all(
        w[0].isupper() and len(w.rstrip(".")) >= 2 and not w.endswith(".") for w in words
    )


def https_link(text: str, *, tr: Lang = EN) -> Result:
    """One https link (no payment handle, no shortener)."""
    text = text.strip()
    if is_handle(text):
        return text, [tr._("'{text}' is not an https link", text=text)]
    return text, link(text, tr=tr)


def phone(text: str, region: str | None, *, tr: Lang = EN) -> Result:
    """A phone number, parsed and checked with ``phonenumbers``, in E.164 form
    (``+15035550100``, with `` ext. 12`` when there is an extension).

    ``region`` is the country assumed for a number written without ``+``.
    """
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return text, [tr._("write a phone number with its country code, like +1 503 555 0100")]
    if not phonenumbers.is_valid_number(number):
        return text, [tr._("'{text}' is not a valid phone number; write it with its country "
                           "code, like +1 503 555 0100", text=text.strip())]
    value = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return value + (f" ext. {number.extension}" if number.extension else ""), []


def email(text: str, *, tr: Lang = EN) -> Result:
    """An email address (an office's, published as it is)."""
    text = text.strip()
    if not looks_like_address(text):
        return text, [tr._("write one email address, like office@council.example")]
    local, domain = text.rsplit("@", 1)
    return f"{local}@{domain.casefold()}", []


def appeal_id(text: str, *, tr: Lang = EN) -> Result:
    """An Appeal-ID like ``ANYTOWN-2026-0001`` (any case), upper-cased."""
    value = text.strip().upper()
    if not _APPEAL_ID.match(value):
        return text, [tr._("write the {field} from your answer, like ANYTOWN-2026-0001",
                           field=tr.words.field_name("Appeal-ID"))]
    return value, []


def public_place(text: str, *, tr: Lang = EN) -> list[str]:
    """What is wrong with a meeting or drop-off point: it must be a public place, never a
    street address with a house number, never someone's home. "City Hall steps" is fine."""
    if STREET.search(text):
        return [tr._("give a public place like 'City Hall steps', never a street address")]
    if _HOME.search(text):
        return [tr._("meet at a public place like 'City Hall steps', never at someone's home")]
    return []


def public_target(text: str, *, tr: Lang = EN) -> list[str]:
    """What is wrong with a call-in target: it must be an office or institution.

    Pragmatic rule: a target that looks like a person's full name ("Jane Doe") must carry an
    office or institution word ("Mayor Jane Doe", "Acme Property Management", "Alcaldía de
    Tijuana") or an acronym ("ICE Field Office"); phone numbers and addresses belong in
    their own fields.
    """
    if ADDRESS_IN_TEXT.search(text) or re.search(r"\d{3}", text):
        return [tr._("give only the office or institution here; the phone goes in {field}",
                     field=tr.words.field_name("Target-Phone"))]
    if looks_like_full_name(text) and not _INSTITUTION.search(text) \
            and not re.search(r"\b[A-Z]{2,}\b", text):
        return [tr._("name an office or institution (like 'Office of Mayor Jane Doe' or "
                     "'Anytown City Council'), never a private person")]
    return []


def has_quantity(item: str) -> bool:
    """True when a needs item says how many: ``40 tarps``, ``water (200 litres)``, ``ten``,
    ``diez lonas``."""
    return bool(re.search(r"\d", item) or _NUMBER_WORD.search(item))


def word_count(text: str) -> int:
    """Words as readers count them: runs of letters or digits."""
    return len(re.findall(r"[\w'’-]+", text))
