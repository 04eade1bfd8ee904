"""How readers of one language see an appeal's values: its language, its dates, times,
amounts and statuses.

The language of an appeal is its ``Language:`` tag (:func:`language_of`); English readers see
dates and amounts as the canonical text writes them, every other language as its locale does
(:func:`local_formats`). The canonical text itself is never changed: only renderings format.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timezone
from decimal import Decimal, InvalidOperation

from babel.dates import format_date, format_time

from masbot import lang
from masbot.appeal.canonical import Appeal
from masbot.lang import N_, Lang

# TRANSLATORS: an appeal's status in running text ("Status: funded"); an appeal is a "llamado".
STATUS_VALUES = {"open": N_("open"), "funded": N_("funded"), "redirected": N_("redirected"),
                 "closed": N_("closed"), "withdrawn": N_("withdrawn"),
                 "cancelled": N_("cancelled"), "postponed": N_("postponed"),
                 "expired": N_("expired")}
"""A status as a value in running text or a "Status:" row."""
# TRANSLATORS: an appeal's status on a badge ("FUNDED"); an appeal is a "llamado".
STATUS_WORDS = {"open": N_("Open"), "funded": N_("Funded"), "redirected": N_("Redirected"),
                "closed": N_("Closed"), "withdrawn": N_("Withdrawn"),
                "cancelled": N_("Cancelled"), "postponed": N_("Postponed"),
                "expired": N_("Expired")}
"""A status as a badge or a heading word."""
_AMOUNT = re.compile(r"(\d+(?:\.\d+)?) ([A-Z]{3})")
LANGUAGE_TAG = re.compile(r"[A-Za-z]{2,3}(?:-[A-Za-z0-9]{1,8})*")
"""A language tag safe to write into a lang attribute, a header or a parameter."""
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def language_of(appeal: Appeal, default: str | None = None) -> Lang:
    """The language readers see ``appeal`` in: its ``Language:`` tag, else ``default`` (the
    society's language, when the caller has it), else English. A tag masbot does not speak
    is shown in English."""
    return lang.get(str(appeal.get("Language", "")) or default)


def tag_of(appeal: Appeal, tr: Lang) -> str:
    """The language of ``appeal`` shown in ``tr``, as an HTML ``lang`` or a
    ``Content-Language``: the appeal's own tag (``es-MX``) when it carries a well-formed one,
    else the language of the labels (``tr.code``)."""
    tag = str(appeal.get("Language", ""))
    return tag if LANGUAGE_TAG.fullmatch(tag) else tr.code


def local_formats(tr: Lang) -> bool:
    """Whether readers of ``tr`` see dates, times and amounts as its locale writes them
    (``December 5, 2026``, ``5 de diciembre de 2026``, ``$1,500``, ``1500 US$``): always; the
    canonical text keeps them as the member wrote them, which partners parse."""
    return True


def day_text(tr: Lang, day: date) -> str:
    """A date as readers of ``tr`` read it."""
    return tr.date(day) if local_formats(tr) else day.isoformat()


def issued_day_text(tr: Lang, day: date) -> str:
    """The day an appeal was issued, as its facts line shows it (``23 Nov 2026``)."""
    if not local_formats(tr):
        return f"{day.day} {_MONTHS[day.month - 1]} {day.year}"
    return tr.date(day)


def moment_text(tr: Lang, moment: datetime) -> str:
    """A date and time of day, with the weekday, in ``moment``'s own time zone (which the
    renderings name after it)."""
    if not local_formats(tr):
        return human_time(moment)
    clock = format_time(moment, format="short", tzinfo=moment.tzinfo, locale=tr.locale)
    return f"{format_date(moment.date(), format='full', locale=tr.locale)}, {clock}"


def clock_text(tr: Lang, moment: datetime) -> str:
    """The time of day alone (the end of a window on its start's day)."""
    if not local_formats(tr):
        return f"{moment:%H:%M}"
    return format_time(moment, format="short", tzinfo=moment.tzinfo, locale=tr.locale)


def issued_text(tr: Lang, moment: datetime) -> str:
    """When a revision was issued, to the minute, in UTC."""
    moment = moment.astimezone(timezone.utc)
    if not local_formats(tr):
        return f"{moment:%Y-%m-%d %H:%M} UTC"
    return tr.datetime(moment)


def amount_text(tr: Lang, value: str) -> str:
    """An amount the canonical text writes ``1500 USD``, as readers of ``tr`` read it; any
    other value as it is."""
    m = _AMOUNT.fullmatch(value)
    if m is None or not local_formats(tr):
        return value
    try:
        return tr.amount(Decimal(m.group(1)), m.group(2))
    except (InvalidOperation, ValueError):
        return value


def status_value(tr: Lang, status: str) -> str:
    """A status as a value in running text (``funded``, ``financiado``)."""
    return tr._(STATUS_VALUES[status]) if status in STATUS_VALUES else status


def status_word(tr: Lang, status: str) -> str:
    """A status as a badge (``Funded``, ``Financiado``)."""
    return tr._(STATUS_WORDS[status]) if status in STATUS_WORDS else status


def human_time(moment: datetime) -> str:
    """``Sat 28 Nov 2026, 18:00`` (English names, whatever the locale)."""
    return (f"{_DAYS[moment.weekday()]} {moment.day} {_MONTHS[moment.month - 1]} "
            f"{moment.year}, {moment:%H:%M}")
